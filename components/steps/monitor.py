"""KFP component of the monitoring stage (logic in ``components.monitoring``)."""

from typing import NamedTuple

from components.steps import component


@component()
def monitor(
    snapshot_run: str,
    feature_group_version: int,
    scheduled_time: str,
    forecast_run_id: str,
) -> NamedTuple("MonitorOutputs", summary=str, needs_attention=bool, overall_wape=float):  # type: ignore[valid-type]
    """Evaluate every stored forecast against the newest observations and publish the summary.

    ``scheduled_time`` is RFC 3339 or "" for now; ``forecast_run_id`` orders this step after the
    prediction and is logged. ``overall_wape`` is -1.0 when no forecast has observations yet.
    """
    import logging
    from collections import namedtuple

    from components.monitoring import monitor_and_publish
    from components.prediction import parse_scheduled_time
    from components.settings import Settings
    from components.storage import ObjectStore

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings().model_copy(update={"feature_group_version": feature_group_version})
    store = ObjectStore.from_settings(settings)
    when = parse_scheduled_time(scheduled_time)
    logging.getLogger("monitor").info(
        "scheduled time %s, snapshot %s, after forecast %s",
        when.isoformat(),
        snapshot_run or "latest",
        forecast_run_id,
    )
    result = monitor_and_publish(store, settings, snapshot_run or None, when)
    wape = result.summary.overall_wape
    MonitorOutputs = namedtuple("MonitorOutputs", ["summary", "needs_attention", "overall_wape"])
    return MonitorOutputs(
        store.uri(result.summary_name),
        result.summary.needs_attention,
        -1.0 if wape is None else float(wape),
    )
