"""KFP component of the hyper-parameter search stage (logic in ``components.tuning.run``)."""

from typing import NamedTuple

from kfp.dsl import Dataset, Input

from components.steps import component


@component()
def tune(
    snapshot: Input[Dataset],
    backend: str,
    n_trials: int,
) -> NamedTuple("TuneOutputs", config_json=str, wape=float):  # type: ignore[valid-type]
    """Search the best model config on the feature snapshot and store it in MLflow.

    ``snapshot`` is the features step's ``Dataset`` (read by the run id in its metadata).
    ``backend`` is ``optuna`` (a study in this pod/process) or ``katib`` (a Katib Experiment in the
    cluster, watched until it finishes). ``config_json`` is the full config for ``train``.
    """
    import json
    from collections import namedtuple

    from components.steps.artifacts import configure_logging
    from components.steps.context import snapshot_context
    from components.tuning.run import check_backend, tune_snapshot

    configure_logging()
    check_backend(backend)
    settings, store, run = snapshot_context(snapshot.metadata)
    outcome = tune_snapshot(settings, store, run, backend, n_trials)
    TuneOutputs = namedtuple("TuneOutputs", ["config_json", "wape"])
    return TuneOutputs(json.dumps(outcome.config, sort_keys=True), outcome.wape)
