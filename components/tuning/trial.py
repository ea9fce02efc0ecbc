"""One Katib trial: the backtest WAPE of one config on a feature snapshot.

    python -m components.tuning.trial --snapshot-run 20230117T2300Z --param num_leaves=63 ...

The config is ``DEFAULT_CONFIG`` + ``EF_TUNE_FIXED`` + the ``--param`` values (typed and range-checked
by ``SEARCH_SPACE``), i.e. the search plan of ``components.tuning.plan``, the tune step's own. The only
line on stdout is ``wape=<value>``, the objective for Katib's StdOut metrics collector; logs go to
stderr. Exit code 2 on bad arguments, 1 on any other failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from components.layout import check_run_id
from components.model.config import validate_config
from components.settings import TrainingSettings
from components.tuning.plan import plan_from_settings
from components.tuning.space import OBJECTIVE_METRIC, SearchSpaceError, coerce_params

log = logging.getLogger("components.tuning.trial")


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def _run_id(text: str) -> str:
    try:
        return check_run_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parser(settings: TrainingSettings) -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m components.tuning.trial",
        description="Score one hyper-parameter config by backtest WAPE on a feature snapshot "
        f"and print '{OBJECTIVE_METRIC}=<value>' (Katib StdOut metrics collector).",
    )
    cli.add_argument(
        "--snapshot-run", required=True, type=_run_id, help="feature snapshot run id, YYYYMMDDTHHMMZ"
    )
    cli.add_argument(
        "--feature-group-version",
        type=int,
        default=settings.feature_group_version,
        help="feature group version",
    )
    cli.add_argument(
        "--origins",
        type=int,
        default=settings.tune_origins,
        help="daily backtest origins (default %(default)s)",
    )
    cli.add_argument("--seed", type=int, default=settings.tune_seed, help="model seed (default %(default)s)")
    cli.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a search-space value (repeatable); unset names keep their default",
    )
    return cli


def trial_config(params: Sequence[tuple[str, str]], settings: TrainingSettings) -> dict[str, Any]:
    """The full, validated model config of one trial."""
    names = [name for name, _ in params]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise SearchSpaceError(f"--param: parameter(s) {duplicated} given more than once")
    plan = plan_from_settings(settings)
    typed = coerce_params(dict(params), plan.space, "--param")
    return validate_config(plan.config(typed), where="trial config", check_ranges=False)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = TrainingSettings()
    cli = parser(settings)
    args = cli.parse_args(argv)
    if args.origins < 1 or args.feature_group_version < 1:
        cli.error("--origins and --feature-group-version must be >= 1")
    try:
        config = trial_config(args.param, settings)
    except ValueError as exc:  # SearchSpaceError and the model's ConfigError
        cli.error(str(exc))

    from components.feature_store import load_snapshot
    from components.model.backtest import backtest_wape
    from components.storage import ObjectStore

    settings = settings.model_copy(update={"feature_group_version": args.feature_group_version})
    try:
        frame, _manifest = load_snapshot(ObjectStore.from_settings(settings), settings, run=args.snapshot_run)
        log.info(
            "trial on snapshot %s v%d (%d rows), %d origin(s): %s",
            args.snapshot_run,
            args.feature_group_version,
            len(frame),
            args.origins,
            dict(args.param),
        )
        wape = float(backtest_wape(frame, config, origins=args.origins, seed=args.seed))
    except Exception:
        log.exception("trial failed")
        return 1
    sys.stdout.write(f"{OBJECTIVE_METRIC}={wape!r}\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
