"""KFP component of the batch prediction stage (logic in ``components.prediction``)."""

from kfp.dsl import Dataset, Input, Model, Output

from components.steps import component


@component()
def predict(
    snapshot: Input[Dataset],
    model: Input[Model],
    scheduled_time: str,
    forecast: Output[Dataset],
) -> None:
    """Forecast the next hours of every series with exactly the version ``model`` names and publish them.

    ``scheduled_time`` is RFC 3339 (what KFP's schedule-time placeholder resolves to) or "" for now.
    ``forecast`` is the published forecast: its ``uri`` is the ``gs://`` object, its metadata names
    the model version it was made with. A repeated run of an hour that is already published changes
    nothing and its metadata names the version the stored forecast was made with.
    """
    import logging

    from components.prediction import parse_scheduled_time, predict_and_publish
    from components.steps.artifacts import (
        configure_logging,
        forecast_metadata,
        model_ref,
    )
    from components.steps.context import snapshot_context

    configure_logging()
    log = logging.getLogger("predict")
    settings, store, run = snapshot_context(snapshot.metadata)
    version = model_ref(model.metadata, settings)
    when = parse_scheduled_time(scheduled_time)
    log.info("scheduled time %s, snapshot %s, model %s", when.isoformat(), run, model.uri)
    result = predict_and_publish(store, settings, run, when, model_version=version)
    if result.model_version != version:
        log.warning(
            "forecast %s was already published with model v%s (given v%s); left as it is",
            result.run_id,
            result.model_version,
            version,
        )
    forecast.uri = store.uri(result.forecast)  # the published object; nothing is written at forecast.path
    forecast.metadata.update(forecast_metadata(store, result, model.metadata))
