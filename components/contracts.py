"""The JSON objects that stages write and the API reads: pointers, metadata and summaries.

Writers build them with these models and readers validate with them, so a schema-breaking object
is caught at the boundary. Imports no ML library. Frame columns live in ``components.schemas``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Contract(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class FeaturePointer(_Contract):
    """``features/<group>/v<N>/latest.json``."""

    run_id: str
    snapshot: str = Field(description="object name of the snapshot Parquet")
    manifest: str = Field(description="object name of the snapshot manifest")
    window_start: datetime
    window_end: datetime
    rows: int = Field(ge=0)
    sha256: str
    updated_at: datetime
    dataset: str | None = None
    series_keys: list[str] = Field(default_factory=list, description="the snapshot's series-key columns")


class ForecastMetadata(_Contract):
    """``forecasts/runs/<run>/metadata.json``, written before the pointer moves."""

    run_id: str
    scheduled_time: datetime
    generated_at: datetime
    model_name: str
    model_version: str
    feature_snapshot: str = Field(description="object name of the feature snapshot used")
    rows: int = Field(ge=0)
    series: int = Field(ge=0)
    horizon: int = Field(ge=1)
    has_band: bool = False
    dataset: str | None = None
    series_keys: list[str] = Field(default_factory=list, description="series-key columns of the forecast")
    data_end: datetime | None = Field(None, description="the newest hour with data (the forecast's origin)")
    forecast_start: datetime | None = Field(None, description="the first hour forecast (data_end + 1 h)")
    unit: str = "MWh"
    labels: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="series key -> code -> label learned from the data"
    )


class ForecastPointer(_Contract):
    """``forecasts/latest.json``."""

    run_id: str
    forecast: str = Field(description="object name of forecast.parquet")
    metadata: str = Field(description="object name of metadata.json")
    generated_at: datetime
    model_version: str


def monitoring_tables(keys: tuple[str, ...] | list[str]) -> dict[str, tuple[str, ...]]:
    """Columns of each ``monitoring/runs/<run>/<table>.parquet`` for a dataset with series ``keys``.

    ``pairs`` is every stored forecast joined with the observation that has since arrived.
    """
    return {
        "by_forecast_run": ("run_id", "scheduled_time", "n", "mape", "wape"),
        "by_series": (*keys, "n", "mape", "wape"),
        "by_horizon": ("horizon", "n", "mape", "wape"),
        "pairs": ("run_id", *keys, "datetime_utc", "horizon", "forecast", "observed"),
    }


MONITORING_TABLE_NAMES = ("by_forecast_run", "by_series", "by_horizon", "pairs")


class Freshness(_Contract):
    newest_observation: datetime
    age_hours: float


class Drift(_Contract):
    psi: float = Field(description="population stability index, last week vs the training window")
    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime


class MonitoringSummary(_Contract):
    """``monitoring/runs/<run>/summary.json``."""

    run_id: str
    generated_at: datetime
    evaluated_forecast_runs: int = Field(ge=0)
    evaluated_pairs: int = Field(ge=0)
    overall_mape: float | None = None
    overall_wape: float | None = None
    rolling_wape: float | None = Field(None, description="WAPE of the most recent forecast runs")
    wape_threshold: float
    needs_attention: bool
    reason: str | None = None
    freshness: Freshness
    drift: Drift | None = None
    tables: dict[str, str] = Field(description="table name -> object name, see MONITORING_TABLES")

    def metrics(self) -> dict[str, float]:
        """The summary as :data:`~components.reports.names.MONITOR_METRICS` (the names of the KFP
        ``Metrics`` artifact and of the API's ``ef_monitoring_*`` gauges); undefined ones left out."""
        import math

        from components.reports.names import MONITOR_METRICS

        values = {
            "rolling_wape": self.rolling_wape,
            "overall_wape": self.overall_wape,
            "overall_mape": self.overall_mape,
            "drift_psi": self.drift.psi if self.drift is not None else None,
            "data_age_hours": self.freshness.age_hours,
            "needs_attention": 1.0 if self.needs_attention else 0.0,
            "evaluated_forecast_runs": self.evaluated_forecast_runs,
            "evaluated_pairs": self.evaluated_pairs,
        }
        assert tuple(values) == MONITOR_METRICS
        return {
            name: float(value)
            for name, value in values.items()
            if value is not None and math.isfinite(float(value))
        }


class MonitoringPointer(_Contract):
    """``monitoring/latest.json``."""

    run_id: str
    summary: str = Field(description="object name of summary.json")
    generated_at: datetime
