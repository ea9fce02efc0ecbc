"""The whole DAG under kfp.local on a short window of the real data: with and without tuning,
forecast and monitoring objects as promised, monitoring equal to a direct computation, and a
repeated scheduled hour that changes nothing.

The two runs are the session's ``real_pipeline`` (``tests/pipeline_fixtures.py``), which the
dashboard's browser test shows too: they are made once, by whichever of the two needs them first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components import layout
from components.contracts import ForecastMetadata, MonitoringSummary
from components.settings import Settings
from components.storage import ObjectStore
from pipelines.local import RunResult
from tests import de35_schema as schemas
from tests.de35_schema import MONITORING_TABLES
from tests.pipeline_fixtures import FIRST, SECOND, RealPipeline

STEPS = {"extract", "validate", "features", "predict", "monitor"}


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
    run = layout.run_id(SECOND)
    forecast = store.read_parquet(layout.forecast_run(run))
    assert list(forecast.columns) == list(schemas.FORECAST_COLUMNS)
    assert len(forecast) == len(schemas.AREAS) * len(schemas.CONSUMER_TYPES) * settings.horizon
    keys = forecast[[schemas.AREA, schemas.CONSUMER_TYPE, "horizon"]]
    assert not keys.duplicated().any()
    assert sorted(forecast["horizon"].unique()) == list(range(1, settings.horizon + 1))
    assert forecast["forecast"].notna().all()
    first_hour = forecast.loc[forecast["horizon"] == 1, schemas.DATETIME].unique()
    assert list(first_hour) == [pd.Timestamp(SECOND)]
    metadata = ForecastMetadata.model_validate(store.read_json(layout.forecast_metadata(run)))
    assert metadata.rows == len(forecast)
    pointer = store.read_pointer(layout.FORECAST_LATEST)
    assert pointer is not None and pointer.body["run_id"] == run


def test_monitoring_equals_a_direct_computation(
    pipeline_env: Any, two_runs: tuple[RunResult, RunResult], snapshot_path: Path
) -> None:
    _, store, _ = pipeline_env
    summary = MonitoringSummary.model_validate(
        store.read_json(layout.monitoring_summary(layout.run_id(SECOND)))
    )
    assert set(summary.tables) == set(MONITORING_TABLES)
    for table, name in summary.tables.items():
        assert tuple(store.read_parquet(name).columns) == MONITORING_TABLES[table]

    forecast = store.read_parquet(layout.forecast_run(layout.run_id(FIRST)))
    raw = pd.read_parquet(snapshot_path)
    observed = pd.DataFrame(
        {
            schemas.DATETIME: pd.to_datetime(raw["HourUTC"], utc=True),
            schemas.AREA: raw["PriceArea"],
            schemas.CONSUMER_TYPE: raw["ConsumerType_DE35"],
            "observed": raw["TotalCon"].astype(float),
        }
    )
    forecast[schemas.DATETIME] = pd.to_datetime(forecast[schemas.DATETIME], utc=True)
    joined = forecast.merge(observed, on=[schemas.DATETIME, schemas.AREA, schemas.CONSUMER_TYPE])
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
