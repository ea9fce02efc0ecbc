"""KFP component of the monitoring stage (logic in ``components.monitoring``)."""

from kfp.dsl import HTML, Dataset, Input, Metrics, Output

from components.steps import component


@component()
def monitor(
    snapshot: Input[Dataset],
    scheduled_time: str,
    metrics: Output[Metrics],
    summary: Output[HTML],
) -> None:
    """Evaluate every stored forecast against the snapshot's observations and publish the summary.

    ``scheduled_time`` is RFC 3339 or "" for now. Outputs: ``metrics`` (rolling WAPE, WAPE, MAPE,
    PSI drift, data age in hours, needs_attention 1/0, see ``components.reports.names.MONITOR_METRICS``;
    a value that is not defined is left out) and ``summary`` (the HTML page).
    """
    import logging

    from components.monitoring import monitor_and_publish
    from components.prediction import parse_scheduled_time
    from components.reports.monitoring import monitoring_html
    from components.steps.artifacts import (
        configure_logging,
        monitoring_tables,
        write_text,
    )
    from components.steps.context import snapshot_context

    configure_logging()
    settings, store, run = snapshot_context(snapshot.metadata)
    when = parse_scheduled_time(scheduled_time)
    logging.getLogger("monitor").info("scheduled time %s, snapshot %s", when.isoformat(), run)
    result = monitor_and_publish(store, settings, run, when)
    for name, value in result.summary.metrics().items():
        metrics.log_metric(name, value)
    info = {"summary_uri": store.uri(result.summary_name), "snapshot": snapshot.uri}
    page = monitoring_html(
        result.summary.model_dump(mode="json"), monitoring_tables(store, result.summary), info
    )
    write_text(summary.path, page)
    summary.metadata.update(
        {"summary": store.uri(result.summary_name), "needs_attention": result.summary.needs_attention}
    )
    logging.getLogger("monitor").info("monitoring report written to %s", summary.path)
