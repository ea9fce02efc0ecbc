"""Fixtures of the dashboard tests (no tests here): what the API serves, and the API itself.

The data source of the AppTest tests (``tests/test_dashboard.py``) is one fixture, ``dashboard_data``:
deterministic, synthetic objects written with the real ``ObjectStore`` into a fresh bucket of the
session's GCS emulator (observations and the forecast via ``tests.api_fixtures``, monitoring with a
different error per series so that "worst first" means something), because those tests check
selections and error handling on data they control. The browser test (``tests/test_browser.py``)
shows real pipeline output instead (``real_pipeline`` in ``tests/pipeline_fixtures.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from components import layout
from components.contracts import MONITORING_TABLES, Drift, Freshness, MonitoringPointer, MonitoringSummary
from components.emulator import GcsEmulator
from components.schemas import AREA, AREAS, CONSUMER_TYPE, CONSUMER_TYPES, DATETIME
from components.storage import ObjectStore
from serving.settings import ApiSettings
from tests.api_fixtures import (
    REFERENCE,
    Key,
    monitoring_tables,
    move,
    serve_api,
    value,
    write_forecast,
    write_observations,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = REPO_ROOT / "dashboard" / "app.py"

SERIES: tuple[Key, ...] = tuple((a, c) for a in AREAS for c in CONSUMER_TYPES)
"""All 76 series, as the pipeline writes them."""
WORST: Key = ("DK2", "999")
"""The series the synthetic monitoring makes worst (30 % over-forecast)."""


def error_of(key: Key) -> float:
    """Relative over-forecast of a series in the synthetic monitoring tables (2 % ... 9.5 %, WORST 30 %)."""
    if key == WORST:
        return 0.30
    return 0.02 + 0.005 * (sum(map(ord, key[0] + key[1])) % 16)


def label(key: Key) -> str:
    """The readable series name the dashboard shows (codes with the API's labels)."""
    return f"{key[0]} {AREAS[key[0]]} / {key[1]} {CONSUMER_TYPES[key[1]]}"


@dataclass(frozen=True)
class DashboardData:
    """What the API of a dashboard test serves: its settings (bucket...), the store, the series."""

    settings: ApiSettings
    store: ObjectStore
    series: tuple[Key, ...]
    needs_attention: bool = False
    reason: str | None = None


def api_settings(bucket: str, data_dir: Path) -> ApiSettings:
    """API settings for one bucket; the refresher looks for new pointers every 0.2 s."""
    return ApiSettings(bucket=bucket, data_dir=data_dir, api_refresh_interval_s=0.2, api_log_level="warning")


def new_store(bucket: str) -> ObjectStore:
    store = ObjectStore(bucket)
    store.ensure_bucket()
    return store


def write_monitoring(
    store: ObjectStore,
    settings: ApiSettings,
    series: Sequence[Key],
    run_time: datetime = REFERENCE,
    runs: int = 4,
    needs_attention: bool = False,
    reason: str | None = None,
) -> MonitoringPointer:
    """The four monitoring tables, summary.json and the pointer, with ``error_of`` per series."""
    run = layout.run_id(run_time)
    scheduled = [run_time - timedelta(hours=24 * (runs - i)) for i in range(runs)]
    rows = []
    for index, when in enumerate(scheduled):
        drift = 1 + 0.01 * index  # accuracy gets a little worse run by run
        for key in series:
            for horizon in range(1, 25):
                moment = when + timedelta(hours=horizon)
                observed = value(key, moment)
                forecast = observed * (1 + error_of(key) * drift * (1 + horizon / 48))
                rows.append((layout.run_id(when), key[0], key[1], moment, horizon, forecast, observed))
    pairs = pd.DataFrame(rows, columns=list(MONITORING_TABLES["pairs"]))
    pairs[DATETIME] = pd.to_datetime(pairs[DATETIME], utc=True)
    pairs[AREA] = pairs[AREA].astype("string")
    pairs[CONSUMER_TYPE] = pairs[CONSUMER_TYPE].astype("string")
    tables = monitoring_tables(pairs)
    by_run = tables["by_forecast_run"]
    abs_err = (pairs["forecast"] - pairs["observed"]).abs()
    names = {}
    for table, frame in tables.items():
        names[table] = layout.monitoring_run(run, table)
        store.create_parquet(names[table], frame)
    total_wape = float(abs_err.sum() / pairs["observed"].sum())
    summary = MonitoringSummary(
        run_id=run,
        generated_at=datetime.now(UTC),
        evaluated_forecast_runs=runs,
        evaluated_pairs=len(pairs),
        overall_mape=float((abs_err / pairs["observed"]).mean()),
        overall_wape=total_wape,
        rolling_wape=float(by_run["wape"].iloc[-1]),
        wape_threshold=settings.monitoring_wape_threshold,
        needs_attention=needs_attention,
        reason=reason if needs_attention else None,
        freshness=Freshness(newest_observation=run_time, age_hours=1.0),
        drift=Drift(
            psi=0.04,
            reference_start=run_time - timedelta(days=28),
            reference_end=run_time - timedelta(days=7),
            current_start=run_time - timedelta(days=7),
            current_end=run_time,
        ),
        tables=names,
    )
    store.create_json(layout.monitoring_summary(run), summary.model_dump(mode="json"))
    pointer = MonitoringPointer(
        run_id=run, summary=layout.monitoring_summary(run), generated_at=summary.generated_at
    )
    move(store, layout.MONITORING_LATEST, pointer.model_dump(mode="json"))
    return pointer


def populate(
    bucket: str,
    data_dir: Path,
    series: Sequence[Key] = SERIES,
    needs_attention: bool = False,
    reason: str | None = None,
) -> DashboardData:
    """A fresh bucket with a feature snapshot, a forecast with a band, and a monitoring run."""
    settings = api_settings(bucket, data_dir)
    store = new_store(bucket)
    write_observations(store, settings, series=series)
    write_forecast(store, settings, series=series, model_version="7")
    write_monitoring(store, settings, series, needs_attention=needs_attention, reason=reason)
    return DashboardData(settings, store, tuple(series), needs_attention, reason)


def unique_bucket(tag: str) -> str:
    return f"dash-{tag}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def dashboard_data(gcs_emulator: GcsEmulator, tmp_path_factory: pytest.TempPathFactory) -> DashboardData:
    """The data source of the dashboard tests (override to serve real pipeline output)."""
    return populate(unique_bucket("main"), tmp_path_factory.mktemp("dashboard-data"))


@pytest.fixture(scope="module")
def api_url(dashboard_data: DashboardData) -> Iterator[str]:
    """A real API process (uvicorn in a thread) serving ``dashboard_data``."""
    with serve_api(dashboard_data.settings) as url:
        yield url
