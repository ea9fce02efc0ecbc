"""KFP component of the hyper-parameter search stage (logic in ``components.tuning.run``)."""

from typing import NamedTuple

from components.steps import component


@component()
def tune(
    snapshot_run: str,
    feature_group_version: int,
    backend: str,
    n_trials: int,
) -> NamedTuple("TuneOutputs", config_json=str, wape=float):  # type: ignore[valid-type]
    """Search the best model config on a feature snapshot and store it in MLflow.

    ``backend`` is ``optuna`` (a study in this pod/process) or ``katib`` (a Katib Experiment in the
    cluster, watched until it finishes). ``config_json`` is the full config for ``train``.
    """
    import json
    import logging
    from collections import namedtuple

    from components.settings import Settings
    from components.storage import ObjectStore
    from components.tuning.run import check_backend, tune_snapshot

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_backend(backend)
    settings = Settings().model_copy(update={"feature_group_version": feature_group_version})
    outcome = tune_snapshot(settings, ObjectStore.from_settings(settings), snapshot_run, backend, n_trials)
    TuneOutputs = namedtuple("TuneOutputs", ["config_json", "wape"])
    return TuneOutputs(json.dumps(outcome.config, sort_keys=True), outcome.wape)
