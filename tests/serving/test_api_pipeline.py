"""The API serves what the pipeline's own stages write: the real feature store (extract, data
contract, snapshot + manifest from the shared data) and the real monitoring step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from components.settings import Settings
from components.storage import ObjectStore
from serving.main import create_app
from serving.models import build_models
from serving.settings import ApiSettings
from tests.api_fixtures import ALL_SERIES, write_forecast

V1 = "/api/v1"
MODELS = build_models(ApiSettings().spec)
REFERENCE = datetime(2023, 1, 18, tzinfo=UTC)


def test_serves_the_real_feature_store_and_monitoring_outputs(
    settings: Settings, store: ObjectStore, snapshot_path: Path
) -> None:
    # the pipeline's own stages (imported here: they are not the API's dependencies)
    from components.extract import extract
    from components.feature_store import write_snapshot
    from components.monitoring import monitor_and_publish
    from components.validation import check_contract, enforce

    real = settings.model_copy(update={"snapshot": snapshot_path})
    raw = extract(real, REFERENCE.isoformat(), 0, 9)
    outcome = check_contract(raw.frame, raw.window, real.spec)
    write_snapshot(store, real, enforce(outcome), raw.window, outcome.report, raw.source)
    # two past forecasts inside the window (evaluated by monitoring) and the current one
    for days in (2, 1, 0):
        write_forecast(store, real, scheduled=REFERENCE - timedelta(days=days), series=ALL_SERIES)
    monitor_and_publish(store, real, None, REFERENCE)

    api = ApiSettings(bucket=settings.bucket, data_dir=settings.data_dir, api_refresh_interval_s=5)
    with TestClient(create_app(api)) as client:
        assert client.get(f"{V1}/ready").json()["ready"] is True
        assert client.get(f"{V1}/meta").json()["errors"] == []

        series = MODELS.series_forecast.model_validate(client.get(f"{V1}/forecasts/DK1/111").json())
        assert len(series.observations) == 168
        assert series.observations[-1].datetime_utc == REFERENCE - timedelta(hours=1)
        assert series.forecast[0].datetime_utc == REFERENCE + timedelta(hours=1)
        assert all(p.energy_consumption >= 0 for p in series.observations)

        quality = MODELS.quality.model_validate(client.get(f"{V1}/quality").json())
        assert quality.series == 76 and quality.rows == 76 * 9 * 24
        assert quality.validation.success and quality.validation.rows == quality.rows
        assert "validation_result" not in quality.manifest and quality.manifest["sha256"] == quality.sha256
        assert {q.hours for q in quality.coverage} == {168}

        metrics = MODELS.monitoring_metrics.model_validate(client.get(f"{V1}/monitoring/metrics").json())
        assert len(metrics.by_forecast_run) == 2  # the current forecast has no observations yet
        assert len(metrics.by_series) == 76 and metrics.overall_wape is not None
        pairs = MODELS.monitoring_series.model_validate(client.get(f"{V1}/monitoring/series/DK2/111").json())
        assert pairs.metrics is not None and len(pairs.pairs) == pairs.metrics.n > 0
