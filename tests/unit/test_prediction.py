"""Batch prediction on the real GCS emulator with a real MLflow (SQLite) champion model.

The champion here is a seasonal-naive (24 h) ``mlflow.pyfunc.PythonModel`` registered in a module-wide
SQLite registry: a real MLflow model with the forecaster's predict contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components import layout
from components.contracts import ForecastMetadata, ForecastPointer
from components.prediction import (
    ForecastValidationError,
    PredictionResult,
    ScheduledTimeError,
    parse_scheduled_time,
    predict_and_publish,
    validate_forecast,
)
from components.settings import Settings
from components.storage import ObjectStore
from tests import de35_schema as schemas
from tests.prediction_fixtures import (
    SeasonalNaive24,
    champion_registry,
    clean_frame,
    model_settings,
    run_at_once,
    store_cut_snapshot,
)

__all__ = ["champion_registry", "model_settings"]  # fixtures

SNAPSHOT_END = datetime(2023, 1, 10, 0, tzinfo=UTC)


@pytest.fixture()
def snapshot_run(store: ObjectStore, model_settings: Settings, snapshot_path: Path) -> str:
    return store_cut_snapshot(store, model_settings, clean_frame(snapshot_path, SNAPSHOT_END, 72))


def generations(store: ObjectStore) -> dict[str, int | None]:
    return {name: store.generation(name) for name in store.list("forecasts/")}


# --- tests --------------------------------------------------------------------------------------------
def test_publishes_a_complete_forecast_and_moves_latest(
    store: ObjectStore, model_settings: Settings, snapshot_run: str, snapshot_path: Path
) -> None:
    scheduled = SNAPSHOT_END + timedelta(minutes=5)
    result = predict_and_publish(store, model_settings, snapshot_run, scheduled)

    assert result.created and result.pointer_moved
    assert result.run_id == "20230110T0000Z"
    forecast = store.read_parquet(layout.forecast_run(result.run_id))
    assert tuple(forecast.columns) == schemas.FORECAST_COLUMNS
    assert len(forecast) == 76 * 24
    assert (
        forecast.groupby([schemas.AREA, schemas.CONSUMER_TYPE])["horizon"]
        .apply(sorted)
        .map(lambda h: h == list(range(1, 25)))
        .all()
    )
    last = SNAPSHOT_END - timedelta(hours=1)
    expected_times = pd.Timestamp(last) + pd.to_timedelta(forecast["horizon"], unit="h")
    assert (forecast[schemas.DATETIME] == expected_times).all()
    # seasonal naive: forecast of last+h equals the observation at last+h-24
    observed = clean_frame(snapshot_path, SNAPSHOT_END, 72).set_index(
        [schemas.AREA, schemas.CONSUMER_TYPE, schemas.DATETIME]
    )[schemas.TARGET]
    row = forecast.iloc[5]
    hour = pd.Timestamp(row[schemas.DATETIME]) - pd.Timedelta(hours=24)
    assert row["forecast"] == observed[(row[schemas.AREA], row[schemas.CONSUMER_TYPE], hour)]

    metadata = ForecastMetadata.model_validate(store.read_json(layout.forecast_metadata(result.run_id)))
    assert metadata.rows == 76 * 24 and metadata.series == 76 and metadata.horizon == 24
    assert metadata.model_version == result.model_version
    assert metadata.feature_snapshot == layout.feature_snapshot("energy_consumption", 1, snapshot_run)
    assert metadata.has_band is True  # the fixture champion forecasts a band
    pointer = ForecastPointer.model_validate(store.read_json(layout.FORECAST_LATEST))
    assert pointer.run_id == result.run_id and pointer.forecast == layout.forecast_run(result.run_id)


def test_repeated_run_changes_nothing(
    store: ObjectStore, model_settings: Settings, snapshot_run: str
) -> None:
    scheduled = SNAPSHOT_END
    first = predict_and_publish(store, model_settings, snapshot_run, scheduled)
    before = generations(store)
    second = predict_and_publish(store, model_settings, snapshot_run, scheduled)

    assert first.created and not second.created and not second.pointer_moved
    assert "already published" in second.message
    assert generations(store) == before
    assert set(before) == {
        layout.forecast_run(first.run_id),
        layout.forecast_metadata(first.run_id),
        layout.FORECAST_LATEST,
    }


def test_concurrent_runs_of_the_same_hour_one_wins(
    store: ObjectStore, model_settings: Settings, snapshot_run: str
) -> None:
    def run() -> PredictionResult:
        own_store = ObjectStore.from_settings(model_settings)
        return predict_and_publish(own_store, model_settings, snapshot_run, SNAPSHOT_END)

    results = run_at_once(run)
    assert sorted(r.created for r in results) == [False, True]
    winner = next(r for r in results if r.created)
    assert sum(r.pointer_moved for r in results) == 1  # whichever got there first moved it, once
    after = generations(store)
    assert len(after) == 3
    assert store.read_json(layout.FORECAST_LATEST)["run_id"] == winner.run_id
    assert len(store.read_parquet(layout.forecast_run(winner.run_id))) == 76 * 24
    # and a third run afterwards still changes nothing
    predict_and_publish(store, model_settings, snapshot_run, SNAPSHOT_END)
    assert generations(store) == after


def test_latest_never_moves_back_to_an_earlier_hour(
    store: ObjectStore, model_settings: Settings, snapshot_run: str, snapshot_path: Path
) -> None:
    later_run = store_cut_snapshot(
        store, model_settings, clean_frame(snapshot_path, SNAPSHOT_END + timedelta(hours=3), 72)
    )
    later = predict_and_publish(store, model_settings, later_run, SNAPSHOT_END + timedelta(hours=3))
    pointer_generation = store.generation(layout.FORECAST_LATEST)
    earlier = predict_and_publish(store, model_settings, snapshot_run, SNAPSHOT_END + timedelta(hours=4))

    assert earlier.created and not earlier.pointer_moved
    assert earlier.run_id == snapshot_run  # named after its data's origin, not the scheduled hour
    assert "later run 20230110T0300Z" in earlier.message
    assert store.generation(layout.FORECAST_LATEST) == pointer_generation
    assert store.read_json(layout.FORECAST_LATEST)["run_id"] == later.run_id
    assert store.exists(layout.forecast_metadata(earlier.run_id))


def test_latest_snapshot_is_used_when_no_run_is_given(
    store: ObjectStore, model_settings: Settings, snapshot_run: str
) -> None:
    result = predict_and_publish(store, model_settings, None, SNAPSHOT_END)
    metadata = store.read_json(layout.forecast_metadata(result.run_id))
    assert metadata["feature_snapshot"].endswith(f"{snapshot_run}.parquet")


def test_missing_champion_is_a_clear_error(
    store: ObjectStore, model_settings: Settings, snapshot_run: str
) -> None:
    unregistered = model_settings.model_copy(update={"model_name": "no-such-model"})
    with pytest.raises(LookupError, match="champion"):
        predict_and_publish(store, unregistered, snapshot_run, SNAPSHOT_END)
    assert store.list("forecasts/") == []


def _features(hours: int = 30) -> pd.DataFrame:
    times = pd.date_range("2023-01-01", periods=hours, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            schemas.DATETIME: list(times) * 2,
            schemas.AREA: ["DK1"] * hours + ["DK2"] * hours,
            schemas.CONSUMER_TYPE: ["111"] * (2 * hours),
            schemas.TARGET: np.arange(2 * hours, dtype="float64"),
        }
    )


def test_validation_rejects_broken_forecasts() -> None:
    features = _features()
    good = SeasonalNaive24().predict(None, features)
    assert len(validate_forecast(good, features, 24, schemas.SPEC)) == 48

    with pytest.raises(ForecastValidationError, match="missing/infinite"):
        validate_forecast(
            good.assign(forecast=np.where(good.index == 3, np.nan, good["forecast"])),
            features,
            24,
            schemas.SPEC,
        )
    with pytest.raises(ForecastValidationError, match="repeat"):
        validate_forecast(pd.concat([good, good.iloc[:1]]), features, 24, schemas.SPEC)
    with pytest.raises(ForecastValidationError, match="missing from the forecast"):
        validate_forecast(good.iloc[1:], features, 24, schemas.SPEC)
    with pytest.raises(ForecastValidationError, match=r"outside 1\.\.24"):
        extra = good.iloc[:1].assign(horizon=25)
        validate_forecast(pd.concat([good, extra]), features, 24, schemas.SPEC)
    with pytest.raises(ForecastValidationError, match="last observed hour"):
        shifted = good.copy()
        shifted[schemas.DATETIME] = shifted[schemas.DATETIME].where(
            shifted.index != 0, shifted[schemas.DATETIME] + pd.Timedelta(hours=1)
        )
        validate_forecast(shifted, features, 24, schemas.SPEC)
    with pytest.raises(ForecastValidationError, match="lacks columns"):
        validate_forecast(good.drop(columns=["forecast_upper"]), features, 24, schemas.SPEC)


def test_scheduled_time_parsing() -> None:
    now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert parse_scheduled_time("", now) == now
    assert parse_scheduled_time("now", now) == now
    assert parse_scheduled_time("2026-11-27T20:00:00Z") == datetime(2026, 11, 27, 20, tzinfo=UTC)
    # KFP's schedule-time placeholder resolves to RFC 3339, possibly with nanoseconds or an offset
    assert parse_scheduled_time("2026-11-27T20:00:00.123456789Z").hour == 20
    assert parse_scheduled_time("2026-11-27T21:00:00+01:00") == datetime(2026, 11, 27, 20, tzinfo=UTC)
    assert parse_scheduled_time("2026-11-27T20:00") == datetime(2026, 11, 27, 20, tzinfo=UTC)
    with pytest.raises(ScheduledTimeError, match="placeholder"):
        parse_scheduled_time("{{$.pipeline_job_schedule_time_utc}}")
    with pytest.raises(ScheduledTimeError, match="not an RFC 3339"):
        parse_scheduled_time("yesterday-ish")


# --- the KFP component under kfp.local ------------------------------------------------------------------
@pytest.fixture()
def kfp_local(tmp_path: Path) -> Iterator[None]:
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp"))
    yield


@pytest.mark.slow
def test_predict_component_under_kfp_local(
    store: ObjectStore,
    model_settings: Settings,
    snapshot_run: str,
    champion_registry: tuple[str, str],
    tmp_path: Path,
) -> None:
    from kfp import local

    from tests.kfp_steps import executor_output, predict_step

    root = tmp_path / "kfp"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    uri = store.uri(layout.feature_snapshot(model_settings.feature_group, 1, snapshot_run))
    champion = champion_registry[1]
    predict_step(
        uri=uri, run=snapshot_run, version=1, scheduled_time="2023-01-10T00:05:00Z", trained_version=""
    )
    model = executor_output(root, "resolve-model")["artifacts"]["model"]
    assert model["uri"] == f"models:/{model_settings.model_name}/{champion}"
    forecast = executor_output(root, "predict")["artifacts"]["forecast"]
    assert forecast["uri"] == store.uri(layout.forecast_run(snapshot_run))
    meta = forecast["metadata"]
    assert meta["run_id"] == snapshot_run == "20230110T0000Z"
    assert meta["created"] is True and meta["model_version"] == meta["given_model_version"] == champion
    assert (meta["data_end"], meta["forecast_start"]) == (
        "2023-01-09T23:00:00+00:00",
        "2023-01-10T00:00:00+00:00",
    )
    assert len(store.read_parquet(layout.forecast_run(snapshot_run))) == 76 * 24
