"""Reading what the API serves from storage into checked, grouped data.

Three sources: the forecast (``forecasts/latest.json``), the observations (the feature group's
``latest.json`` → snapshot Parquet) and monitoring (``monitoring/latest.json``). Every JSON object
is validated with its ``components.contracts`` model and every frame against the dataset spec's
columns and codes, so a broken object raises :class:`BadObjectError` (the refresher keeps the last
good version in service). Storage trouble (timeouts, refused connections) propagates as is.

Object names come only from settings and from the pointers the pipeline wrote, never from a request.
All of this is blocking code (the refresher runs it in a worker thread).
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from components import layout
from components.contracts import (
    BAND_COLUMNS,
    FeatureManifest,
    FeaturePointer,
    ForecastMetadata,
    ForecastPointer,
    MonitoringPointer,
    MonitoringSummary,
    monitoring_tables,
    problems,
)
from components.datasets import DATETIME, TARGET, DatasetSpec
from components.storage import ObjectNotFoundError, ObjectStore
from serving.models import Accuracy, ForecastPoint, HorizonMetric, ObservationPoint, PairPoint, RunMetric

log = logging.getLogger(__name__)

Key = tuple[str, ...]
M = TypeVar("M", bound=BaseModel)
ONE_HOUR = timedelta(hours=1)
ACCURACY = tuple(Accuracy.model_fields)
BAND_FIGURES = frozenset({*BAND_COLUMNS, "forecast_lower", "forecast_upper"})
PAIR = tuple(PairPoint.model_fields)


class BadObjectError(Exception):
    """An object exists but cannot be used (unreadable, not the contract); retrying will not help."""


@dataclass(frozen=True)
class ForecastData:
    generation: int
    pointer: ForecastPointer
    metadata: ForecastMetadata
    points: dict[Key, list[ForecastPoint]]
    data_end: datetime
    """the newest hour that had data (the metadata's, else the hour before the first forecast)"""
    forecast_start: datetime


@dataclass(frozen=True)
class ObservationData:
    generation: int
    pointer: FeaturePointer
    manifest: FeatureManifest
    points: dict[Key, list[ObservationPoint]]


@dataclass(frozen=True)
class MonitoringData:
    generation: int
    pointer: MonitoringPointer
    summary: MonitoringSummary
    by_run: list[RunMetric]
    by_horizon: list[HorizonMetric]
    by_series: dict[Key, dict[str, Any]]
    """series -> {n, mape, wape}"""
    pairs: dict[Key, list[PairPoint]]


def finite(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class Loader:
    """Reads one dataset's sources through an :class:`ObjectStore` (whose timeout bounds each call)."""

    def __init__(self, store: ObjectStore, spec: DatasetSpec, feature_latest: str, observation_hours: int):
        self.store = store
        self.spec = spec
        self.feature_latest = feature_latest
        self.observation_window = timedelta(hours=observation_hours)

    # --- objects ----------------------------------------------------------------------------
    def read(self, name: str, generation: int | None = None) -> bytes:
        try:
            return self.store.read_bytes(name, generation)
        except ObjectNotFoundError as err:
            raise BadObjectError(str(err)) from err

    def read_model(self, name: str, model: type[M], generation: int | None = None) -> M:
        try:
            return model.model_validate_json(self.read(name, generation))
        except ValidationError as err:
            raise BadObjectError(
                f"{self.store.uri(name)} is not a valid {model.__name__}: {problems(err, '<root>', 5)}"
            ) from err

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

    def check_dataset(self, where: str, dataset: str | None, keys: list[str]) -> None:
        """An object that names its dataset or series keys must name ours."""
        if dataset is not None and dataset != self.spec.name:
            raise BadObjectError(f"{where} is of dataset {dataset}; this API serves {self.spec.name}")
        if keys and tuple(keys) != self.spec.key_names:
            raise BadObjectError(
                f"{where} has series keys {keys}; {self.spec.name} has {list(self.spec.key_names)}"
            )

    # --- frames -----------------------------------------------------------------------------
    def codes(self, frame: pd.DataFrame, where: str) -> pd.DataFrame:
        """The key columns as stripped strings, every code valid for the spec."""
        out = frame.copy()
        for key in self.spec.keys:
            column = out[key.name].astype("string").str.strip()
            if column.isna().any():
                raise BadObjectError(f"{where}: column {key.name!r} has missing values")
            found = set(column.unique())
            bad = (
                sorted(found - set(key.codes))
                if key.closed
                else sorted(c for c in found if not re.fullmatch(key.pattern, c))
            )
            if bad:
                raise BadObjectError(f"{where}: unknown {key.name} codes {bad[:5]}")
            out[key.name] = column
        return out

    def group(self, frame: pd.DataFrame) -> Iterable[tuple[Key, pd.DataFrame]]:
        keys = list(self.spec.key_names)
        for codes, part in frame.sort_values([*keys, DATETIME]).groupby(keys, sort=True):
            yield (tuple(str(c) for c in codes) if isinstance(codes, tuple) else (str(codes),)), part

    # --- the three sources ------------------------------------------------------------------
    def forecast(self, generation: int) -> ForecastData:
        pointer = self.read_model(layout.FORECAST_LATEST, ForecastPointer, generation)
        metadata = self.read_model(pointer.metadata, ForecastMetadata)
        self.check_dataset(self.store.uri(pointer.metadata), metadata.dataset, metadata.series_keys)
        where = self.store.uri(pointer.forecast)
        frame = self.codes(self.read_frame(pointer.forecast, self.spec.forecast_columns), where)
        frame[DATETIME] = utc_column(frame, DATETIME, where)
        for column in ("forecast", "forecast_lower", "forecast_upper"):
            frame[column] = float_column(frame, column, where)
        if not frame["forecast"].map(math.isfinite).all():
            raise BadObjectError(f"{where}: column 'forecast' has missing or infinite values")
        frame["horizon"] = int_column(frame, "horizon", where)
        if len(frame) and (frame["horizon"].min() < 1 or frame["horizon"].max() > metadata.horizon):
            raise BadObjectError(f"{where}: horizon outside 1..{metadata.horizon}")
        if frame.duplicated([*self.spec.key_names, DATETIME]).any():
            raise BadObjectError(f"{where}: duplicate ({', '.join(self.spec.key_names)}, datetime_utc) rows")
        points = {
            key: [
                ForecastPoint(
                    datetime_utc=t.to_pydatetime(),
                    horizon=int(h),
                    forecast=float(f),
                    forecast_lower=finite(lo),
                    forecast_upper=finite(up),
                )
                for t, h, f, lo, up in zip(
                    part[DATETIME],
                    part["horizon"],
                    part["forecast"],
                    part["forecast_lower"],
                    part["forecast_upper"],
                    strict=True,
                )
            ]
            for key, part in self.group(frame)
        }
        first = frame[DATETIME].min().to_pydatetime() if len(frame) else None
        start = metadata.forecast_start or first or metadata.scheduled_time + ONE_HOUR
        data_end = metadata.data_end or start - ONE_HOUR
        return ForecastData(generation, pointer, metadata, points, data_end, start)

    def observations(self, generation: int) -> ObservationData:
        pointer = self.read_model(self.feature_latest, FeaturePointer, generation)
        self.check_dataset(self.store.uri(self.feature_latest), pointer.dataset, pointer.series_keys)
        manifest = self.read_model(pointer.manifest, FeatureManifest)
        where = self.store.uri(pointer.snapshot)
        frame = self.codes(self.read_frame(pointer.snapshot, self.spec.feature_columns), where)
        frame[DATETIME] = utc_column(frame, DATETIME, where)
        frame[TARGET] = float_column(frame, TARGET, where)
        bad = ~frame[TARGET].map(math.isfinite)
        if bad.any():
            log.warning("%s: %d observations are missing or infinite; not served", where, int(bad.sum()))
            frame = frame[~bad]
        points: dict[Key, list[ObservationPoint]] = {}
        for key, part in self.group(frame):
            recent = part[part[DATETIME] > part[DATETIME].iloc[-1] - self.observation_window]
            points[key] = [
                ObservationPoint(datetime_utc=t.to_pydatetime(), energy_consumption=float(v))
                for t, v in zip(recent[DATETIME], recent[TARGET], strict=True)
            ]
        return ObservationData(generation, pointer, manifest, points)

    def monitoring(self, generation: int) -> MonitoringData:
        pointer = self.read_model(layout.MONITORING_LATEST, MonitoringPointer, generation)
        summary = self.read_model(pointer.summary, MonitoringSummary)
        keys = self.spec.key_names
        tables: dict[str, list[dict[str, Any]]] = {}
        for table, columns in monitoring_tables(keys).items():
            name = summary.tables.get(table)
            if name is None:
                log.warning("%s names no %r table; serving it empty", self.store.uri(pointer.summary), table)
                tables[table] = []
                continue
            where = self.store.uri(name)
            frame = self.read_frame(name, [c for c in columns if c not in BAND_FIGURES])
            for column in BAND_FIGURES & set(columns) - set(frame.columns):
                frame[column] = float("nan")  # tables written before the band was monitored
            if set(keys) & set(columns):
                frame = self.codes(frame, where)
            for column in {DATETIME, "scheduled_time"} & set(columns):
                frame[column] = utc_column(frame, column, where)
            tables[table] = records(frame[list(columns)])
        try:
            by_run = sorted(
                (RunMetric.model_validate(r) for r in tables["by_forecast_run"]),
                key=lambda m: (m.scheduled_time, m.run_id),
            )
            by_horizon = sorted(
                (HorizonMetric.model_validate(r) for r in tables["by_horizon"]), key=lambda m: m.horizon
            )
            by_series = {
                tuple(r[k] for k in keys): Accuracy.model_validate({a: r[a] for a in ACCURACY}).model_dump()
                for r in tables["by_series"]
            }
            pairs: dict[Key, list[PairPoint]] = {}
            for r in tables["pairs"]:
                if r.get("forecast") is None or r.get("observed") is None:
                    continue  # a pair without both values says nothing about accuracy
                pair = PairPoint.model_validate({p: r[p] for p in PAIR})
                pairs.setdefault(tuple(r[k] for k in keys), []).append(pair)
        except ValidationError as err:
            raise BadObjectError(
                f"monitoring tables of {pointer.run_id} break the contract: {problems(err, '<root>', 5)}"
            ) from err
        for rows in pairs.values():
            rows.sort(key=lambda p: (p.datetime_utc, p.horizon, p.run_id))
        return MonitoringData(generation, pointer, summary, by_run, by_horizon, by_series, pairs)


# --- column coercion --------------------------------------------------------------------------------
def utc_column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    values = frame[column]
    try:
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC")
        else:
            values = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as err:
        raise BadObjectError(f"{where}: column {column!r} is not a datetime: {err}") from err
    if values.isna().any():
        raise BadObjectError(f"{where}: column {column!r} has {int(values.isna().sum())} missing values")
    return values


def float_column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    try:
        return pd.to_numeric(frame[column], errors="raise").astype("float64")
    except (ValueError, TypeError) as err:
        raise BadObjectError(f"{where}: column {column!r} is not numeric: {err}") from err


def int_column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    try:
        return pd.to_numeric(frame[column], errors="raise").astype("int64")
    except (ValueError, TypeError) as err:
        raise BadObjectError(f"{where}: column {column!r} is not an integer: {err}") from err


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain values: NaN/NA/NaT become None, timestamps datetimes."""
    out: list[dict[str, Any]] = []
    for record in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for name, value in record.items():
            if value is pd.NA or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
                clean[str(name)] = None
            elif isinstance(value, pd.Timestamp):
                clean[str(name)] = value.to_pydatetime()
            else:
                clean[str(name)] = value
        out.append(clean)
    return out
