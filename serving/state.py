"""The in-memory store of what the API serves, and the generation-based refresher.

Three sources are read from the bucket: the forecast (``forecasts/latest.json``), the observations
(the feature group's ``latest.json``) and monitoring (``monitoring/latest.json``). Each refresh does a
metadata-only generation check of the three pointers; only a pointer whose generation changed is
read, validated and turned into pre-serialised bodies. A new :class:`View` is then swapped in as one
reference assignment, so a request always sees one consistent view. A source that fails to load
keeps its last good version in service; the failure is logged and kept in :attr:`ServingState.errors`.

All of this is blocking code: the app calls :meth:`ServingState.refresh` in a worker thread.
Object names come only from settings and from the pointers the pipeline wrote, never from a request.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import pandas as pd
from google.api_core import exceptions as gexc
from pydantic import BaseModel, ValidationError

from components import layout
from components.contracts import (
    MONITORING_TABLES,
    FeaturePointer,
    ForecastMetadata,
    ForecastPointer,
    MonitoringPointer,
    MonitoringSummary,
)
from components.schemas import (
    AREA,
    AREAS,
    CONSUMER_TYPE,
    CONSUMER_TYPES,
    DATETIME,
    FEATURE_COLUMNS,
    FORECAST_COLUMNS,
    TARGET,
    series_label,
)
from components.storage import ObjectStore
from components.version import __version__
from serving.models import (
    DriftInfo,
    ForecastMeta,
    ForecastPoint,
    ForecastRow,
    ForecastsResponse,
    FreshnessInfo,
    HorizonMetric,
    LoadErrorInfo,
    MetaResponse,
    MonitoringMeta,
    MonitoringMetricsResponse,
    MonitoringSeriesResponse,
    ObservationPoint,
    ObservationsMeta,
    PairPoint,
    QualityResponse,
    RunMetric,
    SeriesForecastResponse,
    SeriesMetric,
    SeriesQuality,
)
from serving.settings import ApiSettings

log = logging.getLogger(__name__)

Source = Literal["forecast", "observations", "monitoring"]
SOURCES: tuple[Source, ...] = ("forecast", "observations", "monitoring")
Key = tuple[str, str]

GZIP_LEVEL = 6
M = TypeVar("M", bound=BaseModel)


class BadObjectError(Exception):
    """An object exists but cannot be used (unreadable, not the contract); retrying will not help."""


# --- storage access with a bounded retry ----------------------------------------------------------
class Reader:
    """Metadata checks and reads through an :class:`ObjectStore`, bounded by a deadline.

    The store's own methods retry for up to two minutes; the API must notice an unreachable bucket
    within ``api_storage_timeout_s`` so that it can answer 503 instead of hanging.
    """

    def __init__(self, store: ObjectStore, timeout_s: float) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        self.store = store
        self.timeout_s = timeout_s
        self.retry = DEFAULT_RETRY.with_timeout(timeout_s)

    def generation(self, name: str) -> int | None:
        blob = self.store.bucket.get_blob(self.store.key(name), retry=self.retry, timeout=self.timeout_s)
        return None if blob is None else int(blob.generation)

    def read(self, name: str, generation: int | None = None) -> bytes:
        blob = self.store.bucket.blob(self.store.key(name), generation=generation)
        try:
            data: bytes = blob.download_as_bytes(retry=self.retry, timeout=self.timeout_s)
        except gexc.NotFound as err:
            raise BadObjectError(f"{self.store.uri(name)} does not exist") from err
        return data

    def read_model(self, name: str, model: type[M], generation: int | None = None) -> M:
        raw = self.read(name, generation)
        try:
            return model.model_validate_json(raw)
        except ValidationError as err:
            raise BadObjectError(
                f"{self.store.uri(name)} is not a valid {model.__name__}: {_short(err)}"
            ) from err

    def read_json_object(self, name: str) -> dict[str, Any]:
        raw = self.read(name)
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise BadObjectError(f"{self.store.uri(name)} is not valid JSON: {err}") from err
        if not isinstance(body, dict):
            raise BadObjectError(f"{self.store.uri(name)} is not a JSON object")
        return body

    def read_frame(self, name: str, columns: Iterable[str]) -> pd.DataFrame:
        raw = self.read(name)
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except Exception as err:
            raise BadObjectError(f"{self.store.uri(name)} is not a readable Parquet file: {err}") from err
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise BadObjectError(f"{self.store.uri(name)} lacks columns {missing}; has {list(frame.columns)}")
        return frame


def _short(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in err.errors()[:5])


# --- frame checks ---------------------------------------------------------------------------------
def _utc_column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    values = frame[column]
    try:
        if not isinstance(values.dtype, pd.DatetimeTZDtype):
            values = pd.to_datetime(values, utc=True)
        else:
            values = values.dt.tz_convert("UTC")
    except (ValueError, TypeError) as err:
        raise BadObjectError(f"{where}: column {column!r} is not a datetime: {err}") from err
    if values.isna().any():
        raise BadObjectError(f"{where}: column {column!r} has {int(values.isna().sum())} missing values")
    return values


def _codes(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    out = frame.copy()
    for column, valid in ((AREA, AREAS), (CONSUMER_TYPE, CONSUMER_TYPES)):
        out[column] = out[column].astype("string").str.strip()
        unknown = sorted(set(out[column].dropna()) - set(valid))
        if out[column].isna().any():
            raise BadObjectError(f"{where}: column {column!r} has missing values")
        if unknown:
            raise BadObjectError(f"{where}: unknown {column} codes {unknown[:5]}")
    return out


def _float_column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    try:
        return pd.to_numeric(frame[column], errors="raise").astype("float64")
    except (ValueError, TypeError) as err:
        raise BadObjectError(f"{where}: column {column!r} is not numeric: {err}") from err


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- loaded sources -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForecastData:
    generation: int
    pointer: ForecastPointer
    metadata: ForecastMetadata
    points: dict[Key, list[ForecastPoint]]


@dataclass(frozen=True)
class ObservationData:
    generation: int
    pointer: FeaturePointer
    manifest: dict[str, Any]
    points: dict[Key, list[ObservationPoint]]


@dataclass(frozen=True)
class MonitoringData:
    generation: int
    pointer: MonitoringPointer
    metrics: MonitoringMetricsResponse
    metrics_body: bytes
    series: dict[Key, MonitoringSeriesResponse]
    series_bodies: dict[Key, bytes]


def load_forecast(reader: Reader, generation: int) -> ForecastData:
    pointer = reader.read_model(layout.FORECAST_LATEST, ForecastPointer, generation)
    metadata = reader.read_model(pointer.metadata, ForecastMetadata)
    where = reader.store.uri(pointer.forecast)
    frame = reader.read_frame(pointer.forecast, FORECAST_COLUMNS)
    frame = _codes(frame, where)
    times = _utc_column(frame, DATETIME, where)
    values = {c: _float_column(frame, c, where) for c in ("forecast", "forecast_lower", "forecast_upper")}
    if values["forecast"].isna().any() or not values["forecast"].map(math.isfinite).all():
        raise BadObjectError(f"{where}: column 'forecast' has missing or infinite values")
    try:
        horizons = pd.to_numeric(frame["horizon"], errors="raise").astype("int64")
    except (ValueError, TypeError) as err:
        raise BadObjectError(f"{where}: column 'horizon' is not an integer: {err}") from err
    if len(frame) and (horizons.min() < 1 or horizons.max() > metadata.horizon):
        raise BadObjectError(f"{where}: horizon outside 1..{metadata.horizon}")
    table = pd.DataFrame(
        {
            AREA: frame[AREA],
            CONSUMER_TYPE: frame[CONSUMER_TYPE],
            DATETIME: times,
            "horizon": horizons,
            **values,
        }
    ).sort_values([AREA, CONSUMER_TYPE, DATETIME])
    if table.duplicated([AREA, CONSUMER_TYPE, DATETIME]).any():
        raise BadObjectError(f"{where}: duplicate (area, consumer_type, datetime_utc) rows")
    points: dict[Key, list[ForecastPoint]] = {}
    for (area, ctype), group in table.groupby([AREA, CONSUMER_TYPE], sort=True):
        points[(str(area), str(ctype))] = [
            ForecastPoint(
                datetime_utc=t.to_pydatetime(),
                horizon=int(h),
                forecast=float(f),
                forecast_lower=_finite(lo),
                forecast_upper=_finite(up),
            )
            for t, h, f, lo, up in zip(
                group[DATETIME],
                group["horizon"],
                group["forecast"],
                group["forecast_lower"],
                group["forecast_upper"],
                strict=True,
            )
        ]
    return ForecastData(generation, pointer, metadata, points)


def load_observations(reader: Reader, generation: int, settings: ApiSettings) -> ObservationData:
    name = layout.feature_latest(settings.feature_group, settings.feature_group_version)
    pointer = reader.read_model(name, FeaturePointer, generation)
    manifest = reader.read_json_object(pointer.manifest)
    where = reader.store.uri(pointer.snapshot)
    frame = reader.read_frame(pointer.snapshot, FEATURE_COLUMNS)
    frame = _codes(frame, where)
    table = pd.DataFrame(
        {
            AREA: frame[AREA],
            CONSUMER_TYPE: frame[CONSUMER_TYPE],
            DATETIME: _utc_column(frame, DATETIME, where),
            TARGET: _float_column(frame, TARGET, where),
        }
    )
    bad = ~table[TARGET].map(lambda v: math.isfinite(v))
    if bad.any():
        log.warning("%s: %d observations are missing or infinite; not served", where, int(bad.sum()))
        table = table[~bad]
    table = table.sort_values([AREA, CONSUMER_TYPE, DATETIME])
    window = timedelta(hours=settings.api_observation_hours)
    points: dict[Key, list[ObservationPoint]] = {}
    for (area, ctype), group in table.groupby([AREA, CONSUMER_TYPE], sort=True):
        newest = group[DATETIME].iloc[-1]
        recent = group[group[DATETIME] > newest - window]
        points[(str(area), str(ctype))] = [
            ObservationPoint(datetime_utc=t.to_pydatetime(), energy_consumption=float(v))
            for t, v in zip(recent[DATETIME], recent[TARGET], strict=True)
        ]
    return ObservationData(generation, pointer, manifest, points)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for record in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in record.items():
            if isinstance(v, float) and not math.isfinite(v):
                clean[str(k)] = None
            elif isinstance(v, pd.Timestamp):
                clean[str(k)] = v.to_pydatetime()
            elif v is pd.NA or v is pd.NaT:
                clean[str(k)] = None
            else:
                clean[str(k)] = v
        out.append(clean)
    return out


def load_monitoring(reader: Reader, generation: int) -> MonitoringData:
    pointer = reader.read_model(layout.MONITORING_LATEST, MonitoringPointer, generation)
    summary = reader.read_model(pointer.summary, MonitoringSummary)
    tables: dict[str, pd.DataFrame] = {}
    for table, columns in MONITORING_TABLES.items():
        name = summary.tables.get(table)
        if name is None:
            log.warning("%s names no %r table; serving it empty", reader.store.uri(pointer.summary), table)
            tables[table] = pd.DataFrame(columns=list(columns))
            continue
        frame = reader.read_frame(name, columns)
        where = reader.store.uri(name)
        for column in columns:
            if column in (AREA, CONSUMER_TYPE):
                frame[column] = frame[column].astype("string").str.strip()
            elif column in (DATETIME, "scheduled_time"):
                frame[column] = _utc_column(frame, column, where)
        tables[table] = frame
    try:
        by_run = [RunMetric.model_validate(r) for r in _records(tables["by_forecast_run"])]
        by_horizon = [HorizonMetric.model_validate(r) for r in _records(tables["by_horizon"])]
        by_series = [SeriesMetric.model_validate(r) for r in _records(tables["by_series"])]
        pair_records = _records(tables["pairs"])
    except ValidationError as err:
        raise BadObjectError(
            f"monitoring tables of {pointer.run_id} break the contract: {_short(err)}"
        ) from err
    by_run.sort(key=lambda m: (m.scheduled_time, m.run_id))
    by_horizon.sort(key=lambda m: m.horizon)
    by_series.sort(key=lambda m: (-(m.wape if m.wape is not None else -1.0), m.area, m.consumer_type))
    metrics = MonitoringMetricsResponse(
        run_id=summary.run_id,
        generated_at=summary.generated_at,
        evaluated_forecast_runs=summary.evaluated_forecast_runs,
        evaluated_pairs=summary.evaluated_pairs,
        overall_mape=_finite(summary.overall_mape),
        overall_wape=_finite(summary.overall_wape),
        rolling_wape=_finite(summary.rolling_wape),
        wape_threshold=summary.wape_threshold,
        needs_attention=summary.needs_attention,
        reason=summary.reason,
        freshness=FreshnessInfo.model_validate(summary.freshness.model_dump()),
        drift=None if summary.drift is None else DriftInfo.model_validate(summary.drift.model_dump()),
        by_forecast_run=by_run,
        by_horizon=by_horizon,
        by_series=by_series,
    )
    metric_of = {(m.area, m.consumer_type): m for m in by_series}
    grouped: dict[Key, list[PairPoint]] = {}
    try:
        for record in pair_records:
            if record.get("forecast") is None or record.get("observed") is None:
                continue  # a pair without both values says nothing about accuracy
            key = (str(record[AREA]), str(record[CONSUMER_TYPE]))
            grouped.setdefault(key, []).append(PairPoint.model_validate(record))
    except ValidationError as err:
        raise BadObjectError(
            f"monitoring pairs of {pointer.run_id} break the contract: {_short(err)}"
        ) from err
    series: dict[Key, MonitoringSeriesResponse] = {}
    for key in sorted(set(grouped) | set(metric_of)):
        rows = sorted(grouped.get(key, []), key=lambda p: (p.datetime_utc, p.horizon, p.run_id))
        series[key] = MonitoringSeriesResponse(
            area=key[0],
            consumer_type=key[1],
            label=series_label(*key),
            run_id=summary.run_id,
            metrics=metric_of.get(key),
            pairs=rows,
        )
    return MonitoringData(
        generation=generation,
        pointer=pointer,
        metrics=metrics,
        metrics_body=metrics.model_dump_json().encode(),
        series=series,
        series_bodies={k: v.model_dump_json().encode() for k, v in series.items()},
    )


# --- the served view ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeriesEntry:
    """One series, pre-serialised: the JSON body (plain and gzipped) and its /forecasts parts."""

    model: SeriesForecastResponse
    body: bytes
    body_gzip: bytes
    json_rows: bytes
    csv_rows: str


CSV_HEADER = ",".join(FORECAST_COLUMNS) + "\r\n"


def _csv_rows(area: str, ctype: str, points: list[ForecastPoint]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for p in points:
        writer.writerow(
            [
                area,
                ctype,
                _iso(p.datetime_utc),
                p.horizon,
                repr(p.forecast),
                "" if p.forecast_lower is None else repr(p.forecast_lower),
                "" if p.forecast_upper is None else repr(p.forecast_upper),
            ]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class View:
    """Everything one request needs, immutable; replaced as a whole by a refresh."""

    forecast: ForecastData | None = None
    observations: ObservationData | None = None
    monitoring: MonitoringData | None = None
    series: dict[Key, SeriesEntry] = field(default_factory=dict)
    forecasts_json: bytes = b""
    forecasts_json_gzip: bytes = b""
    forecasts_csv: bytes = b""
    forecasts_csv_gzip: bytes = b""
    quality_body: bytes | None = None
    etag: str | None = None

    def forecasts_header(self) -> bytes:
        """The JSON of ``GET /forecasts`` up to the opening bracket of ``rows`` (filled per request)."""
        assert self.forecast is not None
        return _forecasts_head(self.forecast, 0)

    def selected(self, areas: set[str] | None, ctypes: set[str] | None) -> list[tuple[Key, SeriesEntry]]:
        return [
            (key, entry)
            for key, entry in self.series.items()
            if (areas is None or key[0] in areas) and (ctypes is None or key[1] in ctypes)
        ]


def _forecasts_head(forecast: ForecastData, n_series: int) -> bytes:
    head = ForecastsResponse(
        run_id=forecast.pointer.run_id,
        generated_at=forecast.metadata.generated_at,
        model_version=forecast.metadata.model_version,
        has_band=forecast.metadata.has_band,
        series=n_series,
        rows=[],
    ).model_dump_json()
    assert head.endswith('"rows":[]}'), "rows must be the last field of ForecastsResponse"
    return head[: -len("]}")].encode()


def forecasts_json(forecast: ForecastData, entries: list[SeriesEntry]) -> bytes:
    rows = b",".join(e.json_rows for e in entries if e.json_rows)
    return _forecasts_head(forecast, len(entries)) + rows + b"]}"


def forecasts_csv(entries: list[SeriesEntry]) -> bytes:
    return (CSV_HEADER + "".join(e.csv_rows for e in entries)).encode()


def build_view(
    forecast: ForecastData | None,
    observations: ObservationData | None,
    monitoring: MonitoringData | None,
    settings: ApiSettings,
) -> View:
    series: dict[Key, SeriesEntry] = {}
    if forecast is not None:
        md = forecast.metadata
        for key, points in forecast.points.items():
            area, ctype = key
            model = SeriesForecastResponse(
                area=area,
                area_label=AREAS[area],
                consumer_type=ctype,
                consumer_type_label=CONSUMER_TYPES[ctype],
                label=series_label(area, ctype),
                run_id=forecast.pointer.run_id,
                generated_at=md.generated_at,
                model_version=md.model_version,
                has_band=md.has_band,
                observations=[] if observations is None else observations.points.get(key, []),
                forecast=points,
            )
            body = model.model_dump_json().encode()
            rows = [
                ForecastRow(area=area, consumer_type=ctype, **p.model_dump()).model_dump_json()
                for p in points
            ]
            series[key] = SeriesEntry(
                model=model,
                body=body,
                body_gzip=gzip.compress(body, GZIP_LEVEL, mtime=0),
                json_rows=",".join(rows).encode(),
                csv_rows=_csv_rows(area, ctype, points),
            )
    entries = list(series.values())
    all_json = b"" if forecast is None else forecasts_json(forecast, entries)
    all_csv = b"" if forecast is None else forecasts_csv(entries)
    quality = None if observations is None else _quality(observations, settings).model_dump_json().encode()
    parts = []
    if forecast is not None:
        parts.append(f"f{forecast.generation}")
    if observations is not None:
        parts.append(f"o{observations.generation}")
    if monitoring is not None:
        parts.append(f"m{monitoring.generation}")
    return View(
        forecast=forecast,
        observations=observations,
        monitoring=monitoring,
        series=series,
        forecasts_json=all_json,
        forecasts_json_gzip=gzip.compress(all_json, GZIP_LEVEL, mtime=0),
        forecasts_csv=all_csv,
        forecasts_csv_gzip=gzip.compress(all_csv, GZIP_LEVEL, mtime=0),
        quality_body=quality,
        etag=f'W/"{"-".join(parts)}"' if parts else None,
    )


def _quality(observations: ObservationData, settings: ApiSettings) -> QualityResponse:
    manifest = observations.manifest
    series_count = manifest.get("series")
    coverage = [
        SeriesQuality(
            area=key[0],
            consumer_type=key[1],
            hours=len(points),
            expected_hours=settings.api_observation_hours,
            newest_observation=points[-1].datetime_utc if points else None,
        )
        for key, points in observations.points.items()
    ]
    coverage.sort(key=lambda q: (q.hours - q.expected_hours, q.area, q.consumer_type))
    pointer = observations.pointer
    return QualityResponse(
        run_id=pointer.run_id,
        snapshot=pointer.snapshot,
        window_start=pointer.window_start,
        window_end=pointer.window_end,
        rows=pointer.rows,
        series=series_count if isinstance(series_count, int) else None,
        sha256=pointer.sha256,
        validation=manifest.get("validation", manifest.get("validation_summary")),
        manifest=manifest,
        coverage=coverage,
    )


# --- the state and its refresher ------------------------------------------------------------------
class ServingState:
    """The current :class:`View` plus what the refresher knows about storage and failures."""

    def __init__(
        self,
        settings: ApiSettings,
        store_factory: Callable[[], ObjectStore] | None = None,
        on_event: Callable[[str, Source, bool], None] | None = None,
    ) -> None:
        self.settings = settings
        self._store_factory = store_factory or (lambda: ObjectStore.from_settings(settings))
        self._reader: Reader | None = None
        self._on_event = on_event or (lambda _kind, _source, _ok: None)
        self._lock = threading.Lock()
        self.view = View()
        self.storage_reachable = False
        self.storage_error: str | None = "not checked yet"
        self.last_check_at: datetime | None = None
        self.last_change_at: datetime | None = None
        self.errors: dict[Source, LoadErrorInfo] = {}
        self._failed: dict[Source, int] = {}

    def pointer_names(self) -> dict[Source, str]:
        s = self.settings
        return {
            "forecast": layout.FORECAST_LATEST,
            "observations": layout.feature_latest(s.feature_group, s.feature_group_version),
            "monitoring": layout.MONITORING_LATEST,
        }

    def _current(self, source: Source) -> int | None:
        data = {"forecast": self.view.forecast, "observations": self.view.observations}.get(
            source, self.view.monitoring
        )
        return None if data is None else data.generation

    def refresh(self) -> bool:
        """Check the pointers' generations and load what changed. Blocking; returns True on change."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> bool:
        now = datetime.now(UTC)
        try:
            if self._reader is None:
                self._reader = Reader(self._store_factory(), self.settings.api_storage_timeout_s)
            reader = self._reader
            generations = {src: reader.generation(name) for src, name in self.pointer_names().items()}
        except Exception as err:
            if self.storage_reachable or self.storage_error is None or "not checked" in self.storage_error:
                log.error("storage unreachable (gs://%s): %s", self.settings.bucket, err)
            self.storage_reachable = False
            self.storage_error = f"storage unreachable (gs://{self.settings.bucket}): {type(err).__name__}"
            self.last_check_at = now
            self._on_event("check", "forecast", False)
            return False
        if not self.storage_reachable:
            log.info("storage reachable (gs://%s)", self.settings.bucket)
        self.storage_reachable = True
        self.storage_error = None
        self.last_check_at = now
        self._on_event("check", "forecast", True)

        loaded: dict[Source, Any] = {
            "forecast": self.view.forecast,
            "observations": self.view.observations,
            "monitoring": self.view.monitoring,
        }
        changed = False
        for source, generation in generations.items():
            if (
                generation is None
                or generation == self._current(source)
                or generation == self._failed.get(source)
            ):
                continue
            try:
                if source == "forecast":
                    loaded[source] = load_forecast(reader, generation)
                elif source == "observations":
                    loaded[source] = load_observations(reader, generation, self.settings)
                else:
                    loaded[source] = load_monitoring(reader, generation)
            except BadObjectError as err:
                self._failed[source] = generation
                self.errors[source] = LoadErrorInfo(
                    source=source, message=str(err), at=now, generation=generation
                )
                log.error("keeping the last good %s; generation %d is unusable: %s", source, generation, err)
                self._on_event("load", source, False)
                continue
            except Exception as err:  # transport trouble: retried at the next check
                self.storage_reachable = False
                self.storage_error = f"reading the {source} failed: {type(err).__name__}: {err}"
                log.warning("reading the %s (generation %d) failed; will retry: %s", source, generation, err)
                self._on_event("load", source, False)
                continue
            log.info("loaded %s generation %d", source, generation)
            self.errors.pop(source, None)
            self._failed.pop(source, None)
            self._on_event("load", source, True)
            changed = True
        if changed:
            self.view = build_view(
                loaded["forecast"], loaded["observations"], loaded["monitoring"], self.settings
            )
            self.last_change_at = now
        return changed

    # --- answers that depend on the state, not on one request ----------------------------------------
    def age_hours(self, now: datetime | None = None) -> float | None:
        forecast = self.view.forecast
        if forecast is None:
            return None
        moment = now or datetime.now(UTC)
        return max(0.0, (moment - forecast.metadata.generated_at).total_seconds() / 3600)

    def not_ready_reason(self) -> str:
        if self.view.forecast is not None:
            return ""
        if not self.storage_reachable:
            return f"no forecast loaded yet: {self.storage_error}"
        if "forecast" in self.errors:
            return f"no forecast loaded yet: {self.errors['forecast'].message}"
        return f"no forecast loaded yet: {layout.FORECAST_LATEST} not found in gs://{self.settings.bucket}"

    def meta(self) -> MetaResponse:
        view = self.view
        forecast = observations = monitoring = None
        if view.forecast is not None:
            md = view.forecast.metadata
            forecast = ForecastMeta(
                run_id=view.forecast.pointer.run_id,
                scheduled_time=md.scheduled_time,
                generated_at=md.generated_at,
                model_name=md.model_name,
                model_version=md.model_version,
                feature_snapshot=md.feature_snapshot,
                series=len(view.forecast.points),
                rows=sum(len(p) for p in view.forecast.points.values()),
                horizon=md.horizon,
                has_band=md.has_band,
                generation=view.forecast.generation,
            )
        if view.observations is not None:
            fp = view.observations.pointer
            observations = ObservationsMeta(
                run_id=fp.run_id,
                snapshot=fp.snapshot,
                window_start=fp.window_start,
                window_end=fp.window_end,
                rows=fp.rows,
                generation=view.observations.generation,
            )
        if view.monitoring is not None:
            mp = view.monitoring.pointer
            monitoring = MonitoringMeta(
                run_id=mp.run_id, generated_at=mp.generated_at, generation=view.monitoring.generation
            )
        return MetaResponse(
            version=__version__,
            etag=view.etag,
            storage_reachable=self.storage_reachable,
            last_check_at=self.last_check_at,
            last_change_at=self.last_change_at,
            forecast=forecast,
            observations=observations,
            monitoring=monitoring,
            errors=[self.errors[s] for s in SOURCES if s in self.errors],
        )
