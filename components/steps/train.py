"""KFP component of the training stage (logic in ``components.model.training``)."""

from typing import NamedTuple

from components.steps import component


@component()
def train(
    snapshot_run: str,
    feature_group_version: int,
    config_json: str,
) -> NamedTuple("TrainOutputs", model_version=str, promoted=bool, wape=float, baseline_wape=float):  # type: ignore[valid-type]
    """Backtest, fit, log and register the model on a feature snapshot; move ``champion`` if not worse.

    ``config_json`` ``""`` trains from the best config stored by tuning (the default config before
    any tuning). ``baseline_wape`` is the better of the 24 h and 168 h seasonal naives.
    """
    import logging
    from collections import namedtuple

    from components.model.training import train_snapshot
    from components.settings import Settings
    from components.storage import ObjectStore

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings().model_copy(update={"feature_group_version": feature_group_version})
    outcome = train_snapshot(settings, ObjectStore.from_settings(settings), snapshot_run, config_json)
    TrainOutputs = namedtuple("TrainOutputs", ["model_version", "promoted", "wape", "baseline_wape"])
    return TrainOutputs(outcome.model_version, outcome.promoted, outcome.wape, outcome.baseline_wape)
