"""``python -m dashboard``: serve the Streamlit dashboard (``streamlit run dashboard/app.py``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from components.inputs import Parser, port_number, settings_or_exit
from dashboard.settings import DashboardSettings

PROG = "python -m dashboard"
APP = Path(__file__).resolve().parent / "app.py"

log = logging.getLogger("dashboard")


def build_parser(defaults: DashboardSettings) -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description=(
            "Serve the energy-forecasting dashboard (Forecasts, Monitoring, Data quality). "
            "It talks only to the forecasts API at --api-url (EF_API_URL)."
        ),
        epilog="Arguments after `--` go to `streamlit run` unchanged, e.g. `-- --theme.base dark`.",
    )
    parser.add_argument("--host", default=defaults.host, help="interface to bind (EF_DASHBOARD_HOST)")
    parser.add_argument(
        "--port", type=port_number, default=defaults.port, help="port to serve on (EF_DASHBOARD_PORT)"
    )
    parser.add_argument(
        "--api-url", default=defaults.api_url, help="base URL of the forecasts API (EF_API_URL)"
    )
    parser.add_argument("--print-command", action="store_true", help="print the command and exit")
    parser.add_argument("streamlit_args", nargs="*", help=argparse.SUPPRESS)
    return parser


def command(host: str, port: int, extra: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--server.fileWatcherType",
        "none",
        *extra,
    ]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    defaults = settings_or_exit(PROG, DashboardSettings)
    args = build_parser(defaults).parse_args(argv)
    api_url = settings_or_exit(
        PROG, DashboardSettings, {"api_url": "--api-url"}, api_url=args.api_url
    ).api_url
    cmd = command(args.host, args.port, list(args.streamlit_args))
    if args.print_command:
        print(" ".join(cmd))
        return 0
    env = {**os.environ, "EF_DASHBOARD_API_URL": api_url}
    log.info("dashboard on http://%s:%d (API %s)", args.host, args.port, api_url)
    sys.stdout.flush()
    sys.stderr.flush()
    # replace this process, so signals (Ctrl-C, SIGTERM from a supervisor) reach streamlit itself
    os.execve(cmd[0], cmd, env)
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    raise SystemExit(main())
