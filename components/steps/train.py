"""KFP components of the training stage (logic in ``components.model.training``): ``train`` and
``resolve_model``, which names the model the forecast is made with."""

from typing import NamedTuple

from kfp.dsl import HTML, Dataset, Input, Metrics, Model, Output

from components.steps import component


@component()
def train(
    snapshot: Input[Dataset],
    config_json: str,
    model: Output[Model],
    metrics: Output[Metrics],
    backtest: Output[HTML],
) -> NamedTuple("TrainOutputs", model_version=str):  # type: ignore[valid-type]
    """Backtest, fit, log and register the model on the feature snapshot; move ``champion`` if not worse.

    ``config_json`` ``""`` trains from the best config stored by tuning (the default config before
    any tuning). Outputs: ``model`` (``models:/<name>/<version>``; metadata: MLflow run id, tracking
    URI, model format, alias and why), ``metrics`` (the MLflow run's backtest metrics under the same
    names, see ``components.reports.names.TRAIN_METRICS``), ``backtest`` (the HTML backtest report)
    and the registered version (``model_version``).
    """
    import logging
    import tempfile
    from collections import namedtuple
    from pathlib import Path

    from components.model.training import train_snapshot
    from components.reports.backtest import backtest_html, read_backtest_folder
    from components.steps.artifacts import (
        backtest_folder,
        configure_logging,
        trained_model,
        write_text,
    )
    from components.steps.context import snapshot_context

    configure_logging()
    settings, store, run = snapshot_context(snapshot.metadata)
    outcome = train_snapshot(settings, store, run, config_json)
    record = trained_model(settings, outcome)
    model.uri = record.uri  # the registered version; nothing is written at model.path
    model.metadata.update(record.metadata)
    for name, value in record.metrics.items():
        metrics.log_metric(name, value)
    with tempfile.TemporaryDirectory(prefix="backtest-") as tmp:
        folder = backtest_folder(settings, outcome.run_id, Path(tmp))
        page = backtest_html(read_backtest_folder(folder), record.report_info)
    write_text(backtest.path, page)
    logging.getLogger(__name__).info("backtest report written to %s", backtest.path)
    TrainOutputs = namedtuple("TrainOutputs", ["model_version"])
    return TrainOutputs(outcome.model_version)


@component()
def resolve_model(trained_version: str, model: Output[Model]) -> None:
    """The model the forecast is made with: the version alias ``champion`` names once training is
    done (``trained_version`` if it was promoted, the earlier champion otherwise), resolved here once
    so that ``predict`` loads exactly this version and the graph's edge names it."""
    from components.steps.artifacts import champion_model, configure_logging
    from components.steps.context import step_context

    configure_logging()
    uri, metadata = champion_model(step_context().settings, trained_version)
    model.uri = uri
    model.metadata.update(metadata)
