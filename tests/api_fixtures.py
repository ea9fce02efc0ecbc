"""Objects the pipeline writes, produced with the real ObjectStore, and an API server in a thread.

Used by the API tests, the dashboard tests and ``bench/api.py``. Every object follows
``components/layout.py`` + ``components/contracts.py`` + ``components/schemas.py``; the values are
synthetic but deterministic (a daily sine per series).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from components import layout
from components.contracts import (
    MONITORING_TABLES,
    FeaturePointer,
    ForecastMetadata,
    ForecastPointer,
    Freshness,
    MonitoringPointer,
    MonitoringSummary,
)
from components.emulator import free_port
from components.schemas import AREA, AREAS, CONSUMER_TYPE, CONSUMER_TYPES, DATETIME, TARGET
from components.settings import Settings
from components.storage import ObjectStore, parquet_bytes

Key = tuple[str, str]

SMALL_SERIES: tuple[Key, ...] = (("DK1", "111"), ("DK1", "441"), ("DK2", "111"), ("DK2", "999"))
ALL_SERIES: tuple[Key, ...] = tuple((a, c) for a in AREAS for c in CONSUMER_TYPES)
REFERENCE = datetime(2023, 1, 17, 23, tzinfo=UTC)
"""Newest observed hour of the fixtures (the shared snapshot's last hour)."""


def level(key: Key) -> float:
    return 500.0 + 10.0 * (sum(map(ord, key[0] + key[1])) % 50)


def value(key: Key, moment: datetime) -> float:
    return round(level(key) * (1 + 0.3 * math.sin(2 * math.pi * moment.hour / 24)), 3)


def move(store: ObjectStore, name: str, body: dict[str, Any]) -> int:
    """Move a pointer by compare-and-swap from its current generation (the pipeline's way)."""
    current = store.generation(name)
    return store.move_pointer(name, body, current)


def _hours(end: datetime, count: int) -> list[datetime]:
    return [end - timedelta(hours=count - 1 - i) for i in range(count)]


def write_observations(
    store: ObjectStore,
    settings: Settings,
    end: datetime = REFERENCE,
    hours: int = 192,
    series: Sequence[Key] = SMALL_SERIES,
    validation: Any = None,
) -> FeaturePointer:
    """A feature snapshot of ``hours`` hours ending at ``end`` (inclusive), its manifest, the pointer."""
    times = _hours(end, hours)
    frame = pd.DataFrame(
        [(t, a, c, value((a, c), t)) for a, c in series for t in times],
        columns=[DATETIME, AREA, CONSUMER_TYPE, TARGET],
    )
    frame[DATETIME] = pd.to_datetime(frame[DATETIME], utc=True)
    frame[AREA] = frame[AREA].astype("string")
    frame[CONSUMER_TYPE] = frame[CONSUMER_TYPE].astype("string")
    run = layout.run_id(end)
    group, version = settings.feature_group, settings.feature_group_version
    snapshot = layout.feature_snapshot(group, version, run)
    manifest_name = layout.feature_manifest(group, version, run)
    data = parquet_bytes(frame)
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    window_start, window_end = times[0], end + timedelta(hours=1)
    store.create(snapshot, data, "application/vnd.apache.parquet")
    manifest = {
        "run_id": run,
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "rows": len(frame),
        "series": len(series),
        "sha256": sha,
        "validation": validation
        if validation is not None
        else {"success": True, "statistics": {"evaluated_expectations": 7, "successful_expectations": 7}},
    }
    store.create_json(manifest_name, manifest)
    pointer = FeaturePointer(
        run_id=run,
        snapshot=snapshot,
        manifest=manifest_name,
        window_start=window_start,
        window_end=window_end,
        rows=len(frame),
        sha256=sha,
        updated_at=datetime.now(UTC),
    )
    move(store, layout.feature_latest(group, version), pointer.model_dump(mode="json"))
    return pointer


def forecast_frame(
    scheduled: datetime,
    series: Sequence[Key] = SMALL_SERIES,
    band: bool = True,
    offset: float = 0.0,
    horizon: int = 24,
) -> pd.DataFrame:
    rows = []
    for key in series:
        for h in range(1, horizon + 1):
            moment = scheduled + timedelta(hours=h)
            f = value(key, moment) + offset
            rows.append(
                (key[0], key[1], moment, h, f, f * 0.9 if band else np.nan, f * 1.1 if band else np.nan)
            )
    frame = pd.DataFrame(
        rows,
        columns=[AREA, CONSUMER_TYPE, DATETIME, "horizon", "forecast", "forecast_lower", "forecast_upper"],
    )
    frame[DATETIME] = pd.to_datetime(frame[DATETIME], utc=True)
    frame[AREA] = frame[AREA].astype("string")
    frame[CONSUMER_TYPE] = frame[CONSUMER_TYPE].astype("string")
    return frame


def write_forecast(
    store: ObjectStore,
    settings: Settings,
    scheduled: datetime = REFERENCE,
    series: Sequence[Key] = SMALL_SERIES,
    band: bool = True,
    offset: float = 0.0,
    model_version: str = "1",
    generated_at: datetime | None = None,
    frame: pd.DataFrame | None = None,
    parquet: bytes | None = None,
) -> ForecastPointer:
    """forecast.parquet + metadata.json of one run, then the ``forecasts/latest.json`` pointer.

    ``frame`` or raw ``parquet`` bytes replace the generated forecast (to write broken objects).
    """
    run = layout.run_id(scheduled)
    generated = generated_at or datetime.now(UTC)
    table = frame if frame is not None else forecast_frame(scheduled, series, band, offset, settings.horizon)
    data = parquet if parquet is not None else parquet_bytes(table)
    store.create(layout.forecast_run(run), data, "application/vnd.apache.parquet")
    metadata = ForecastMetadata(
        run_id=run,
        scheduled_time=scheduled,
        generated_at=generated,
        model_name=settings.model_name,
        model_version=model_version,
        feature_snapshot=layout.feature_snapshot(settings.feature_group, settings.feature_group_version, run),
        rows=len(table),
        series=len(series),
        horizon=settings.horizon,
        has_band=band,
    )
    store.create_json(layout.forecast_metadata(run), metadata.model_dump(mode="json"))
    pointer = ForecastPointer(
        run_id=run,
        forecast=layout.forecast_run(run),
        metadata=layout.forecast_metadata(run),
        generated_at=generated,
        model_version=model_version,
    )
    move(store, layout.FORECAST_LATEST, pointer.model_dump(mode="json"))
    return pointer


def monitoring_tables(pairs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The MONITORING_TABLES computed from forecast/observation pairs (fixture data for the API)."""
    work = pairs.assign(_err=(pairs["forecast"] - pairs["observed"]).abs())
    work["_ape"] = work["_err"] / work["observed"]

    def aggregate(keys: list[str]) -> pd.DataFrame:
        out = work.groupby(keys, as_index=False).agg(
            n=("observed", "size"), mape=("_ape", "mean"), err=("_err", "sum"), obs=("observed", "sum")
        )
        out["wape"] = out["err"] / out["obs"]
        return out.drop(columns=["err", "obs"])

    by_run = aggregate(["run_id"])
    by_run["scheduled_time"] = pd.to_datetime(
        [datetime.strptime(r, "%Y%m%dT%H%MZ").replace(tzinfo=UTC) for r in by_run["run_id"]], utc=True
    )
    return {
        "by_forecast_run": by_run[list(MONITORING_TABLES["by_forecast_run"])],
        "by_series": aggregate([AREA, CONSUMER_TYPE])[list(MONITORING_TABLES["by_series"])],
        "by_horizon": aggregate(["horizon"])[list(MONITORING_TABLES["by_horizon"])],
        "pairs": pairs[list(MONITORING_TABLES["pairs"])],
    }


def write_monitoring(
    store: ObjectStore,
    settings: Settings,
    run_time: datetime = REFERENCE,
    series: Sequence[Key] = SMALL_SERIES,
    runs: int = 3,
    needs_attention: bool = False,
) -> MonitoringPointer:
    """The four monitoring tables, summary.json and ``monitoring/latest.json`` of one monitoring run."""
    run = layout.run_id(run_time)
    sched = [run_time - timedelta(hours=24 * (runs - i)) for i in range(runs)]
    pairs = []
    for s in sched:
        for key in series:
            for h in range(1, 25):
                moment = s + timedelta(hours=h)
                observed = value(key, moment)
                pairs.append((layout.run_id(s), key[0], key[1], moment, h, observed * 1.05, observed))
    pair_frame = pd.DataFrame(pairs, columns=list(MONITORING_TABLES["pairs"]))
    pair_frame[DATETIME] = pd.to_datetime(pair_frame[DATETIME], utc=True)
    tables = monitoring_tables(pair_frame)
    names = {}
    for table, frame in tables.items():
        name = layout.monitoring_run(run, table)
        store.create_parquet(name, frame)
        names[table] = name
    wape = float(tables["by_forecast_run"]["wape"].mean())
    summary = MonitoringSummary(
        run_id=run,
        generated_at=datetime.now(UTC),
        evaluated_forecast_runs=runs,
        evaluated_pairs=len(pair_frame),
        overall_mape=float(
            ((pair_frame["forecast"] - pair_frame["observed"]).abs() / pair_frame["observed"]).mean()
        ),
        overall_wape=wape,
        rolling_wape=wape,
        wape_threshold=settings.monitoring_wape_threshold,
        needs_attention=needs_attention,
        reason="rolling WAPE above threshold" if needs_attention else None,
        freshness=Freshness(newest_observation=run_time, age_hours=1.0),
        tables=names,
    )
    store.create_json(layout.monitoring_summary(run), summary.model_dump(mode="json"))
    pointer = MonitoringPointer(
        run_id=run, summary=layout.monitoring_summary(run), generated_at=summary.generated_at
    )
    move(store, layout.MONITORING_LATEST, pointer.model_dump(mode="json"))
    return pointer


@dataclass(frozen=True)
class Written:
    observations: FeaturePointer
    forecast: ForecastPointer
    monitoring: MonitoringPointer | None


def write_all(
    store: ObjectStore,
    settings: Settings,
    series: Sequence[Key] = SMALL_SERIES,
    monitoring: bool = True,
    end: datetime = REFERENCE,
) -> Written:
    """Observations ending at ``end``, the forecast scheduled at ``end`` and (optionally) monitoring."""
    return Written(
        observations=write_observations(store, settings, end=end, series=series),
        forecast=write_forecast(store, settings, scheduled=end, series=series),
        monitoring=write_monitoring(store, settings, run_time=end, series=series) if monitoring else None,
    )


# --- a real API server ----------------------------------------------------------------------------
@contextmanager
def serve_api(settings: Any, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """Run ``serving.app.create_app(settings)`` with uvicorn in a thread; yield its base URL."""
    import uvicorn

    from serving.app import create_app

    port = port or free_port()
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the API did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
