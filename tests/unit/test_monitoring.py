"""Monitoring on the real GCS emulator: forecasts published by the real prediction step (MLflow champion),
observations from feature snapshots of the shared data, figures checked against a direct computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components import layout
from components.contracts import FilledGap, MonitoringPointer, MonitoringSummary, QuarantinedPoint
from components.monitoring import (
    MonitoringResult,
    error_metrics,
    monitor_and_publish,
    population_stability_index,
)
from components.prediction import predict_and_publish
from components.settings import Settings
from components.storage import ObjectStore
from tests import de35_schema as schemas
from tests.de35_schema import MONITORING_TABLES
from tests.prediction_fixtures import (
    champion_registry,
    clean_frame,
    model_settings,
    run_at_once,
    store_cut_snapshot,
)

__all__ = ["champion_registry", "model_settings"]  # fixtures shared with the prediction tests

DAY = timedelta(days=1)
FIRST = datetime(2023, 1, 8, tzinfo=UTC)
HISTORY_HOURS = 9 * 24


def publish_history(store: ObjectStore, settings: Settings, snapshot_path: Path, days: int = 2) -> str:
    """Daily forecasts from 01-08 (two by default), each from the snapshot of its day, then a newer
    snapshot whose observations cover them all. Returns the newest snapshot's run id."""
    for day in range(days):
        scheduled = FIRST + day * DAY
        run = store_cut_snapshot(store, settings, clean_frame(snapshot_path, scheduled, HISTORY_HOURS))
        predict_and_publish(store, settings, run, scheduled)
    return store_cut_snapshot(store, settings, clean_frame(snapshot_path, FIRST + days * DAY, HISTORY_HOURS))


def direct_figures(store: ObjectStore, snapshot_path: Path, runs: list[str]) -> dict[str, float]:
    """WAPE/MAPE per run and overall, straight from the stored forecasts and the raw shared data."""
    raw = pd.read_parquet(snapshot_path)
    raw = raw[raw["HourUTC"] >= FIRST.strftime("%Y-%m-%dT%H:%M:%S")]
    truth = {
        (area, ctype, pd.Timestamp(hour, tz="UTC")): float(value)
        for area, ctype, hour, value in zip(
            raw["PriceArea"], raw["ConsumerType_DE35"], raw["HourUTC"], raw["TotalCon"], strict=True
        )
    }
    figures: dict[str, float] = {}
    all_errors: list[float] = []
    all_truth: list[float] = []
    for run in runs:
        forecast = store.read_parquet(layout.forecast_run(run))
        errors, ys = [], []
        for area, ctype, hour, value in zip(
            forecast["area"],
            forecast["consumer_type"],
            forecast["datetime_utc"],
            forecast["forecast"],
            strict=True,
        ):
            y = truth[(str(area), str(ctype), pd.Timestamp(hour))]
            errors.append(abs(y - value))
            ys.append(y)
        figures[f"wape:{run}"] = sum(errors) / sum(abs(y) for y in ys)
        figures[f"mape:{run}"] = float(
            np.mean([e / abs(y) for e, y in zip(errors, ys, strict=True) if y != 0])
        )
        all_errors += errors
        all_truth += ys
    figures["wape"] = sum(all_errors) / sum(abs(y) for y in all_truth)
    return figures


def test_figures_equal_a_direct_computation(
    store: ObjectStore, model_settings: Settings, snapshot_path: Path
) -> None:
    newest = publish_history(store, model_settings, snapshot_path)
    settings = model_settings.model_copy(
        update={"monitoring_rolling_runs": 1, "monitoring_wape_threshold": 1e-3}
    )
    scheduled = FIRST + 2 * DAY
    result = monitor_and_publish(store, settings, newest, scheduled)

    assert result.created and result.pointer_moved
    summary = MonitoringSummary.model_validate(store.read_json(layout.monitoring_summary(result.run_id)))
    runs = ["20230108T0000Z", "20230109T0000Z"]
    expected = direct_figures(store, snapshot_path, runs)
    assert summary.evaluated_forecast_runs == 2
    assert summary.evaluated_pairs == 2 * 76 * 24
    assert summary.overall_wape == pytest.approx(expected["wape"], rel=1e-12)
    assert summary.rolling_wape == pytest.approx(expected["wape:20230109T0000Z"], rel=1e-12)  # K = 1
    assert summary.needs_attention is True
    assert (
        summary.reason is not None
        and "rolling WAPE" in summary.reason
        and "last 1 forecast runs" in summary.reason
    )
    assert summary.freshness.newest_observation == scheduled - timedelta(hours=1)
    assert summary.freshness.age_hours == pytest.approx(1.0)
    assert summary.drift is not None and np.isfinite(summary.drift.psi) and summary.drift.psi >= 0
    assert summary.drift.current_end == scheduled
    assert summary.drift.current_start == scheduled - timedelta(hours=168)
    assert summary.tables == {t: layout.monitoring_run(result.run_id, t) for t in MONITORING_TABLES}

    tables = {t: store.read_parquet(name) for t, name in summary.tables.items()}
    for table, frame in tables.items():
        assert tuple(frame.columns) == MONITORING_TABLES[table], table
    by_run = tables["by_forecast_run"].set_index("run_id")
    assert list(by_run.index) == runs
    for run in runs:
        assert by_run.loc[run, "wape"] == pytest.approx(expected[f"wape:{run}"], rel=1e-12)
        assert by_run.loc[run, "mape"] == pytest.approx(expected[f"mape:{run}"], rel=1e-12)
        assert by_run.loc[run, "n"] == 76 * 24
    assert by_run.loc["20230109T0000Z", "scheduled_time"] == pd.Timestamp(FIRST + DAY)
    assert len(tables["by_series"]) == 76 and (tables["by_series"]["n"] == 48).all()
    assert list(tables["by_horizon"]["horizon"]) == list(range(1, 25))
    assert (tables["by_horizon"]["n"] == 2 * 76).all()
    pairs = tables["pairs"]
    assert len(pairs) == 2 * 76 * 24
    # the per-horizon WAPE is the same definition applied to the pairs of one horizon
    h1 = pairs[pairs["horizon"] == 1]
    expected_h1 = (h1["observed"] - h1["forecast"]).abs().sum() / h1["observed"].abs().sum()
    assert tables["by_horizon"].iloc[0]["wape"] == pytest.approx(expected_h1)

    pointer = MonitoringPointer.model_validate(store.read_json(layout.MONITORING_LATEST))
    assert pointer.run_id == result.run_id and pointer.summary == layout.monitoring_summary(result.run_id)


def test_filled_and_quarantined_hours_are_not_actuals(
    store: ObjectStore, model_settings: Settings, snapshot_path: Path
) -> None:
    """Values the validate step invented (a filled gap, a quarantined point's replacement) are no
    observations: the forecast hours they cover are not scored."""
    for day in range(2):
        run = store_cut_snapshot(
            store, model_settings, clean_frame(snapshot_path, FIRST + day * DAY, HISTORY_HOURS)
        )
        predict_and_publish(store, model_settings, run, FIRST + day * DAY)
    frame = clean_frame(snapshot_path, FIRST + 2 * DAY, HISTORY_HOURS)
    newest = store_cut_snapshot(
        store,
        model_settings,
        frame,
        filled_gaps=[FilledGap(series=["DK1", "111"], start=FIRST + DAY + timedelta(hours=5), hours=3)],
        quarantined=[
            QuarantinedPoint(
                series=["DK2", "441"],
                hour=FIRST + timedelta(hours=10),
                value=0.0,
                rule="impossible_zero",
                replacement=1.0,
            )
        ],
    )
    result = monitor_and_publish(store, model_settings, newest, FIRST + 2 * DAY)
    summary = MonitoringSummary.model_validate(store.read_json(layout.monitoring_summary(result.run_id)))
    assert summary.evaluated_pairs == 2 * 76 * 24 - 3 - 1
    pairs = store.read_parquet(summary.tables["pairs"])
    scored = set(zip(pairs["area"], pairs["consumer_type"], pairs["datetime_utc"], strict=True))
    assert ("DK2", "441", pd.Timestamp(FIRST + timedelta(hours=10))) not in scored
    assert ("DK2", "441", pd.Timestamp(FIRST + timedelta(hours=11))) in scored


def test_repeated_run_changes_nothing(
    store: ObjectStore, model_settings: Settings, snapshot_path: Path
) -> None:
    newest = publish_history(store, model_settings, snapshot_path, days=1)
    first = monitor_and_publish(store, model_settings, newest, FIRST + DAY)
    assert first.summary.evaluated_pairs == 76 * 24
    before = {name: store.generation(name) for name in store.list("monitoring/")}
    second = monitor_and_publish(store, model_settings, newest, FIRST + DAY)

    assert first.created and not second.created and not second.pointer_moved
    assert "already published" in second.message
    assert {name: store.generation(name) for name in store.list("monitoring/")} == before
    assert len(before) == len(MONITORING_TABLES) + 2  # tables, summary, latest
    assert second.summary == first.summary


def test_concurrent_runs_of_the_same_hour_one_wins(
    store: ObjectStore, model_settings: Settings, snapshot_path: Path
) -> None:
    newest = publish_history(store, model_settings, snapshot_path, days=1)

    def run() -> MonitoringResult:
        own = ObjectStore.from_settings(model_settings)
        return monitor_and_publish(own, model_settings, newest, FIRST + DAY)

    results = run_at_once(run)
    assert sorted(r.created for r in results) == [False, True]
    winner = next(r for r in results if r.created)
    stored = MonitoringSummary.model_validate(store.read_json(winner.summary_name))
    assert stored == winner.summary  # the loser did not overwrite the summary
    assert store.read_json(layout.MONITORING_LATEST)["run_id"] == winner.run_id
    assert len(store.list("monitoring/")) == len(MONITORING_TABLES) + 2


def test_forecasts_after_the_snapshot_are_not_evaluated(
    store: ObjectStore, model_settings: Settings, snapshot_path: Path
) -> None:
    newest = publish_history(store, model_settings, snapshot_path)
    # the snapshot of 01-09T00 (the monitoring run is named after it) sees only the forecast of 01-08
    earlier = layout.run_id(FIRST + DAY)
    result = monitor_and_publish(store, model_settings, earlier, FIRST + DAY)
    assert result.run_id == earlier
    assert result.summary.evaluated_forecast_runs == 1
    assert result.summary.evaluated_pairs == 76 * 24
    later = monitor_and_publish(store, model_settings, newest, FIRST + 2 * DAY)
    assert later.run_id == newest and later.summary.evaluated_forecast_runs == 2
    # a late re-run of the earlier snapshot changes nothing and does not move latest back
    again = monitor_and_publish(store, model_settings, earlier, FIRST + 2 * DAY)
    assert not again.created
    assert store.read_json(layout.MONITORING_LATEST)["run_id"] == later.run_id


def test_no_forecasts_yet_is_a_valid_empty_summary(
    store: ObjectStore, settings: Settings, snapshot_path: Path
) -> None:
    run = store_cut_snapshot(store, settings, clean_frame(snapshot_path, FIRST, 72))
    result = monitor_and_publish(store, settings, run, FIRST)

    summary = result.summary
    assert summary.evaluated_pairs == 0 and summary.evaluated_forecast_runs == 0
    assert summary.overall_wape is None and summary.rolling_wape is None
    assert summary.needs_attention is False
    assert summary.reason == "no stored forecast has observations yet"
    assert summary.drift is None  # 72 h of data: no earlier window to compare the last week with
    for table, name in summary.tables.items():
        frame = store.read_parquet(name)
        assert frame.empty and tuple(frame.columns) == MONITORING_TABLES[table]
    assert store.read_json(layout.MONITORING_LATEST)["run_id"] == result.run_id


def test_stale_data_needs_attention(store: ObjectStore, settings: Settings, snapshot_path: Path) -> None:
    run = store_cut_snapshot(store, settings, clean_frame(snapshot_path, FIRST, 72))
    late = FIRST + timedelta(hours=settings.monitoring_age_limit_hours + 5)
    result = monitor_and_publish(store, settings, run, late)

    assert result.summary.needs_attention is True
    assert result.summary.freshness.age_hours == pytest.approx(settings.monitoring_age_limit_hours + 6)
    assert result.summary.reason is not None and result.summary.reason.startswith("data is stale")


def test_metric_definitions() -> None:
    observed = pd.Series([10.0, 0.0, 5.0])
    forecast = pd.Series([12.0, 1.0, 5.0])
    n, mape, wape = error_metrics(observed, forecast)
    assert n == 3
    assert wape == pytest.approx(3.0 / 15.0)  # sum|e| / sum|y|
    assert mape == pytest.approx((0.2 + 0.0) / 2)  # y == 0 skipped
    assert error_metrics(pd.Series([0.0]), pd.Series([1.0]))[1:] == (None, None)
    # the backtest's tables use the same definition; undefined is NaN there (a pandas table)
    from components.model.metrics import scores

    table_row = scores(observed.to_numpy(), forecast.to_numpy())
    assert (table_row["mape"], table_row["wape"]) == pytest.approx((mape, wape))
    assert np.isnan(scores(np.array([0.0]), np.array([1.0]))["wape"])


def test_psi_is_near_zero_without_drift_and_large_with_it() -> None:
    rng = np.random.default_rng(0)
    hours = pd.date_range("2023-01-01", periods=21 * 24, freq="h", tz="UTC")
    frames = []
    for area, level in (("DK1", 100.0), ("DK2", 5000.0)):  # very different levels: normalised per series
        frames.append(
            pd.DataFrame(
                {
                    schemas.DATETIME: hours,
                    schemas.AREA: area,
                    schemas.CONSUMER_TYPE: "111",
                    schemas.TARGET: level * (1 + 0.1 * rng.standard_normal(len(hours))),
                }
            )
        )
    stable = pd.concat(frames, ignore_index=True)
    drift = population_stability_index(stable, list(schemas.SERIES_KEYS))
    assert drift is not None and drift.psi < 0.1
    shifted = stable.copy()
    last_week = shifted[schemas.DATETIME] >= hours[-168]
    shifted.loc[last_week, schemas.TARGET] *= 1.3
    moved = population_stability_index(shifted, list(schemas.SERIES_KEYS))
    assert moved is not None and moved.psi > 0.25
    assert moved.current_start == hours[-168].to_pydatetime()
    assert moved.reference_end == moved.current_start


@pytest.mark.slow
def test_monitor_component_under_kfp_local(
    store: ObjectStore, model_settings: Settings, snapshot_path: Path, tmp_path: Path
) -> None:
    from kfp import local

    from tests.kfp_steps import executor_output, monitor_step

    newest = publish_history(store, model_settings, snapshot_path)
    root = tmp_path / "kfp"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    uri = store.uri(layout.feature_snapshot(model_settings.feature_group, 1, newest))
    monitor_step(uri=uri, run=newest, version=1, scheduled_time="2023-01-10T00:00:00Z")
    summary = MonitoringSummary.model_validate(store.read_json(layout.monitoring_summary(newest)))
    artifacts = executor_output(root, "monitor")["artifacts"]
    metrics = artifacts["metrics"]["metadata"]
    assert summary.overall_wape is not None and summary.evaluated_forecast_runs == 2
    assert metrics["overall_wape"] == pytest.approx(summary.overall_wape)
    assert metrics["needs_attention"] == float(summary.needs_attention)
    assert metrics["evaluated_pairs"] == summary.evaluated_pairs
    assert summary.drift is not None and metrics["drift_psi"] == pytest.approx(summary.drift.psi)
    page = Path(artifacts["summary"]["uri"]).read_text()
    assert "<svg" in page and newest in page
