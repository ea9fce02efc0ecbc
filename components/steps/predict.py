"""KFP component of the batch prediction stage (logic in ``components.prediction``)."""

from typing import NamedTuple

from components.steps import component


@component()
def predict(
    snapshot_run: str,
    feature_group_version: int,
    scheduled_time: str,
    model_version: str,
) -> NamedTuple("PredictOutputs", forecast=str, run_id=str, created=bool):  # type: ignore[valid-type]
    """Forecast the next hours of every series with the champion model and publish them.

    ``scheduled_time`` is RFC 3339 (what KFP's schedule-time placeholder resolves to) or "" for now.
    ``model_version`` only orders this step after training and is logged; the champion is used.
    Returns the forecast's object URI, the run id and whether this run wrote it.
    """
    import logging
    from collections import namedtuple

    from components.prediction import parse_scheduled_time, predict_and_publish
    from components.settings import Settings
    from components.storage import ObjectStore

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings().model_copy(update={"feature_group_version": feature_group_version})
    store = ObjectStore.from_settings(settings)
    when = parse_scheduled_time(scheduled_time)
    logging.getLogger("predict").info(
        "scheduled time %s, snapshot %s, trained model version %r",
        when.isoformat(),
        snapshot_run or "latest",
        model_version,
    )
    result = predict_and_publish(store, settings, snapshot_run or None, when)
    PredictOutputs = namedtuple("PredictOutputs", ["forecast", "run_id", "created"])
    return PredictOutputs(store.uri(result.forecast), result.run_id, result.created)
