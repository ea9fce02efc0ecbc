"""``python -m components.tuning.katib --snapshot-run RUN``: print the Experiment of the tune step as
YAML (settings from ``EF_*`` variables), e.g. for ``kubectl apply -f -`` or a manifest check."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from components.layout import check_run_id
from components.settings import Settings
from components.tuning.katib.backend import experiment_from_settings
from components.tuning.katib.experiment import to_yaml
from components.tuning.plan import plan_from_settings


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m components.tuning.katib",
        description="Render the Katib Experiment of the tune step as YAML (settings from EF_* variables), "
        "e.g. for `kubectl apply -f -` or a manifest check.",
    )
    cli.add_argument("--snapshot-run", required=True, help="feature snapshot run id, YYYYMMDDTHHMMZ")
    cli.add_argument(
        "--max-trials", type=int, default=20, help="maximum number of trials (default %(default)s)"
    )
    cli.add_argument("--name", default="", help="experiment name (default: derived from the spec)")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    settings = Settings()
    try:
        check_run_id(args.snapshot_run)
        plan = plan_from_settings(settings)
        experiment = experiment_from_settings(settings, args.snapshot_run, args.max_trials, plan, args.name)
    except ValueError as exc:  # a bad run id, EF_TUNE_FIXED or experiment argument
        cli.error(str(exc))
    sys.stdout.write(to_yaml(experiment))
    return 0
