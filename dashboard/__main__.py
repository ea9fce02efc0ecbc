"""``python -m dashboard``: serve the Streamlit dashboard (``streamlit run dashboard/app.py``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from dashboard.settings import DashboardSettings

APP = Path(__file__).resolve().parent / "app.py"

log = logging.getLogger("dashboard")


def build_parser(defaults: DashboardSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description=(
            "Serve the energy-forecasting dashboard (Forecasts, Monitoring, Data quality). "
            "It talks only to the forecasts API at --api-url (EF_API_URL)."
        ),
        epilog="Arguments after `--` go to `streamlit run` unchanged, e.g. `-- --theme.base dark`.",
    )
    parser.add_argument("--host", default=defaults.host, help="interface to bind (EF_DASHBOARD_HOST)")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="port to serve on (EF_DASHBOARD_PORT)"
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
    try:
        defaults = DashboardSettings()
    except ValidationError as err:
        print(f"python -m dashboard: invalid settings: {err}", file=sys.stderr)
        return 2
    args = build_parser(defaults).parse_args(argv)
    if not 1 <= args.port <= 65535:
        print(f"python -m dashboard: --port must be 1..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        api_url = DashboardSettings(api_url=args.api_url).api_url
    except ValidationError as err:
        print(
            f"python -m dashboard: invalid --api-url {args.api_url!r}: {err.errors()[0]['msg']}",
            file=sys.stderr,
        )
        return 2
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
