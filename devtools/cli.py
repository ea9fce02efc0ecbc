"""``python -m devtools``: run the pipeline locally under kfp.local, backfill it, run the GCS emulator.

Everything here is local (the emulator, MLflow on SQLite, the warm fork server); ``python -m
pipelines`` compiles the pipeline and talks to a Kubeflow cluster.
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.inputs import UsageError, whole_number
from devtools import emulator
from pipelines.cli import command_parser, run_command

if TYPE_CHECKING:
    from components.settings import Settings

log = logging.getLogger("devtools")


def parse_utc(value: str) -> datetime:
    """An ISO-8601 time (naive values are taken as UTC), or ``now``."""
    if value.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from err
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_every(value: str) -> int:
    """``24h``, ``6h`` or ``1d`` → hours."""
    text = value.strip().lower()
    try:
        if text.endswith("h"):
            hours = int(text[:-1])
        elif text.endswith("d"):
            hours = 24 * int(text[:-1])
        else:
            hours = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a duration like 24h or 1d: {value!r}") from err
    if hours < 1:
        raise argparse.ArgumentTypeError(f"--every must be at least 1h, got {value!r}")
    return hours


at_least_one = whole_number(1)
"""``--last-days``, ``--n-trials``."""

OVERRIDES = {
    "days_delay": "--days-delay",
    "days_export": "--days-export",
    "feature_group_version": "--feature-group-version",
}
"""Settings a local run takes as options too: checked by the settings' own rules before it starts."""


def run_settings(args: argparse.Namespace) -> Settings:
    """The settings of a local run: the environment's, with the run's options checked by the same
    rules (:class:`components.inputs.InvalidSettings` names the option or variable at fault)."""
    from components.inputs import read_settings
    from components.settings import Settings

    given = {name: getattr(args, name) for name in OVERRIDES if getattr(args, name) is not None}
    return read_settings(Settings, OVERRIDES, **given)


def _pipeline_parameters(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {
        "run_tuning": args.tuning,
        "tuning_backend": args.tuning_backend,
        "n_trials": args.n_trials,
    }
    for name in OVERRIDES:
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    return params


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    # every run here is local; the flag of the old `python -m pipelines run --local` is still taken
    parser.add_argument("--local", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--days-delay", type=int, default=None, help="window end = reference - this")
    parser.add_argument("--days-export", type=int, default=None, help="window length in days")
    parser.add_argument("--feature-group-version", type=int, default=None)
    parser.add_argument("--tuning", action="store_true", help="run the hyper-parameter search first")
    parser.add_argument("--tuning-backend", choices=("optuna", "katib"), default="optuna")
    parser.add_argument("--n-trials", type=at_least_one, default=10, help="tuning budget (trials)")
    parser.add_argument(
        "--cold-start",
        action="store_true",
        help="start every step in a fresh interpreter, as a pod does, instead of forking one that "
        "has the heavy libraries imported already (see devtools/warm.py)",
    )
    parser.add_argument(
        "--pipeline-root",
        type=Path,
        default=None,
        help="where kfp.local keeps task outputs (default: <EF_DATA_DIR>/kfp)",
    )


def _print_step(index: int, name: str, status: str, seconds: float) -> None:
    print(f"==> step {index}: {name:<10} {status} in {seconds:6.1f} s", flush=True)


def _run_once(
    reference: datetime | None, args: argparse.Namespace, settings: Settings, launcher: Path | None = None
) -> dict[str, Any]:
    from devtools.local_run import run_pipeline_locally

    params = _pipeline_parameters(args)
    params["reference_time"] = reference.isoformat() if reference else ""
    root = args.pipeline_root or settings.data_dir / "kfp"
    print(f"==> pipeline run, reference time {params['reference_time'] or 'now'}", flush=True)
    warm: bool | Path = launcher if launcher is not None else not args.cold_start
    result = run_pipeline_locally(
        params, settings, root, on_step=_print_step, warm=warm, verbose=args.verbose
    )
    summary = {
        "reference_time": params["reference_time"] or "now",
        "seconds": round(result.seconds, 1),
        **result.summary,
    }
    print(f"==> done in {result.seconds:.1f} s")
    for key, value in summary.items():
        if isinstance(value, dict):
            for inner, text in value.items():
                print(f"    {key + '.' + inner:<26} {text}")
        else:
            print(f"    {key:<26} {value}")
    _print_reports(result)
    return summary


def _print_reports(result: Any) -> None:
    """Where each report of the run is (the files kfp.local wrote, as a pod would upload them)."""
    if result.run_dir is not None:
        print(f"    {'kfp.local run folder':<26} {result.run_dir}")
    for report in result.reports:
        kind = report.type.removeprefix("system.")
        print(f"==> report {report.task}/{report.name} ({kind}): {report.view or report.path or report.uri}")


def preflight(settings: Settings) -> None:
    """Fail in seconds, before anything starts: when the snapshot file named is not there (one line
    naming the variable), or, without one, when the live source cannot be reached (naming the
    setting that runs offline)."""
    import os

    from components.inputs import InvalidSettings, variable_name
    from components.settings import Settings
    from components.source.client import check_resolvable

    if settings.snapshot is None:
        check_resolvable(settings.source_url, settings.spec)
        return
    path = settings.snapshot
    problem = "no such file" if not path.is_file() else None if os.access(path, os.R_OK) else "not readable"
    if problem:
        name = variable_name(Settings, "snapshot")
        raise InvalidSettings(f"invalid setting {name}={str(path)!r}: {problem}")


def cmd_run(args: argparse.Namespace) -> int:
    from devtools.local_run import local_storage

    settings = run_settings(args)
    preflight(settings)
    with local_storage(settings) as local:
        _run_once(args.reference_time, args, local)
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from contextlib import ExitStack
    from datetime import timedelta

    from devtools.local_run import iso_hours, local_storage
    from devtools.warm import warm_interpreter

    if args.last_days is not None and (args.start or args.end):
        raise UsageError("give either --last-days or --start/--end, not both")
    if args.last_days is None and not (args.start and args.end):
        raise UsageError("give --start and --end, or --last-days N")
    if args.start and args.end and args.start > args.end:
        raise UsageError(f"--start {args.start.isoformat()} is after --end {args.end.isoformat()}")
    settings = run_settings(args)
    if args.last_days is not None:
        from components.extract import source_data_end

        args.end = source_data_end(settings)
        args.start = args.end - timedelta(days=args.last_days - 1)
    preflight(settings)
    times = iso_hours(args.start, args.end, args.every)
    print(f"==> backfill: {len(times)} runs from {times[0].isoformat()} to {times[-1].isoformat()}")
    summaries = []
    with local_storage(settings) as local, ExitStack() as stack:
        # one warm-interpreter server for all the runs (see devtools/warm.py)
        launcher = None if args.cold_start else stack.enter_context(warm_interpreter())
        for index, reference in enumerate(times, start=1):
            print(f"==> backfill run {index}/{len(times)}", flush=True)
            summaries.append(_run_once(reference, args, local, launcher))
    print(json.dumps({"runs": len(summaries), "last": summaries[-1]}, default=str))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """The ``EF_*`` settings of the pipeline, the API and the dashboard, as each reads them: the
    first one that is invalid ends the command with its one line (``make demo`` runs this first)."""
    from components.inputs import read_settings
    from components.settings import Settings
    from dashboard.settings import DashboardSettings
    from serving.settings import ApiSettings

    for model in (Settings, ApiSettings, DashboardSettings):
        read_settings(model)
    print("settings ok")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser, sub = command_parser(
        "python -m devtools",
        "Run the energy-forecasting pipeline locally under kfp.local (once, or as a backfill) and the "
        "local GCS emulator. Development only: `python -m pipelines` compiles and schedules.",
    )

    run_parser = sub.add_parser(
        "run",
        help="run the whole pipeline once under kfp.local",
        description="Run every step once under kfp.local's SubprocessRunner "
        "against the local GCS emulator (started if STORAGE_EMULATOR_HOST is "
        "unset) and MLflow on SQLite.",
    )
    run_parser.add_argument(
        "--reference-time",
        type=parse_utc,
        default=None,
        help="ISO-8601 UTC reference time or 'now' (default: now); the forecast starts after the "
        "last complete hour of data at that time",
    )
    _add_run_options(run_parser)
    run_parser.set_defaults(func=cmd_run)

    backfill_parser = sub.add_parser(
        "backfill",
        help="replay the pipeline at successive reference times",
        description="Run the pipeline at start, start+every, … up to end "
        "(inclusive), so monitoring has a history.",
    )
    backfill_parser.add_argument("--start", type=parse_utc, default=None, help="first reference time")
    backfill_parser.add_argument("--end", type=parse_utc, default=None, help="last reference time")
    backfill_parser.add_argument(
        "--last-days",
        type=at_least_one,
        default=None,
        metavar="N",
        help="instead of --start/--end: the N days ending at the source's "
        "newest hour (the snapshot's, or the API's newest record)",
    )
    backfill_parser.add_argument("--every", type=parse_every, default=24, help="step, e.g. 24h (default)")
    _add_run_options(backfill_parser)
    backfill_parser.set_defaults(func=cmd_backfill)

    check_parser = sub.add_parser(
        "check",
        help="check the EF_* settings of the pipeline, the API and the dashboard",
        description="Read the settings of every surface from the environment; an invalid one is one "
        "line naming the variable, its value and what is allowed (exit status 2).",
    )
    check_parser.set_defaults(func=cmd_check)

    emulator_parser = sub.add_parser(
        "emulator",
        help="run the local GCS emulator in the foreground",
        description=emulator.DESCRIPTION,
    )
    emulator.add_arguments(emulator_parser)
    emulator_parser.set_defaults(func=emulator.serve_foreground)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    return run_command(parser.parse_args(argv), parser.prog)
