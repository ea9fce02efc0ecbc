"""Response models that name the dataset's series keys, built from its spec when the app is made.

For ``ConsumptionDE35Hour`` a series answer has ``area``, ``area_label``, ``consumer_type``,
``consumer_type_label``; for ``ElectricityBalanceNonv`` only the area; for the DK36 dataset the
``industry``. So the OpenAPI document of an app names exactly its dataset's keys.
"""

from __future__ import annotations

import copy
import types
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, create_model

from components.contracts import QuarantineRule, ValidationReport
from components.datasets import DatasetSpec, SeriesKey
from serving.models.common import (
    API_PREFIX,
    Accuracy,
    CodeLabel,
    DriftInfo,
    ForecastPoint,
    FreshnessInfo,
    HorizonMetric,
    Model,
    ObservationPoint,
    PairPoint,
    RunMetric,
)

Fields = dict[str, Any]


class ForecastsHead(Model):
    """The fields of ``GET /forecasts`` before its ``rows`` (which must stay last: the body is
    assembled from pre-serialised rows)."""

    run_id: str
    generated_at: datetime
    model_version: str
    has_band: bool
    unit: str
    series: int = Field(ge=0, description="number of series in rows")


class MonitoringHead(Model):
    """The monitoring summary of ``GET /monitoring/metrics``, before its ``by_series`` table."""

    run_id: str
    generated_at: datetime
    evaluated_forecast_runs: int
    evaluated_pairs: int
    overall_mape: float | None = None
    overall_wape: float | None = None
    rolling_wape: float | None = None
    wape_threshold: float
    overall_coverage_80: float | None = None
    overall_pinball: float | None = None
    rolling_coverage_80: float | None = None
    rolling_pinball: float | None = None
    coverage_range: tuple[float, float] | None = Field(
        None, description="rolling coverage outside [low, high] raises needs_attention"
    )
    needs_attention: bool
    reason: str | None = None
    freshness: FreshnessInfo
    drift: DriftInfo | None = None
    by_forecast_run: list[RunMetric] = Field(description="accuracy over time, oldest run first")
    by_horizon: list[HorizonMetric] = Field(description="horizon 1 first")


class QualityHead(Model):
    """Facts of the latest feature snapshot and the data contract's report on it."""

    run_id: str
    snapshot: str
    window_start: datetime
    window_end: datetime
    rows: int
    series: int = Field(ge=0, description="series in the snapshot")
    sha256: str
    validation: ValidationReport = Field(
        description="the validate step's report: every rule with its severity, counts and samples, "
        "every quarantined point (`quarantined`) and every long gap left missing (`long_gaps`)"
    )
    quarantined_by_rule: dict[QuarantineRule, int] = Field(
        description="points of `validation.quarantined` per quarantine rule, every rule named (0: none)"
    )
    long_gap_hours: int = Field(ge=0, description="hours left missing in `validation.long_gaps`")
    manifest: dict[str, Any] = Field(
        description="the snapshot's manifest as the feature step wrote it (a ``FeatureManifest``), "
        "without its `validation_result`, which is `validation`"
    )


def list_of(model: type[Model]) -> Any:
    return types.GenericAlias(list, (model,))


def code_field(key: SeriesKey) -> str:
    """The field of a key's code-list answer, e.g. ``areas`` or ``consumer_types``."""
    return key.plural.replace("-", "_")


def _keys(spec: DatasetSpec, labels: bool = False) -> Fields:
    """A field per series key (and, with ``labels``, its readable label), then the series label."""
    fields: Fields = {}
    for key in spec.keys:
        fields[key.name] = (
            str,
            Field(
                description=f"{key.title} code, see {API_PREFIX}{key.route}",
                examples=list(key.codes)[:1] or None,
            ),
        )
        if labels:
            fields[f"{key.name}_label"] = (str | None, Field(None, description=f"readable {key.title}"))
    fields["label"] = (str, Field(description="readable name of the series"))
    return fields


def _copy_fields(model: type[Model]) -> Fields:
    return {name: (info.annotation, copy.copy(info)) for name, info in model.model_fields.items()}


def _model(name: str, doc: str, fields: Fields, base: type[Model] = Model) -> type[Model]:
    return create_model(name, __base__=base, __doc__=doc, __module__=__name__, **fields)


@dataclass(frozen=True)
class ApiModels:
    """The spec-built response models of one app (typed as plain ``BaseModel``: their fields are
    known only at run time)."""

    spec: DatasetSpec
    series_forecast: type[BaseModel]
    forecast_row: type[BaseModel]
    forecasts: type[BaseModel]
    series_metric: type[BaseModel]
    monitoring_metrics: type[BaseModel]
    monitoring_series: type[BaseModel]
    series_quality: type[BaseModel]
    quality: type[BaseModel]
    code_lists: dict[str, type[BaseModel]]
    """key name -> the model of its code-list answer"""


def build_models(spec: DatasetSpec) -> ApiModels:
    keys, labelled = _keys(spec), _keys(spec, labels=True)
    series_metric = _model("SeriesMetric", "Accuracy of one series.", {**keys, **_copy_fields(Accuracy)})
    row = _model(
        "ForecastRow",
        "One row of `GET /forecasts` (the CSV has the same columns).",
        {**{k: v for k, v in keys.items() if k != "label"}, **_copy_fields(ForecastPoint)},
    )
    quality_row = _model(
        "SeriesQuality",
        "Coverage of one series in the served window.",
        {
            **keys,
            "hours": (int, Field(description="observed hours in the served window")),
            "expected_hours": (int, Field(description="hours the served window should have")),
            "newest_observation": (datetime | None, None),
        },
    )
    return ApiModels(
        spec=spec,
        series_forecast=_model(
            "SeriesForecastResponse",
            "One series: its last observations (168 h by default) and the current forecast (24 h).",
            {
                **labelled,
                "run_id": (str, Field(description="forecast run (scheduled hour, YYYYMMDDTHHMMZ)")),
                "generated_at": (datetime, ...),
                "model_version": (str, ...),
                "has_band": (bool, ...),
                "unit": (str, Field(description="unit of every value")),
                "observations": (list[ObservationPoint], Field(description="sorted by time, oldest first")),
                "forecast": (list[ForecastPoint], Field(description="sorted by time, horizon 1 first")),
            },
        ),
        forecast_row=row,
        forecasts=_model(
            "ForecastsResponse",
            "Every forecast row of the current run (or of the chosen series).",
            {"rows": (list_of(row), Field(description=f"sorted by {', '.join(spec.key_names)}, time"))},
            ForecastsHead,
        ),
        series_metric=series_metric,
        monitoring_metrics=_model(
            "MonitoringMetricsResponse",
            "Accuracy over time (per forecast run), per horizon and per series, with the alert flag.",
            {"by_series": (list_of(series_metric), Field(description="worst (highest WAPE) first"))},
            MonitoringHead,
        ),
        monitoring_series=_model(
            "MonitoringSeriesResponse",
            "Observed vs forecast for one series over the monitoring window, and its metrics.",
            {
                **keys,
                "run_id": (str, Field(description="monitoring run")),
                "metrics": (series_metric | None, Field(None, description="null: no evaluated pair yet")),
                "pairs": (list[PairPoint], Field(description="sorted by datetime_utc, then horizon")),
            },
        ),
        series_quality=quality_row,
        quality=_model(
            "QualityResponse",
            "Facts of the latest feature snapshot, its validation result and per-series coverage.",
            {"coverage": (list_of(quality_row), Field(description="least complete first"))},
            QualityHead,
        ),
        code_lists={
            key.name: _model(
                f"{key.plural.title().replace('_', '').replace('-', '')}Response",
                f"The {key.title} codes with readable labels.",
                {code_field(key): (list[CodeLabel], ...)},
            )
            for key in spec.keys
        },
    )
