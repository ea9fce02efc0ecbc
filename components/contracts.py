"""The JSON objects that stages write and the API and dashboard read: pointers, manifests, reports.

Writers build them with these models and readers validate with them, so a schema-breaking object
is caught at the boundary. Imports no ML library. Frame columns live in ``components.schemas``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Severity = Literal["error", "warning"]


def problems(err: ValidationError, root: str = "value", limit: int | None = None) -> str:
    """What a validation error says, one ``field.path: message`` per problem (``root`` names a
    problem of the whole value): how every boundary reports input that breaks its model."""
    found = err.errors()[:limit]
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or root}: {e['msg']}" for e in found)


class _Contract(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# --- the data contract's report (validate step → features manifest → API → dashboard) ----------
class RuleResult(_Contract):
    """One rule of the data contract as the validate step evaluated it (Great Expectations or pandas).

    A failed ``error`` rule blocks the run; a ``warning`` rule never does, its ``unexpected_count``
    is a finding (e.g. ``short_gaps_filled``: the missing hours that were filled).
    """

    rule: str
    column: str | None = None
    success: bool
    severity: Severity = "error"
    check: str = Field(description="the expectation or pandas check that was run")
    engine: str = Field(description="what evaluated it: great_expectations or pandas")
    unexpected_count: int = Field(0, ge=0)
    element_count: int | None = Field(None, ge=0)
    sample_values: list[Any] = Field(default_factory=list)
    observed: Any = None
    error: str | None = None

    @property
    def blocking(self) -> bool:
        """Failed, and of severity ``error``: the run stops."""
        return not self.success and self.severity == "error"

    @property
    def is_note(self) -> bool:
        """Not blocking, yet with findings (a warning, or a rule that passed with unexpected values)."""
        return not self.blocking and self.unexpected_count > 0


class ValidationStatistics(_Contract):
    evaluated_rules: int = Field(ge=0)
    successful_rules: int = Field(ge=0, description="rules that passed outright")
    unsuccessful_rules: int = Field(ge=0, description="blocking (error) rules that failed")
    warnings: int = Field(0, ge=0, description="warning rules with findings")


class ValidationWindow(_Contract):
    start: datetime
    end: datetime
    hours: int | None = Field(None, ge=1)


class FilledGap(_Contract):
    """A run of missing hours of one series: filled and flagged (short), or left missing (long)."""

    series: list[str]
    start: datetime
    hours: int = Field(ge=1)


QuarantineRule = Literal["null_value", "value_range", "impossible_zero", "stuck_value", "spike"]


class QuarantinedPoint(_Contract):
    """An observation the validate step did not believe: it became missing, then was filled or left out.

    ``value`` is what the source said (None for a null), ``rule`` what found it, ``replacement`` the
    value the clean frame has instead (None: left missing, the hour is inside a long gap).
    """

    series: list[str]
    hour: datetime
    value: float | None
    rule: QuarantineRule
    replacement: float | None = None


class ValidationReport(_Contract):
    """The validate step's ``report`` artifact, kept whole in the feature manifest
    (``validation_result``) and served by the API's quality route.

    Its counts are checked against its rules, so a report that contradicts itself is refused where
    it is read.
    """

    success: bool
    suite: str
    dataset: str | None = None
    unit: str = "MWh"
    window: ValidationWindow
    rows: int = Field(ge=0)
    series: int = Field(ge=0)
    source: str | None = Field(None, description="where the raw records came from")
    statistics: ValidationStatistics
    failed_rules: list[str] = Field(default_factory=list, description="names of the blocking rules")
    warnings: list[str] = Field(default_factory=list, description="names of the warning rules with findings")
    filled_gaps: list[FilledGap] = Field(default_factory=list)
    long_gaps: list[FilledGap] = Field(
        default_factory=list, description="runs longer than the spec's max_gap_hours, left missing"
    )
    quarantined: list[QuarantinedPoint] = Field(
        default_factory=list, description="every observation quarantined as a point fault"
    )
    labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    rules: list[RuleResult]
    great_expectations: dict[str, Any] = Field(
        default_factory=dict, description="Great Expectations' own version and suite result, as GX wrote it"
    )

    @model_validator(mode="after")
    def _counts_agree(self) -> ValidationReport:
        blocking = sum(r.blocking for r in self.rules)
        stats = self.statistics
        issues = []
        if stats.evaluated_rules != len(self.rules):
            issues.append(
                f"statistics.evaluated_rules is {stats.evaluated_rules}, rules has {len(self.rules)}"
            )
        if stats.unsuccessful_rules != blocking:
            issues.append(
                f"statistics.unsuccessful_rules is {stats.unsuccessful_rules}, {blocking} rules block"
            )
        if self.success != (blocking == 0):
            issues.append(f"success is {self.success} with {blocking} blocking rules")
        if issues:
            raise ValueError("inconsistent validation report: " + "; ".join(issues))
        return self

    def filled_hours(self) -> set[tuple[tuple[str, ...], datetime]]:
        """(series codes, hour) of every value the validate step invented: the hours of the filled
        gaps, quarantined points among them. They are no observations: monitoring scores none."""
        from datetime import timedelta

        hours = {
            (tuple(gap.series), gap.start + timedelta(hours=h))
            for gap in self.filled_gaps
            for h in range(gap.hours)
        }
        return hours | {(tuple(p.series), p.hour) for p in self.quarantined if p.replacement is not None}

    @classmethod
    def from_rules(cls, rules: list[RuleResult], **facts: Any) -> ValidationReport:
        """The report of ``rules``: success, statistics and the names of the blocking and warning
        rules follow from them; ``facts`` are the other fields (suite, window, rows, series…)."""
        blocking = [r for r in rules if r.blocking]
        warned = [r for r in rules if not r.success and not r.blocking]
        return cls(
            success=not blocking,
            statistics=ValidationStatistics(
                evaluated_rules=len(rules),
                successful_rules=len(rules) - len(blocking) - len(warned),
                unsuccessful_rules=len(blocking),
                warnings=len(warned),
            ),
            failed_rules=sorted({r.rule for r in blocking}),
            warnings=sorted({r.rule for r in warned}),
            rules=rules,
            **facts,
        )

    @property
    def blocking(self) -> list[RuleResult]:
        return [r for r in self.rules if r.blocking]

    @property
    def notes(self) -> list[RuleResult]:
        """Rules that do not block but have findings, most findings first."""
        return sorted((r for r in self.rules if r.is_note), key=lambda r: -r.unexpected_count)

    def quarantine_counts(self) -> dict[str, int]:
        """Quarantined points per quarantine rule, every rule named (0 when it found none): what the
        contract report, the API's quality answer and its Prometheus gauge count."""
        counts = dict.fromkeys(get_args(QuarantineRule), 0)
        for point in self.quarantined:
            counts[point.rule] += 1
        return counts

    @property
    def long_gap_hours(self) -> int:
        """Hours left missing inside the long gaps."""
        return sum(gap.hours for gap in self.long_gaps)


class FeatureManifest(_Contract):
    """``features/<group>/v<N>/snapshots/<run>.manifest.json``: what the snapshot holds and its report."""

    group: str
    version: int = Field(ge=1)
    run_id: str
    snapshot: str
    window_start: datetime
    window_end: datetime
    hours: int = Field(ge=1)
    rows: int = Field(ge=0)
    series: int = Field(ge=0)
    columns: dict[str, str]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    source: str
    validation_result: ValidationReport
    created_at: datetime
    package_version: str
    dataset: str | None = None
    series_keys: list[str] = Field(default_factory=list)
    labels: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="series key -> code -> label learned from the records"
    )


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
        "by_forecast_run": ("run_id", "scheduled_time", "n", "mape", "wape", *BAND_COLUMNS),
        "by_series": (*keys, "n", "mape", "wape", *BAND_COLUMNS),
        "by_horizon": ("horizon", "n", "mape", "wape", *BAND_COLUMNS),
        "pairs": (
            "run_id",
            *keys,
            "datetime_utc",
            "horizon",
            "forecast",
            "forecast_lower",
            "forecast_upper",
            "observed",
        ),
    }


BAND_COLUMNS = ("coverage_80", "pinball")
"""The band's figures in the monitoring tables (``components.accuracy``: share of the observations
inside the P10-P90 band, scaled pinball loss); NaN where no forecast had a band. Tables written
before them lack these columns and the pairs' ``forecast_lower``/``forecast_upper``."""


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
    overall_coverage_80: float | None = Field(None, description="share of observations inside P10-P90")
    overall_pinball: float | None = Field(None, description="scaled pinball loss (0.1, 0.5, 0.9)")
    rolling_coverage_80: float | None = Field(None, description="coverage of the most recent runs")
    rolling_pinball: float | None = Field(None, description="pinball loss of the most recent runs")
    coverage_range: tuple[float, float] | None = Field(
        None, description="rolling coverage outside [low, high] raises needs_attention"
    )
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
            "rolling_coverage_80": self.rolling_coverage_80,
            "overall_coverage_80": self.overall_coverage_80,
            "rolling_pinball": self.rolling_pinball,
            "overall_pinball": self.overall_pinball,
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
