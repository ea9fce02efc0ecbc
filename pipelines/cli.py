"""``python -m pipelines``: compile the pipeline, upload it to Kubeflow Pipelines and schedule it.

Local runs under kfp.local (``run``, ``backfill``) are development tools: ``python -m devtools``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from components.inputs import InvalidSettings, Parser, UsageError, fail

log = logging.getLogger("pipelines")
DEFAULT_PACKAGE = Path("build/pipeline.yaml")
MOVED = ("run", "backfill")
"""Former commands, now ``python -m devtools run|backfill``; asking for one says so."""


def cmd_compile(args: argparse.Namespace) -> int:
    from kfp import compiler

    from components.inputs import read_settings
    from components.settings import Settings
    from pipelines.pipeline import build_pipeline

    settings = read_settings(Settings)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        compiler.Compiler().compile(build_pipeline(settings), package_path=str(args.output))
    except OSError as err:
        raise UsageError(f"cannot write --output {args.output}: {err.strerror or err}") from None
    print(f"compiled pipeline (image {settings.image_uri}) to {args.output}")
    return 0


def command_parser(prog: str, description: str) -> tuple[argparse.ArgumentParser, Any]:
    """A parser with ``-v`` and a required COMMAND, and the subparsers to add the commands to
    (``python -m pipelines`` and ``python -m devtools``; :func:`run_command` runs the result)."""
    parser = Parser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser, parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def build_parser() -> argparse.ArgumentParser:
    parser, sub = command_parser(
        "python -m pipelines",
        "Compile the energy-forecasting pipeline, upload it to Kubeflow Pipelines and schedule it. "
        "Local runs: `python -m devtools run|backfill`.",
    )

    compile_parser = sub.add_parser(
        "compile",
        help="compile the pipeline to a YAML package",
        description="Compile the pipeline (IR YAML) for Kubeflow Pipelines.",
    )
    compile_parser.add_argument("--output", type=Path, default=DEFAULT_PACKAGE, help="YAML path")
    compile_parser.set_defaults(func=cmd_compile)
    for name in MOVED:  # not listed in the help; main() answers with where the command went
        sub.add_parser(name, add_help=False).set_defaults(moved=name)

    try:
        from pipelines.remote_cli import register_commands
    except ImportError:  # pragma: no cover - only while the remote modules are missing
        log.debug("pipelines.remote_cli not available")
    else:
        register_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    moved = getattr(args, "moved", None)
    if moved:
        print(
            f"error: `python -m pipelines {moved}` moved to `python -m devtools {moved}` "
            "(local runs are development tools; --local is no longer needed)",
            file=sys.stderr,
        )
        return 2
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return run_command(args, parser.prog)


def run_command(args: argparse.Namespace, prog: str) -> int:
    """Configure logging and run the parsed command. Input it cannot use (a setting, an argument, an
    output path) ends it with one line and status 2; a RuntimeError with one line and status 1."""
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (InvalidSettings, UsageError) as err:
        fail(prog, str(err))
    except RuntimeError as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
