"""The served view: every answer pre-serialised once per load, and the ETag of the loaded generations.

A :class:`View` is immutable; a refresh builds a new one (:meth:`ViewBuilder.build`) and swaps it in
as one reference assignment, so a request always sees one consistent view. Bodies are bytes (and
gzipped bytes for the large ones), so the hot routes only pick and send.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from components.datasets import UNIT, DatasetSpec, SeriesKey
from serving.loaders import ForecastData, Key, MonitoringData, ObservationData, finite
from serving.models import (
    API_PREFIX,
    ApiModels,
    CodeLabel,
    DatasetResponse,
    DriftInfo,
    ForecastPoint,
    FreshnessInfo,
    KeyInfo,
    ObservationPoint,
    code_field,
)

GZIP_LEVEL = 6
SOURCE = "Energinet (www.energidataservice.dk), CC BY 4.0"
Labels = dict[str, dict[str, str]]


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SeriesEntry:
    """One series, pre-serialised: its JSON body (plain and gzipped) and its ``/forecasts`` parts."""

    fields: dict[str, Any]
    """every field of the series answer but its points"""
    observations: list[ObservationPoint]
    forecast: list[ForecastPoint]
    body: bytes
    body_gzip: bytes
    json_rows: bytes
    csv_rows: str


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
    monitoring_metrics: bytes | None = None
    monitoring_series: dict[Key, bytes] = field(default_factory=dict)
    quality: bytes | None = None
    dataset: bytes = b""
    code_lists: dict[str, bytes] = field(default_factory=dict)
    labels: Labels = field(default_factory=dict)
    """labels learned from the data (the forecast metadata's), key -> code -> label"""
    etag: str | None = None

    def selected(self, filters: dict[str, set[str] | None]) -> list[SeriesEntry]:
        """The series whose code of every filtered key is among the chosen ones."""
        chosen = [(i, codes) for i, codes in enumerate(filters.values()) if codes is not None]
        return [e for key, e in self.series.items() if all(key[i] in codes for i, codes in chosen)]


class ViewBuilder:
    """Builds the views of one app: its dataset spec, its response models, its observation window."""

    def __init__(self, spec: DatasetSpec, models: ApiModels, observation_hours: int) -> None:
        self.spec = spec
        self.models = models
        self.observation_hours = observation_hours
        self.csv_header = ",".join(spec.forecast_columns) + "\r\n"

    # --- labels ------------------------------------------------------------------------------
    def key_fields(self, key: Key, labels: Labels, with_labels: bool = False) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for spec_key, code in zip(self.spec.keys, key, strict=True):
            fields[spec_key.name] = code
            if with_labels:
                fields[f"{spec_key.name}_label"] = spec_key.codes.get(code) or labels.get(
                    spec_key.name, {}
                ).get(code)
        fields["label"] = self.spec.series_label(key, labels)
        return fields

    def known_codes(self, key: SeriesKey, view_parts: Iterable[Iterable[Key]], labels: Labels) -> list[str]:
        if key.closed:
            return list(key.codes)
        position = self.spec.key_names.index(key.name)
        found = {k[position] for part in view_parts for k in part} | set(labels.get(key.name, {}))
        return sorted(found)

    def code_labels(self, key: SeriesKey, codes: list[str], labels: Labels) -> list[CodeLabel]:
        learned = labels.get(key.name, {})
        return [CodeLabel(code=c, label=key.codes.get(c) or learned.get(c) or c) for c in codes]

    # --- the view ----------------------------------------------------------------------------
    def build(
        self,
        forecast: ForecastData | None,
        observations: ObservationData | None,
        monitoring: MonitoringData | None,
    ) -> View:
        labels: Labels = {} if forecast is None else forecast.metadata.labels
        series = {} if forecast is None else self.series(forecast, observations, labels)
        entries = list(series.values())
        all_json = b"" if forecast is None else self.forecasts_json(forecast, entries)
        all_csv = b"" if forecast is None else self.forecasts_csv(entries)
        parts = [
            f"{tag}{data.generation}"
            for tag, data in (("f", forecast), ("o", observations), ("m", monitoring))
            if data is not None
        ]
        keyed: list[Iterable[Key]] = [
            forecast.points if forecast else (),
            observations.points if observations else (),
            monitoring.by_series if monitoring else (),
        ]
        codes = {key.name: self.known_codes(key, keyed, labels) for key in self.spec.keys}
        metrics, per_series = (None, {}) if monitoring is None else self.monitoring(monitoring, labels)
        return View(
            forecast=forecast,
            observations=observations,
            monitoring=monitoring,
            series=series,
            forecasts_json=all_json,
            forecasts_json_gzip=gzipped(all_json),
            forecasts_csv=all_csv,
            forecasts_csv_gzip=gzipped(all_csv),
            monitoring_metrics=metrics,
            monitoring_series=per_series,
            quality=None if observations is None else self.quality(observations, labels),
            dataset=self.dataset(codes, labels),
            code_lists={
                key.name: self.models.code_lists[key.name](
                    **{code_field(key): self.code_labels(key, codes[key.name], labels)}
                )
                .model_dump_json()
                .encode()
                for key in self.spec.keys
            },
            labels=labels,
            etag=f'W/"{"-".join(parts)}"' if parts else None,
        )

    def series(
        self, forecast: ForecastData, observations: ObservationData | None, labels: Labels
    ) -> dict[Key, SeriesEntry]:
        md = forecast.metadata
        meta = {
            "run_id": forecast.pointer.run_id,
            "generated_at": md.generated_at,
            "model_version": md.model_version,
            "has_band": md.has_band,
            "unit": md.unit,
        }
        out: dict[Key, SeriesEntry] = {}
        for key, points in forecast.points.items():
            fields = {**self.key_fields(key, labels, with_labels=True), **meta}
            seen = [] if observations is None else observations.points.get(key, [])
            body = self.series_body(fields, seen, points)
            codes = dict(zip(self.spec.key_names, key, strict=True))
            rows = [self.models.forecast_row(**codes, **p.model_dump()).model_dump_json() for p in points]
            out[key] = SeriesEntry(
                fields=fields,
                observations=seen,
                forecast=points,
                body=body,
                body_gzip=gzipped(body),
                json_rows=",".join(rows).encode(),
                csv_rows=self.csv_rows(key, points),
            )
        return out

    def series_body(
        self, fields: dict[str, Any], observations: list[ObservationPoint], forecast: list[ForecastPoint]
    ) -> bytes:
        answer = self.models.series_forecast(**fields, observations=observations, forecast=forecast)
        return answer.model_dump_json().encode()

    def csv_rows(self, key: Key, points: list[ForecastPoint]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for p in points:
            lower = "" if p.forecast_lower is None else repr(p.forecast_lower)
            upper = "" if p.forecast_upper is None else repr(p.forecast_upper)
            writer.writerow([*key, iso(p.datetime_utc), p.horizon, repr(p.forecast), lower, upper])
        return buffer.getvalue()

    def forecasts_json(self, forecast: ForecastData, entries: list[SeriesEntry]) -> bytes:
        """The body of ``GET /forecasts``: the head, then the pre-serialised rows of ``entries``."""
        md = forecast.metadata
        head = self.models.forecasts(
            run_id=forecast.pointer.run_id,
            generated_at=md.generated_at,
            model_version=md.model_version,
            has_band=md.has_band,
            unit=md.unit,
            series=len(entries),
            rows=[],
        ).model_dump_json()
        assert head.endswith('"rows":[]}'), "rows must be the last field of ForecastsResponse"
        rows = b",".join(e.json_rows for e in entries if e.json_rows)
        return head[: -len("]}")].encode() + rows + b"]}"

    def forecasts_csv(self, entries: list[SeriesEntry]) -> bytes:
        return (self.csv_header + "".join(e.csv_rows for e in entries)).encode()

    def monitoring(self, data: MonitoringData, labels: Labels) -> tuple[bytes, dict[Key, bytes]]:
        """The body of ``/monitoring/metrics`` and of ``/monitoring/series/…`` per evaluated series."""
        summary = data.summary
        metric = {
            key: self.models.series_metric(**self.key_fields(key, labels), **m)
            for key, m in data.by_series.items()
        }
        worst_first = sorted(metric, key=lambda k: (-(data.by_series[k]["wape"] or -1.0), k))
        metrics = self.models.monitoring_metrics(
            run_id=summary.run_id,
            generated_at=summary.generated_at,
            evaluated_forecast_runs=summary.evaluated_forecast_runs,
            evaluated_pairs=summary.evaluated_pairs,
            overall_mape=finite(summary.overall_mape),
            overall_wape=finite(summary.overall_wape),
            rolling_wape=finite(summary.rolling_wape),
            wape_threshold=summary.wape_threshold,
            overall_coverage_80=finite(summary.overall_coverage_80),
            overall_pinball=finite(summary.overall_pinball),
            rolling_coverage_80=finite(summary.rolling_coverage_80),
            rolling_pinball=finite(summary.rolling_pinball),
            coverage_range=summary.coverage_range,
            needs_attention=summary.needs_attention,
            reason=summary.reason,
            freshness=FreshnessInfo.model_validate(summary.freshness.model_dump()),
            drift=None if summary.drift is None else DriftInfo.model_validate(summary.drift.model_dump()),
            by_forecast_run=data.by_run,
            by_horizon=data.by_horizon,
            by_series=[metric[k] for k in worst_first],
        )
        per_series = {
            key: self.monitoring_series(
                key, labels, data.pointer.run_id, metric.get(key), data.pairs.get(key, [])
            )
            for key in sorted(set(data.pairs) | set(metric))
        }
        return metrics.model_dump_json().encode(), per_series

    def monitoring_series(
        self, key: Key, labels: Labels, run_id: str, metrics: Any, pairs: list[Any]
    ) -> bytes:
        answer = self.models.monitoring_series(
            **self.key_fields(key, labels), run_id=run_id, metrics=metrics, pairs=pairs
        )
        return answer.model_dump_json().encode()

    def quality(self, observations: ObservationData, labels: Labels) -> bytes:
        manifest = observations.manifest
        expected = self.observation_hours
        coverage = sorted(
            (
                (len(points) - expected, key, points[-1].datetime_utc if points else None, len(points))
                for key, points in observations.points.items()
            ),
            key=lambda row: (row[0], row[1]),
        )
        pointer = observations.pointer
        answer = self.models.quality(
            run_id=pointer.run_id,
            snapshot=pointer.snapshot,
            window_start=pointer.window_start,
            window_end=pointer.window_end,
            rows=pointer.rows,
            series=manifest.series,
            sha256=pointer.sha256,
            validation=manifest.validation_result,
            quarantined_by_rule=manifest.validation_result.quarantine_counts(),
            long_gap_hours=manifest.validation_result.long_gap_hours,
            manifest=manifest.model_dump(mode="json", exclude={"validation_result"}),
            coverage=[
                self.models.series_quality(
                    **self.key_fields(key, labels),
                    hours=hours,
                    expected_hours=expected,
                    newest_observation=newest,
                )
                for _, key, newest, hours in coverage
            ],
        )
        return answer.model_dump_json().encode()

    def dataset(self, codes: dict[str, list[str]], labels: Labels) -> bytes:
        spec = self.spec
        path = "/".join(f"{{{name}}}" for name in spec.key_names)
        answer = DatasetResponse(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            unit=UNIT,
            live=spec.is_live,
            last_hour=spec.last_hour,
            keys=[
                KeyInfo(
                    name=key.name,
                    title=key.title,
                    plural=key.plural,
                    route=f"{API_PREFIX}{key.route}",
                    closed=key.closed,
                    codes=self.code_labels(key, codes[key.name], labels),
                )
                for key in spec.keys
            ],
            series_route=f"{API_PREFIX}/forecasts/{path}",
            monitoring_series_route=f"{API_PREFIX}/monitoring/series/{path}",
            source=SOURCE,
        )
        return answer.model_dump_json().encode()
