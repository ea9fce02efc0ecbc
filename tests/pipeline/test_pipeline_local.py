"""The whole DAG under kfp.local on a short window of the real data: with and without tuning,
forecast and monitoring objects as promised, monitoring equal to a direct computation, a repeated
scheduled hour that changes nothing, and the KFP artifacts written as on the cluster: the ``Metrics``
equal to the MLflow run's and the monitoring summary's, one model version named by the ``Model``
artifact, the forecast's metadata and the stored forecast, and every report opening in Chromium with
its plots drawn (``test-artifacts/report-pipeline-*.png``).

The two runs are the session's ``real_pipeline`` (``tests/pipeline_fixtures.py``), which the
dashboard's browser test shows too: they are made once, by whichever of the two needs them first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components import layout, schemas
from components.contracts import ForecastMetadata, MonitoringSummary, monitoring_tables
from components.reports.names import MONITOR_METRICS, TRAIN_METRICS
from components.reports.svg import PALETTE
from components.settings import Settings
from components.storage import ObjectStore
from devtools.local_run import RunResult
from tests.browser_fixtures import chromium_or_skip
from tests.pipeline_fixtures import FIRST, SECOND, STEPS, RealPipeline
from tests.report_rendering import markdown_page, pixels_of, screenshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline_env(real_pipeline: RealPipeline) -> Any:
    """The settings and store of the session's real runs (``tests/pipeline_fixtures.py``)."""
    return real_pipeline.settings(), real_pipeline.store, real_pipeline.root


def _model_versions(settings: Settings) -> list[str]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    return sorted(str(v.version) for v in client.search_model_versions(f"name = '{settings.model_name}'"))


def _generations(store: ObjectStore) -> dict[str, int | None]:
    return {name: store.generation(name) for name in store.list("")}


@pytest.fixture(scope="module")
def two_runs(real_pipeline: RealPipeline) -> tuple[RunResult, RunResult]:
    """``FIRST`` with tuning, then ``SECOND`` without: run once per session, shared with the browser test."""
    return real_pipeline.first, real_pipeline.second


def test_both_branches_run_every_step(two_runs: tuple[RunResult, RunResult]) -> None:
    first, second = two_runs
    assert set(first.steps.status) == STEPS | {"tune", "train"}
    assert set(second.steps.status) == STEPS | {"train-2"}
    assert set(first.steps.status.values()) == {"SUCCESS"}
    assert set(second.steps.status.values()) == {"SUCCESS"}
    assert str(second.summary["champion_version"]) in {"1", "2"}
    assert second.summary["pointers"] == {"features": "moved", "forecast": "moved", "monitoring": "moved"}


def test_forecast_objects_have_one_row_per_series_and_horizon(
    pipeline_env: Any, two_runs: tuple[RunResult, RunResult]
) -> None:
    settings, store, _ = pipeline_env
    keys = list(settings.spec.key_names)
    run = layout.run_id(SECOND)
    forecast = store.read_parquet(layout.forecast_run(run))
    assert list(forecast.columns) == list(settings.spec.forecast_columns)
    metadata = ForecastMetadata.model_validate(store.read_json(layout.forecast_metadata(run)))
    assert len(forecast[keys].drop_duplicates()) == metadata.series > 0
    assert len(forecast) == metadata.series * settings.horizon == metadata.rows
    assert not forecast[[*keys, "horizon"]].duplicated().any()
    assert sorted(forecast["horizon"].unique()) == list(range(1, settings.horizon + 1))
    assert forecast["forecast"].notna().all()
    first_hour = forecast.loc[forecast["horizon"] == 1, schemas.DATETIME].unique()
    assert list(first_hour) == [pd.Timestamp(SECOND)]
    pointer = store.read_pointer(layout.FORECAST_LATEST)
    assert pointer is not None and pointer.body["run_id"] == run


def test_monitoring_equals_a_direct_computation(
    pipeline_env: Any, two_runs: tuple[RunResult, RunResult], snapshot_path: Path
) -> None:
    settings, store, _ = pipeline_env
    spec = settings.spec
    keys = list(spec.key_names)
    summary = MonitoringSummary.model_validate(
        store.read_json(layout.monitoring_summary(layout.run_id(SECOND)))
    )
    expected_tables = monitoring_tables(keys)
    assert set(summary.tables) == set(expected_tables)
    for table, name in summary.tables.items():
        assert tuple(store.read_parquet(name).columns) == expected_tables[table]

    forecast = store.read_parquet(layout.forecast_run(layout.run_id(FIRST)))
    raw = pd.read_parquet(snapshot_path)
    observed = pd.DataFrame(
        {
            schemas.DATETIME: pd.to_datetime(raw[spec.time_column], utc=True),
            **{key.name: raw[key.source].astype("string") for key in spec.keys},
            "observed": raw[spec.value_column].astype(float) * spec.unit_factor,
        }
    )
    forecast[schemas.DATETIME] = pd.to_datetime(forecast[schemas.DATETIME], utc=True)
    forecast = forecast.astype({key: "string" for key in keys})
    joined = forecast.merge(observed, on=[schemas.DATETIME, *keys])
    assert len(joined) == summary.evaluated_pairs == len(forecast)
    wape = np.abs(joined["forecast"] - joined["observed"]).sum() / joined["observed"].abs().sum()
    assert summary.overall_wape == pytest.approx(wape, rel=1e-9)
    assert summary.evaluated_forecast_runs == 1


def test_repeating_a_scheduled_hour_changes_nothing(
    pipeline_env: Any, two_runs: tuple[RunResult, RunResult], real_pipeline: RealPipeline
) -> None:
    settings, store, _ = pipeline_env
    before = _generations(store)
    versions_before = _model_versions(settings)
    again = real_pipeline.run(SECOND, tuning=False)
    assert set(again.steps.status.values()) == {"SUCCESS"}
    assert _generations(store) == before
    assert _model_versions(settings) == versions_before, "the same snapshot and config must not retrain"
    assert set(again.summary["pointers"].values()) == {"unchanged (nothing new written)"}


# --- the KFP artifacts of the runs ---------------------------------------------------------------
def _mlflow_metrics(settings: Settings, run_id: str) -> dict[str, float]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    return dict(client.get_run(run_id).data.metrics)


def test_artifacts_are_written_as_on_the_cluster(
    pipeline_env: Any, two_runs: tuple[RunResult, RunResult]
) -> None:
    settings, store, _ = pipeline_env
    for result, train_task in zip(two_runs, ("train", "train-2"), strict=True):
        assert result.run_dir is not None and result.run_dir.is_dir()
        kinds = {(a.task, a.name): a.type for a in result.artifacts}
        assert kinds[("features", "snapshot")] == "system.Dataset"
        assert kinds[(train_task, "model")] == "system.Model"
        assert kinds[(train_task, "metrics")] == "system.Metrics"
        assert kinds[("resolve-model", "model")] == "system.Model"
        assert kinds[("predict", "forecast")] == "system.Dataset"
        assert kinds[("monitor", "metrics")] == "system.Metrics"
        reports = {(a.task, a.name, a.type) for a in result.reports}
        assert reports == {
            ("validate", "contract", "system.Markdown"),
            (train_task, "backtest", "system.HTML"),
            ("monitor", "summary", "system.HTML"),
        }
        for report in result.reports:
            assert report.path is not None and report.path.stat().st_size > 1000, report
        snapshot = result.artifact("features", "snapshot")
        manifest = store.read_json(
            layout.feature_manifest(settings.feature_group, 1, snapshot.metadata["run_id"])
        )
        assert snapshot.uri.startswith("gs://") and snapshot.metadata["sha256"] == manifest["sha256"]
        assert snapshot.path is None


def test_train_metrics_equal_the_mlflow_run(pipeline_env: Any, two_runs: tuple[RunResult, RunResult]) -> None:
    settings, _, _ = pipeline_env
    for result, train_task in zip(two_runs, ("train", "train-2"), strict=True):
        model = result.artifact(train_task, "model")
        assert model.uri == f"models:/{settings.model_name}/{model.metadata['version']}"
        metrics = result.artifact(train_task, "metrics").metadata
        logged = _mlflow_metrics(settings, model.metadata["mlflow_run_id"])
        assert metrics == {name: logged[name] for name in TRAIN_METRICS if name in logged}
        assert {"wape", "mape", "wape_naive_24", "wape_naive_168", "promoted"} <= set(metrics)
        assert metrics["promoted"] == float(model.metadata["promoted"])
        assert all(isinstance(v, float) and v >= 0 for v in metrics.values())
    first, second = two_runs
    assert "champion_wape" not in first.artifact("train", "metrics").metadata  # no champion before it
    if second.artifact("train-2", "model").metadata["retrained"]:
        assert "champion_wape" in second.artifact("train-2", "metrics").metadata


def test_the_forecast_is_made_with_the_model_the_graph_names(
    pipeline_env: Any, two_runs: tuple[RunResult, RunResult]
) -> None:
    settings, store, _ = pipeline_env
    for result, scheduled in zip(two_runs, (FIRST, SECOND), strict=True):
        model = result.artifact("resolve-model", "model")
        forecast = result.artifact("predict", "forecast")
        stored = ForecastMetadata.model_validate(
            store.read_json(layout.forecast_metadata(layout.run_id(scheduled)))
        )
        version = model.metadata["version"]
        assert forecast.metadata["given_model_version"] == version
        assert forecast.metadata["model_version"] == stored.model_version == version
        assert forecast.metadata["model_uri"] == model.uri == f"models:/{settings.model_name}/{version}"
        assert forecast.uri == store.uri(layout.forecast_run(layout.run_id(scheduled)))
        assert forecast.metadata["rows"] == stored.rows and forecast.metadata["series"] == stored.series
        assert model.metadata["alias"] == "champion" and "champion" in model.metadata["aliases"]


def test_monitor_metrics_equal_the_summary(pipeline_env: Any, two_runs: tuple[RunResult, RunResult]) -> None:
    _, store, _ = pipeline_env
    first, second = two_runs
    for result, scheduled in ((first, FIRST), (second, SECOND)):
        summary = MonitoringSummary.model_validate(
            store.read_json(layout.monitoring_summary(layout.run_id(scheduled)))
        )
        metrics = result.artifact("monitor", "metrics").metadata
        assert metrics == summary.metrics()
        assert set(metrics) <= set(MONITOR_METRICS)
        assert metrics["needs_attention"] == float(summary.needs_attention)
        assert metrics["data_age_hours"] == pytest.approx(summary.freshness.age_hours)
    assert (
        "overall_wape" not in first.artifact("monitor", "metrics").metadata
    )  # nothing observed yet: left out
    assert second.artifact("monitor", "metrics").metadata["rolling_wape"] > 0


def test_the_cli_prints_where_each_report_is(
    two_runs: tuple[RunResult, RunResult], capsys: pytest.CaptureFixture[str]
) -> None:
    from devtools.cli import _print_reports

    second = two_runs[1]
    _print_reports(second)
    printed = capsys.readouterr().out
    for report in second.reports:
        assert report.view is not None and report.path is not None
        assert report.view.read_bytes() == report.path.read_bytes()
        kind = report.type.removeprefix("system.")
        assert f"==> report {report.task}/{report.name} ({kind}): {report.view}" in printed


@pytest.mark.browser
def test_the_reports_open_in_chromium_with_their_plots(
    two_runs: tuple[RunResult, RunResult], tmp_path: Path
) -> None:
    """The second run's reports as kfp.local wrote them, screenshotted to test-artifacts/."""
    chromium = chromium_or_skip()
    second = two_runs[1]
    for report in second.reports:
        assert report.view is not None  # the .html/.md copy the CLI prints
        name = f"report-pipeline-{report.task}-{report.name}"
        page = report.view
        if report.type == "system.Markdown":
            page = tmp_path / f"{name}.html"
            page.write_text(markdown_page(report.view.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            text = report.view.read_text(encoding="utf-8")
            assert "<script" not in text and "<polyline" in text
        shot = screenshot(chromium, page, name, tmp_path / "profile")
        if report.type == "system.HTML":
            assert pixels_of(shot, PALETTE[0]) > 500, f"no plotted line in {shot}"
