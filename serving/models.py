"""Response models of the forecasts API: the contract the dashboard codes against.

Every timestamp is an ISO-8601 UTC string (``2023-01-17T23:00:00Z``); every energy figure is kWh.
Fields are only ever added to these models, never renamed or removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

API_PREFIX = "/api/v1"

_T0 = "2023-01-17T23:00:00Z"
_T1 = "2023-01-18T00:00:00Z"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- errors ----------------------------------------------------------------------------------------
class ErrorResponse(_Model):
    """Body of every 404/503 answer (422 uses FastAPI's standard validation body)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"detail": "unknown area 'DK3'", "valid": ["DK1", "DK2"]},
                {"detail": "no forecast loaded yet: storage unreachable", "valid": None},
            ]
        }
    )

    detail: str = Field(description="what went wrong, in one sentence")
    valid: list[str] | None = Field(None, description="the valid values, when a path value was unknown")


# --- liveness and readiness ------------------------------------------------------------------------
class HealthResponse(_Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0"}]})

    status: Literal["ok"] = "ok"
    version: str = Field(description="version of the API package")


class ReadyResponse(_Model):
    """Ready only when a forecast is loaded; ``stale`` flags a forecast older than the threshold."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ready": True,
                    "forecast_run_id": "20230117T2300Z",
                    "forecast_generated_at": _T0,
                    "age_hours": 0.4,
                    "stale": False,
                    "stale_after_hours": 3.0,
                    "storage_reachable": True,
                    "reason": None,
                }
            ]
        }
    )

    ready: bool
    forecast_run_id: str | None = None
    forecast_generated_at: datetime | None = None
    age_hours: float | None = Field(None, description="hours since the loaded forecast was generated")
    stale: bool = Field(False, description="true when age_hours exceeds stale_after_hours")
    stale_after_hours: float
    storage_reachable: bool = Field(description="whether the last storage check succeeded")
    reason: str | None = Field(None, description="why the service is not ready (or the last load error)")


# --- code lists ------------------------------------------------------------------------------------
class CodeLabel(_Model):
    code: str
    label: str


class AreasResponse(_Model):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"areas": [{"code": "DK1", "label": "West Denmark"}]}]}
    )

    areas: list[CodeLabel]


class ConsumerTypesResponse(_Model):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"consumer_types": [{"code": "111", "label": "Agriculture"}]}]}
    )

    consumer_types: list[CodeLabel]


# --- forecasts -------------------------------------------------------------------------------------
class ObservationPoint(_Model):
    datetime_utc: datetime
    energy_consumption: float = Field(description="observed consumption, kWh")


class ForecastPoint(_Model):
    datetime_utc: datetime
    horizon: int = Field(ge=1, description="hours ahead of the forecast's scheduled time")
    forecast: float = Field(description="forecast consumption, kWh")
    forecast_lower: float | None = Field(None, description="lower edge of the band; null if no band")
    forecast_upper: float | None = Field(None, description="upper edge of the band; null if no band")


class SeriesForecastResponse(_Model):
    """One series: its last observations (168 h by default) and the current forecast (24 h)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "area": "DK1",
                    "area_label": "West Denmark",
                    "consumer_type": "111",
                    "consumer_type_label": "Agriculture",
                    "label": "DK1 West Denmark / 111 Agriculture",
                    "run_id": "20230117T2300Z",
                    "generated_at": _T0,
                    "model_version": "3",
                    "has_band": True,
                    "observations": [{"datetime_utc": _T0, "energy_consumption": 1234.5}],
                    "forecast": [
                        {
                            "datetime_utc": _T1,
                            "horizon": 1,
                            "forecast": 1250.0,
                            "forecast_lower": 1100.0,
                            "forecast_upper": 1400.0,
                        }
                    ],
                }
            ]
        }
    )

    area: str
    area_label: str
    consumer_type: str
    consumer_type_label: str
    label: str = Field(description="readable name of the series")
    run_id: str = Field(description="forecast run (scheduled hour, YYYYMMDDTHHMMZ)")
    generated_at: datetime
    model_version: str
    has_band: bool
    observations: list[ObservationPoint] = Field(description="sorted by time, oldest first")
    forecast: list[ForecastPoint] = Field(description="sorted by time, horizon 1 first")


class ForecastRow(_Model):
    """One row of ``GET /forecasts`` (the CSV has the same columns)."""

    area: str
    consumer_type: str
    datetime_utc: datetime
    horizon: int
    forecast: float
    forecast_lower: float | None = None
    forecast_upper: float | None = None


class ForecastsResponse(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": "20230117T2300Z",
                    "generated_at": _T0,
                    "model_version": "3",
                    "has_band": False,
                    "series": 1,
                    "rows": [
                        {
                            "area": "DK1",
                            "consumer_type": "111",
                            "datetime_utc": _T1,
                            "horizon": 1,
                            "forecast": 1250.0,
                            "forecast_lower": None,
                            "forecast_upper": None,
                        }
                    ],
                }
            ]
        }
    )

    run_id: str
    generated_at: datetime
    model_version: str
    has_band: bool
    series: int = Field(ge=0, description="number of series in rows")
    rows: list[ForecastRow] = Field(description="sorted by area, consumer_type, datetime_utc")


# --- monitoring ------------------------------------------------------------------------------------
class RunMetric(_Model):
    run_id: str
    scheduled_time: datetime
    n: int
    mape: float | None = None
    wape: float | None = None


class HorizonMetric(_Model):
    horizon: int
    n: int
    mape: float | None = None
    wape: float | None = None


class SeriesMetric(_Model):
    area: str
    consumer_type: str
    n: int
    mape: float | None = None
    wape: float | None = None


class FreshnessInfo(_Model):
    newest_observation: datetime
    age_hours: float


class DriftInfo(_Model):
    psi: float = Field(description="population stability index, last week vs the training window")
    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime


class MonitoringMetricsResponse(_Model):
    """Accuracy over time (per forecast run), per horizon and per series, with the alert flag."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": "20230117T2300Z",
                    "generated_at": _T0,
                    "evaluated_forecast_runs": 24,
                    "evaluated_pairs": 43776,
                    "overall_mape": 0.08,
                    "overall_wape": 0.06,
                    "rolling_wape": 0.07,
                    "wape_threshold": 0.15,
                    "needs_attention": False,
                    "reason": None,
                    "freshness": {"newest_observation": _T0, "age_hours": 0.5},
                    "drift": None,
                    "by_forecast_run": [
                        {
                            "run_id": "20230116T2300Z",
                            "scheduled_time": _T0,
                            "n": 1824,
                            "mape": 0.08,
                            "wape": 0.06,
                        }
                    ],
                    "by_horizon": [{"horizon": 1, "n": 1824, "mape": 0.05, "wape": 0.04}],
                    "by_series": [
                        {"area": "DK1", "consumer_type": "111", "n": 576, "mape": 0.1, "wape": 0.09}
                    ],
                }
            ]
        }
    )

    run_id: str
    generated_at: datetime
    evaluated_forecast_runs: int
    evaluated_pairs: int
    overall_mape: float | None = None
    overall_wape: float | None = None
    rolling_wape: float | None = None
    wape_threshold: float
    needs_attention: bool
    reason: str | None = None
    freshness: FreshnessInfo
    drift: DriftInfo | None = None
    by_forecast_run: list[RunMetric] = Field(description="accuracy over time, oldest run first")
    by_horizon: list[HorizonMetric] = Field(description="horizon 1 first")
    by_series: list[SeriesMetric] = Field(description="worst (highest WAPE) first")


class PairPoint(_Model):
    run_id: str
    datetime_utc: datetime
    horizon: int
    forecast: float
    observed: float


class MonitoringSeriesResponse(_Model):
    """Observed vs forecast for one series over the monitoring window, and its metrics."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "area": "DK1",
                    "consumer_type": "111",
                    "label": "DK1 West Denmark / 111 Agriculture",
                    "run_id": "20230117T2300Z",
                    "metrics": {"area": "DK1", "consumer_type": "111", "n": 576, "mape": 0.1, "wape": 0.09},
                    "pairs": [
                        {
                            "run_id": "20230116T2300Z",
                            "datetime_utc": _T1,
                            "horizon": 1,
                            "forecast": 1250.0,
                            "observed": 1234.5,
                        }
                    ],
                }
            ]
        }
    )

    area: str
    consumer_type: str
    label: str
    run_id: str = Field(description="monitoring run")
    metrics: SeriesMetric | None = Field(None, description="null when the series has no evaluated pair")
    pairs: list[PairPoint] = Field(description="sorted by datetime_utc, then horizon")


# --- meta, quality ---------------------------------------------------------------------------------
class LoadErrorInfo(_Model):
    source: Literal["forecast", "observations", "monitoring"]
    message: str
    at: datetime
    generation: int | None = Field(None, description="GCS generation of the pointer that failed to load")


class ForecastMeta(_Model):
    run_id: str
    scheduled_time: datetime
    generated_at: datetime
    model_name: str
    model_version: str
    feature_snapshot: str = Field(description="object name of the feature snapshot used")
    series: int
    rows: int
    horizon: int
    has_band: bool
    generation: int = Field(description="GCS generation of forecasts/latest.json that was loaded")


class ObservationsMeta(_Model):
    run_id: str
    snapshot: str = Field(description="object name of the feature snapshot")
    window_start: datetime
    window_end: datetime
    rows: int
    generation: int = Field(description="GCS generation of the feature latest.json that was loaded")


class MonitoringMeta(_Model):
    run_id: str
    generated_at: datetime
    generation: int = Field(description="GCS generation of monitoring/latest.json that was loaded")


class MetaResponse(_Model):
    """What is being served, from which objects, and what went wrong last."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": "0.1.0",
                    "etag": '"f1700000000000000-o1700000000000001-m1700000000000002"',
                    "storage_reachable": True,
                    "last_check_at": _T0,
                    "last_change_at": _T0,
                    "forecast": {
                        "run_id": "20230117T2300Z",
                        "scheduled_time": _T0,
                        "generated_at": _T0,
                        "model_name": "energy-forecaster",
                        "model_version": "3",
                        "feature_snapshot": "features/energy_consumption/v1/snapshots/20230117T2300Z.parquet",
                        "series": 76,
                        "rows": 1824,
                        "horizon": 24,
                        "has_band": True,
                        "generation": 1700000000000000,
                    },
                    "observations": None,
                    "monitoring": None,
                    "errors": [],
                }
            ]
        }
    )

    version: str
    etag: str | None = Field(None, description="current ETag of the data routes")
    storage_reachable: bool
    last_check_at: datetime | None = Field(None, description="last generation check")
    last_change_at: datetime | None = Field(None, description="last time a new generation was loaded")
    forecast: ForecastMeta | None = None
    observations: ObservationsMeta | None = None
    monitoring: MonitoringMeta | None = None
    errors: list[LoadErrorInfo] = Field(
        description="latest load failure per source (the last good object is still served)"
    )


class SeriesQuality(_Model):
    area: str
    consumer_type: str
    hours: int = Field(description="observed hours in the served window")
    expected_hours: int = Field(description="hours the served window should have")
    newest_observation: datetime | None = None


class QualityResponse(_Model):
    """Facts of the latest feature snapshot and its validation result (opaque JSON from the manifest)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": "20230117T2300Z",
                    "snapshot": "features/energy_consumption/v1/snapshots/20230117T2300Z.parquet",
                    "window_start": "2022-12-27T23:00:00Z",
                    "window_end": _T0,
                    "rows": 38304,
                    "series": 76,
                    "sha256": "ab12…",
                    "validation": {"success": True},
                    "manifest": {"rows": 38304},
                    "coverage": [
                        {
                            "area": "DK1",
                            "consumer_type": "111",
                            "hours": 168,
                            "expected_hours": 168,
                            "newest_observation": _T0,
                        }
                    ],
                }
            ]
        }
    )

    run_id: str
    snapshot: str
    window_start: datetime
    window_end: datetime
    rows: int
    series: int | None = Field(None, description="series count from the manifest, if it states one")
    sha256: str
    validation: Any = Field(
        None,
        description=(
            "the manifest's `validation` value as written, or its `validation_summary` (the feature "
            "step's short form; the full `validation_result` is in `manifest`)"
        ),
    )
    manifest: dict[str, Any] = Field(description="the whole manifest, as written")
    coverage: list[SeriesQuality] = Field(description="per served series, least complete first")
