"""``python -m serving``: run the forecasts API with uvicorn (host and port from settings)."""

from __future__ import annotations

import logging

from components.inputs import Parser, port_number, settings_or_exit
from serving.settings import ApiSettings

PROG = "python -m serving"


def main(argv: list[str] | None = None) -> int:
    defaults = settings_or_exit(PROG, ApiSettings)
    parser = Parser(
        prog=PROG,
        description=(
            f"Serve the energy-forecasting API of one dataset (EF_DATASET, now {defaults.dataset}): "
            "its routes and models follow the dataset's series keys. Every option defaults to its "
            "EF_* setting (EF_BUCKET, EF_PREFIX, EF_API_HOST, EF_API_PORT, EF_API_REFRESH_INTERVAL_S, ...); "
            "set STORAGE_EMULATOR_HOST to use the local GCS emulator."
        ),
    )
    parser.add_argument("--host", default=defaults.api_host, help=f"interface (default {defaults.api_host})")
    parser.add_argument(
        "--port", type=port_number, default=defaults.api_port, help=f"port (default {defaults.api_port})"
    )
    parser.add_argument(
        "--log-level",
        default=defaults.api_log_level,
        choices=["critical", "error", "warning", "info", "debug"],
        help=f"log level (default {defaults.api_log_level})",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request (off by default)")
    args = parser.parse_args(argv)

    import uvicorn

    from serving.main import create_app

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = defaults.model_copy(update={"api_host": args.host, "api_port": args.port})
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
