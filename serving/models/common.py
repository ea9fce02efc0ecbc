"""Response models that are the same for every dataset: errors, service state, points and metrics.

Every timestamp is an ISO-8601 UTC string (``2023-01-17T23:00:00Z``); every energy figure is in
the dataset's unit (MWh, ``components.schemas.UNIT``). Fields are only ever added, never renamed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from components.contracts import Drift, Freshness

API_PREFIX = "/api/v1"

_T0 = "2023-01-17T23:00:00Z"


class Model(BaseModel):
    """Base of the API's own models: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --- errors ----------------------------------------------------------------------------------------
class ErrorResponse(Model):
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
class HealthResponse(Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0"}]})

    status: Literal["ok"] = "ok"
    version: str = Field(description="version of the API package")


class ReadyResponse(Model):
    """Ready only when a forecast is loaded; ``stale`` flags a forecast older than the threshold."""

    ready: bool
    forecast_run_id: str | None = None
    forecast_generated_at: datetime | None = None
    age_hours: float | None = Field(None, description="hours since the loaded forecast was generated")
    stale: bool = Field(False, description="true when age_hours exceeds stale_after_hours")
    stale_after_hours: float
    storage_reachable: bool = Field(description="whether the last storage check succeeded")
    reason: str | None = Field(None, description="why the service is not ready (or the last load error)")


# --- codes and the dataset -------------------------------------------------------------------------
class CodeLabel(Model):
    code: str
    label: str = Field(description="readable name; the code itself when no label is known")


class KeyInfo(Model):
    """One series key of the dataset, e.g. the price area."""

    name: str = Field(description="path parameter of the series routes, e.g. `area`")
    title: str = Field(description="human name, e.g. `price area`")
    plural: str = Field(description="query parameter of the filters, e.g. `areas`")
    route: str = Field(description="the code-list route, e.g. `/api/v1/areas`")
    closed: bool = Field(description="true: the dataset fixes the codes; false: they come from the data")
    codes: list[CodeLabel] = Field(description="the codes (a closed list, or those in the served data)")


class DatasetResponse(Model):
    """Which dataset the API serves, and how its series are named and addressed."""

    name: str = Field(description="Energi Data Service dataset, e.g. `ConsumptionDE35Hour`")
    title: str
    description: str
    unit: str = Field(description="unit of every energy figure")
    live: bool = Field(description="false when the dataset no longer updates")
    last_hour: datetime | None = Field(None, description="the dataset's last hour, when it no longer updates")
    keys: list[KeyInfo] = Field(description="the series keys, in path order")
    series_route: str = Field(description="route template of one series' forecast")
    monitoring_series_route: str = Field(description="route template of one series' monitoring")
    source: str = Field(description="data credit")


# --- points ----------------------------------------------------------------------------------------
class ObservationPoint(Model):
    datetime_utc: datetime
    energy_consumption: float = Field(description="observed value, MWh")


class ForecastPoint(Model):
    datetime_utc: datetime
    horizon: int = Field(ge=1, description="hours ahead of the forecast's scheduled time")
    forecast: float = Field(description="forecast value, MWh")
    forecast_lower: float | None = Field(None, description="lower edge of the band; null if no band")
    forecast_upper: float | None = Field(None, description="upper edge of the band; null if no band")


class PairPoint(Model):
    run_id: str
    datetime_utc: datetime
    horizon: int
    forecast: float
    observed: float


# --- monitoring ------------------------------------------------------------------------------------
class Accuracy(Model):
    n: int = Field(ge=0, description="evaluated (forecast, observation) pairs")
    mape: float | None = None
    wape: float | None = None
    coverage_80: float | None = Field(None, description="share of observations inside the P10-P90 band")
    pinball: float | None = Field(None, description="scaled pinball loss of the band and forecast")


class RunMetric(Model):
    run_id: str
    scheduled_time: datetime
    n: int = Field(ge=0, description="evaluated (forecast, observation) pairs")
    mape: float | None = None
    wape: float | None = None
    coverage_80: float | None = Field(None, description="share of observations inside the P10-P90 band")
    pinball: float | None = Field(None, description="scaled pinball loss of the band and forecast")


class HorizonMetric(Model):
    horizon: int
    n: int = Field(ge=0, description="evaluated (forecast, observation) pairs")
    mape: float | None = None
    wape: float | None = None
    coverage_80: float | None = Field(None, description="share of observations inside the P10-P90 band")
    pinball: float | None = Field(None, description="scaled pinball loss of the band and forecast")


class FreshnessInfo(Freshness):
    """The monitoring step's freshness (``components.contracts.Freshness``), extra fields dropped."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class DriftInfo(Drift):
    """The monitoring step's drift (``components.contracts.Drift``), extra fields dropped."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# --- meta ------------------------------------------------------------------------------------------
class LoadErrorInfo(Model):
    source: Literal["forecast", "observations", "monitoring"]
    message: str
    at: datetime
    generation: int | None = Field(None, description="GCS generation of the pointer that failed to load")


class DatasetMeta(Model):
    name: str
    keys: list[str] = Field(description="series-key names, in path order")
    unit: str


class ForecastMeta(Model):
    run_id: str
    scheduled_time: datetime = Field(description="the hour the forecast run was scheduled for")
    generated_at: datetime = Field(description="when the forecast was made")
    data_end: datetime = Field(description="the newest hour that had data (the forecast's origin)")
    forecast_start: datetime = Field(description="the first hour forecast")
    model_name: str
    model_version: str
    feature_snapshot: str = Field(description="object name of the feature snapshot used")
    series: int
    rows: int
    horizon: int
    has_band: bool
    unit: str
    generation: int = Field(description="GCS generation of forecasts/latest.json that was loaded")


class ObservationsMeta(Model):
    run_id: str
    snapshot: str = Field(description="object name of the feature snapshot")
    window_start: datetime
    window_end: datetime
    rows: int
    generation: int = Field(description="GCS generation of the feature latest.json that was loaded")


class MonitoringMeta(Model):
    run_id: str
    generated_at: datetime
    generation: int = Field(description="GCS generation of monitoring/latest.json that was loaded")


class MetaResponse(Model):
    """Which dataset is served, from which objects, and what went wrong last."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": "0.1.0",
                    "dataset": {
                        "name": "ConsumptionDE35Hour",
                        "keys": ["area", "consumer_type"],
                        "unit": "MWh",
                    },
                    "etag": 'W/"f1700000000000000-o1700000000000001-m1700000000000002"',
                    "storage_reachable": True,
                    "last_check_at": _T0,
                    "last_change_at": _T0,
                    "forecast": None,
                    "observations": None,
                    "monitoring": None,
                    "errors": [],
                }
            ]
        }
    )

    version: str
    dataset: DatasetMeta
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
