"""Objects the pipeline writes, produced with the real ObjectStore, and an API server in a thread.

Used by the API tests, the dashboard tests and ``bench/api.py``. Every object follows
``components/layout.py`` + ``components/contracts.py`` and the shapes of the configured dataset's
spec (``settings.spec``): the clean feature frame ``spec.feature_columns``, the forecast
``spec.forecast_columns``, the monitoring tables ``monitoring_tables(spec.key_names)``. The values
are synthetic but deterministic (a daily sine per series), in MWh.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from components import layout
from components.contracts import (
    Drift,
    FeatureManifest,
    FeaturePointer,
    ForecastMetadata,
    ForecastPointer,
    Freshness,
    MonitoringPointer,
    MonitoringSummary,
    RuleResult,
    ValidationReport,
    ValidationWindow,
    monitoring_tables,
)
from components.datasets import DATETIME, SPECS, TARGET, UNIT, DatasetSpec
from components.settings import Settings, StorageSettings
from components.storage import ObjectStore, parquet_bytes
from devtools.emulator import free_port

Key = tuple[str, ...]
DE35, BALANCE, INDUSTRY = "ConsumptionDE35Hour", "ElectricityBalanceNonv", "ConsumptionDK3619IndustryHour"
assert {DE35, BALANCE, INDUSTRY} <= set(SPECS)

INDUSTRY_TITLES = {
    "CA": "Food, beverages and tobacco",
    "GA": "Wholesale trade",
    "JA": "Publishing, film and broadcasting",
    "OA": "Public administration",
    "PR": "Private households",
    "QA": "Health care",
}
"""A few DK36 codes with titles in the documented schema (the open key's labels, learned from data)."""

SMALL: dict[str, tuple[Key, ...]] = {
    DE35: (("DK1", "111"), ("DK1", "441"), ("DK2", "111"), ("DK2", "999")),
    BALANCE: (("DK1",), ("DK2",)),
    INDUSTRY: (("CA",), ("PR",), ("QA",)),
}
"""A few series of each dataset (the default of the writers below)."""
SMALL_SERIES = SMALL[DE35]
REFERENCE = datetime(2023, 1, 17, 23, tzinfo=UTC)
"""Newest observed hour of the fixtures (the shared snapshot's last hour)."""


def all_series(spec: DatasetSpec) -> tuple[Key, ...]:
    """Every series of a dataset: the product of its closed code lists (the fixture's DK36 codes)."""
    codes = [list(key.codes) if key.closed else sorted(INDUSTRY_TITLES) for key in spec.keys]
    return tuple(itertools.product(*codes))


ALL_SERIES = all_series(SPECS[DE35])


def learned_labels(spec: DatasetSpec) -> dict[str, dict[str, str]]:
    """What the pipeline learns from the records for the open keys (the DK36 titles)."""
    return {key.name: dict(INDUSTRY_TITLES) for key in spec.keys if not key.closed}


def level(key: Key) -> float:
    return 500.0 + 10.0 * (sum(map(ord, "".join(key))) % 50)


def value(key: Key, moment: datetime) -> float:
    return round(level(key) * (1 + 0.3 * math.sin(2 * math.pi * moment.hour / 24)), 3)


def wait_for(
    predicate: Callable[[], bool], what: str, timeout_s: float = 20.0, every_s: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every_s)
    raise AssertionError(f"timed out waiting for {what}")


def move(store: ObjectStore, name: str, body: dict[str, Any]) -> int:
    """Move a pointer by compare-and-swap from its current generation (the pipeline's way)."""
    current = store.generation(name)
    return store.move_pointer(name, body, current)


def _hours(end: datetime, count: int) -> list[datetime]:
    return [end - timedelta(hours=count - 1 - i) for i in range(count)]


def _typed(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    frame[DATETIME] = pd.to_datetime(frame[DATETIME], utc=True)
    for name in spec.key_names:
        frame[name] = frame[name].astype("string")
    return frame


def write_observations(
    store: ObjectStore,
    settings: StorageSettings,
    end: datetime = REFERENCE,
    hours: int = 192,
    series: Sequence[Key] | None = None,
    rules: Sequence[RuleResult] | None = None,
    report_facts: Mapping[str, Any] | None = None,
) -> FeaturePointer:
    """A feature snapshot of ``hours`` hours ending at ``end`` (inclusive), its manifest (with a
    validation report of ``rules``, by default two that pass, and ``report_facts``, e.g. its
    quarantined points), the pointer."""
    spec = settings.spec
    series = SMALL[spec.name] if series is None else series
    times = _hours(end, hours)
    frame = pd.DataFrame(
        [(t, *key, value(key, t)) for key in series for t in times], columns=list(spec.feature_columns)
    )
    frame = _typed(frame, spec)
    run = layout.run_id(end)
    group, version = settings.feature_group, settings.feature_group_version
    snapshot = layout.feature_snapshot(group, version, run)
    manifest_name = layout.feature_manifest(group, version, run)
    data = parquet_bytes(frame)
    sha = hashlib.sha256(data).hexdigest()
    store.create(snapshot, data, "application/vnd.apache.parquet")
    window_start, window_end = times[0], end + timedelta(hours=1)
    report = validation_report(spec, window_start, window_end, len(frame), len(series), rules, report_facts)
    manifest = FeatureManifest(
        group=group,
        version=version,
        run_id=run,
        snapshot=snapshot,
        window_start=window_start,
        window_end=window_end,
        hours=hours,
        rows=len(frame),
        series=len(series),
        columns={c: str(frame[c].dtype) for c in frame.columns},
        sha256=sha,
        source="synthetic",
        validation_result=report,
        created_at=datetime.now(UTC),
        package_version="test",
        dataset=spec.name,
        series_keys=list(spec.key_names),
    ).model_dump(mode="json")
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
        dataset=spec.name,
        series_keys=list(spec.key_names),
    )
    move(store, layout.feature_latest(group, version), pointer.model_dump(mode="json"))
    return pointer


def passing_rules() -> list[RuleResult]:
    return [
        RuleResult(
            rule="not_null",
            column=TARGET,
            success=True,
            check="expect_column_values_to_not_be_null",
            engine="great_expectations",
            element_count=10,
        ),
        RuleResult(
            rule="unique_key",
            success=True,
            check="expect_compound_columns_to_be_unique",
            engine="great_expectations",
        ),
    ]


def validation_report(
    spec: DatasetSpec,
    start: datetime,
    end: datetime,
    rows: int,
    series: int,
    rules: Sequence[RuleResult] | None = None,
    facts: Mapping[str, Any] | None = None,
) -> ValidationReport:
    """A report as the validate step writes it, its counts derived from ``rules``."""
    return ValidationReport.from_rules(
        list(passing_rules() if rules is None else rules),
        suite=f"{spec.name} data contract",
        dataset=spec.name,
        window=ValidationWindow(start=start, end=end),
        rows=rows,
        series=series,
        **(facts or {}),
    )


def forecast_frame(
    spec: DatasetSpec,
    scheduled: datetime,
    series: Sequence[Key] | None = None,
    band: bool = True,
    offset: float = 0.0,
    horizon: int = 24,
) -> pd.DataFrame:
    rows = []
    for key in SMALL[spec.name] if series is None else series:
        for h in range(1, horizon + 1):
            moment = scheduled + timedelta(hours=h)
            f = value(key, moment) + offset
            rows.append((*key, moment, h, f, f * 0.9 if band else np.nan, f * 1.1 if band else np.nan))
    return _typed(pd.DataFrame(rows, columns=list(spec.forecast_columns)), spec)


def as_pipeline_settings(settings: StorageSettings) -> Settings:
    """The pipeline's settings on the same data (an API's settings do not carry horizon, model name...)."""
    if isinstance(settings, Settings):
        return settings
    return Settings(**settings.model_dump(include=set(StorageSettings.model_fields)))


def write_forecast(
    store: ObjectStore,
    settings: StorageSettings,
    scheduled: datetime = REFERENCE,
    series: Sequence[Key] | None = None,
    band: bool = True,
    offset: float = 0.0,
    model_version: str = "1",
    generated_at: datetime | None = None,
    frame: pd.DataFrame | None = None,
    parquet: bytes | None = None,
    metadata: dict[str, Any] | None = None,
) -> ForecastPointer:
    """forecast.parquet + metadata.json of one run, then the ``forecasts/latest.json`` pointer.

    ``frame`` or raw ``parquet`` bytes replace the generated forecast, ``metadata`` overrides fields
    of its metadata (to write broken objects).
    """
    spec = settings.spec
    settings = as_pipeline_settings(settings)
    series = SMALL[spec.name] if series is None else series
    run = layout.run_id(scheduled)
    generated = generated_at or datetime.now(UTC)
    table = (
        frame
        if frame is not None
        else forecast_frame(spec, scheduled, series, band, offset, settings.horizon)
    )
    data = parquet if parquet is not None else parquet_bytes(table)
    store.create(layout.forecast_run(run), data, "application/vnd.apache.parquet")
    written = ForecastMetadata(
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
        dataset=spec.name,
        series_keys=list(spec.key_names),
        data_end=scheduled,
        forecast_start=scheduled + timedelta(hours=1),
        unit=UNIT,
        labels=learned_labels(spec),
    ).model_copy(update=metadata or {})
    store.create_json(layout.forecast_metadata(run), written.model_dump(mode="json"))
    pointer = ForecastPointer(
        run_id=run,
        forecast=layout.forecast_run(run),
        metadata=layout.forecast_metadata(run),
        generated_at=generated,
        model_version=model_version,
    )
    move(store, layout.FORECAST_LATEST, pointer.model_dump(mode="json"))
    return pointer


def aggregate_pairs(pairs: pd.DataFrame, keys: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The monitoring tables computed from forecast/observation pairs (fixture data for the API)."""
    columns = monitoring_tables(tuple(keys))
    work = pairs.assign(_err=(pairs["forecast"] - pairs["observed"]).abs())
    work["_ape"] = work["_err"] / work["observed"]
    work["_inside"] = work["observed"].between(work["forecast_lower"], work["forecast_upper"])
    work["_pinball"] = 0.0
    for column, q in (("forecast_lower", 0.1), ("forecast", 0.5), ("forecast_upper", 0.9)):
        diff = work["observed"] - work[column]
        work["_pinball"] += np.maximum(q * diff, (q - 1) * diff) / 3

    def aggregate(by: list[str]) -> pd.DataFrame:
        out = work.groupby(by, as_index=False).agg(
            n=("observed", "size"),
            mape=("_ape", "mean"),
            err=("_err", "sum"),
            obs=("observed", "sum"),
            coverage_80=("_inside", "mean"),
            loss=("_pinball", "sum"),
        )
        out["wape"] = out["err"] / out["obs"]
        out["pinball"] = out["loss"] / out["obs"]
        return out.drop(columns=["err", "obs", "loss"])

    by_run = aggregate(["run_id"])
    by_run["scheduled_time"] = pd.to_datetime(
        [datetime.strptime(r, "%Y%m%dT%H%MZ").replace(tzinfo=UTC) for r in by_run["run_id"]], utc=True
    )
    return {
        "by_forecast_run": by_run[list(columns["by_forecast_run"])],
        "by_series": aggregate(list(keys))[list(columns["by_series"])],
        "by_horizon": aggregate(["horizon"])[list(columns["by_horizon"])],
        "pairs": pairs[list(columns["pairs"])],
    }


def five_percent(_key: Key, _run: int, _horizon: int) -> float:
    return 0.05


def write_monitoring(
    store: ObjectStore,
    settings: StorageSettings,
    run_time: datetime = REFERENCE,
    series: Sequence[Key] | None = None,
    runs: int = 3,
    needs_attention: bool = False,
    reason: str | None = None,
    error: Callable[[Key, int, int], float] = five_percent,
    drift: bool = False,
) -> MonitoringPointer:
    """The four monitoring tables, summary.json and ``monitoring/latest.json`` of one monitoring run.

    ``error(key, run index, horizon)`` is the relative over-forecast of each pair (5 % by default).
    """
    spec = settings.spec
    series = SMALL[spec.name] if series is None else series
    run = layout.run_id(run_time)
    scheduled = [run_time - timedelta(hours=24 * (runs - i)) for i in range(runs)]
    rows = []
    for index, when in enumerate(scheduled):
        for key in series:
            for h in range(1, 25):
                moment = when + timedelta(hours=h)
                observed = value(key, moment)
                forecast = observed * (1 + error(key, index, h))
                band = (forecast * 0.9, forecast * 1.1)
                rows.append((layout.run_id(when), *key, moment, h, forecast, *band, observed))
    pairs = _typed(pd.DataFrame(rows, columns=list(monitoring_tables(spec.key_names)["pairs"])), spec)
    tables = aggregate_pairs(pairs, spec.key_names)
    names = {}
    for table, frame in tables.items():
        names[table] = layout.monitoring_run(run, table)
        store.create_parquet(names[table], frame)
    abs_err = (pairs["forecast"] - pairs["observed"]).abs()
    summary = MonitoringSummary(
        run_id=run,
        generated_at=datetime.now(UTC),
        evaluated_forecast_runs=runs,
        evaluated_pairs=len(pairs),
        overall_mape=float((abs_err / pairs["observed"]).mean()),
        overall_wape=float(abs_err.sum() / pairs["observed"].sum()),
        rolling_wape=float(tables["by_forecast_run"]["wape"].iloc[-1]),
        wape_threshold=as_pipeline_settings(settings).monitoring_wape_threshold,
        rolling_coverage_80=float(tables["by_forecast_run"]["coverage_80"].iloc[-1]),
        rolling_pinball=float(tables["by_forecast_run"]["pinball"].iloc[-1]),
        coverage_range=(0.7, 0.9),
        needs_attention=needs_attention,
        reason=(reason or "rolling WAPE above threshold") if needs_attention else None,
        freshness=Freshness(newest_observation=run_time, age_hours=1.0),
        drift=Drift(
            psi=0.04,
            reference_start=run_time - timedelta(days=28),
            reference_end=run_time - timedelta(days=7),
            current_start=run_time - timedelta(days=7),
            current_end=run_time,
        )
        if drift
        else None,
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
    settings: StorageSettings,
    series: Sequence[Key] | None = None,
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
    """Run ``serving.main.create_app(settings)`` with uvicorn in a thread; yield its base URL."""
    import uvicorn

    from serving.main import create_app

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
