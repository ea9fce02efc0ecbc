"""The FastAPI forecasts API: serves forecasts, observations and monitoring from memory.

``create_app()`` builds the app; its lifespan loads the latest objects once (in a worker thread)
and then starts the background refresher, which re-reads a source only when the GCS generation of
its ``latest.json`` pointer changes. Data routes answer from pre-serialised bodies, with a weak
ETag made of the loaded generations, ``Cache-Control``, and gzip for large bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BeforeValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from components.schemas import AREAS, CONSUMER_TYPES, FORECAST_COLUMNS, series_label
from components.storage import ObjectStore
from components.version import __version__
from serving.models import (
    API_PREFIX,
    AreasResponse,
    CodeLabel,
    ConsumerTypesResponse,
    ErrorResponse,
    ForecastsResponse,
    HealthResponse,
    MetaResponse,
    MonitoringMetricsResponse,
    MonitoringSeriesResponse,
    QualityResponse,
    ReadyResponse,
    SeriesForecastResponse,
)
from serving.settings import ApiSettings, get_api_settings
from serving.state import GZIP_LEVEL, SOURCES, ServingState, Source, View, forecasts_csv, forecasts_json

log = logging.getLogger(__name__)

AREA_PATTERN = r"^[A-Za-z0-9]{1,16}$"
CTYPE_PATTERN = r"^[A-Za-z0-9]{1,16}$"

AreaPath = Annotated[
    str, Path(pattern=AREA_PATTERN, description="price area code, see /areas", examples=["DK1"])
]
CtypePath = Annotated[
    str,
    Path(pattern=CTYPE_PATTERN, description="DE35 consumer-type code, see /consumer-types", examples=["111"]),
]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    """Only RFC 3339 date-times with an offset (pydantic alone would also take epoch numbers)."""
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2023-01-17T23:00:00Z")
    return value


Rfc3339 = Annotated[datetime, BeforeValidator(_rfc3339)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "unknown area or consumer type; `valid` lists the codes"}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorResponse,
        "description": "the data is not loaded (storage unreachable or not written yet); see Retry-After",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    }
}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "the client's copy (If-None-Match) is current"}
}


# --- Prometheus ------------------------------------------------------------------------------------
class Metrics:
    """The service's metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ef_api_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ef_api_request_duration_seconds",
            "time to answer a request, by route template",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.checks = Counter(
            "ef_api_storage_checks",
            "generation checks of the latest pointers",
            ["ok"],
            registry=self.registry,
        )
        self.loads = Counter(
            "ef_api_loads",
            "loads of a new generation, by source and outcome",
            ["source", "ok"],
            registry=self.registry,
        )

    def on_event(self, kind: str, source: Source, ok: bool) -> None:
        if kind == "check":
            self.checks.labels(ok=str(ok).lower()).inc()
        else:
            self.loads.labels(source=source, ok=str(ok).lower()).inc()


class StateCollector(Collector):
    """Gauges read from the state at scrape time."""

    def __init__(self, state: ServingState) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.state
        view = state.view
        yield GaugeMetricFamily(
            "ef_api_ready", "1 when a forecast is loaded", value=int(view.forecast is not None)
        )
        yield GaugeMetricFamily(
            "ef_api_storage_reachable",
            "1 when the last storage check succeeded",
            value=int(state.storage_reachable),
        )
        age = state.age_hours()
        yield GaugeMetricFamily(
            "ef_api_forecast_age_seconds",
            "seconds since the served forecast was generated (-1 when none)",
            value=-1 if age is None else age * 3600,
        )
        failing = GaugeMetricFamily(
            "ef_api_load_failing",
            "1 when the newest generation of a source could not be loaded (the last good one is served)",
            labels=["source"],
        )
        generation = GaugeMetricFamily(
            "ef_api_generation", "GCS generation of the served pointer, by source", labels=["source"]
        )
        loaded = {"forecast": view.forecast, "observations": view.observations, "monitoring": view.monitoring}
        for source in SOURCES:
            failing.add_metric([source], int(source in state.errors))
            data = loaded[source]
            generation.add_metric([source], -1 if data is None else data.generation)
        yield failing
        yield generation


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route=route, method=scope["method"], status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - started)


class SeriesFastPath:
    """Answers ``GET /api/v1/forecasts/{area}/{consumer_type}`` without a query string, for a loaded
    series, straight from the pre-serialised body (the hot route of the dashboard).

    Only keys present in the served view take this path, so the answer is byte-for-byte what the
    FastAPI route would send; everything else (unknown codes, ``start``/``end``, not loaded) falls
    through to the routed handler. Disabled with ``EF_API_FAST_PATH=false``.
    """

    def __init__(self, app: ASGIApp, api: Api, route: Any) -> None:
        self.app = app
        self.api = api
        self.route = route
        self.prefix = f"{API_PREFIX}/forecasts/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
            and scope["path"].startswith(self.prefix)
        ):
            area, _, ctype = scope["path"][len(self.prefix) :].partition("/")
            view = self.api.state.view
            entry = view.series.get((area, ctype))
            if entry is not None:
                scope["route"] = self.route
                inm, gzip_ok = None, False
                for name, value in scope["headers"]:
                    if name == b"if-none-match":
                        inm = value.decode("latin-1")
                    elif name == b"accept-encoding":
                        gzip_ok = b"gzip" in value
                status, headers, body = self.api.conditional(
                    view, entry.body, "application/json", gzip_ok, inm, entry.body_gzip
                )
                raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
                if status != 304:
                    raw.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


# --- helpers ---------------------------------------------------------------------------------------
def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    ours = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == ours:
            return True
    return False


def _with_suffix(etag: str, suffix: str) -> str:
    return etag if not suffix else f'{etag[:-1]}-{suffix}"'


def _error(
    status: int, detail: str, valid: list[str] | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = ErrorResponse(detail=detail, valid=valid).model_dump_json().encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bad_query(name: str, message: str, value: Any) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", name), "msg": message, "input": str(value)}]
    )


def _check_codes(area: str | None, ctype: str | None) -> Response | None:
    if area is not None and area not in AREAS:
        return _error(404, f"unknown area {area!r}", sorted(AREAS))
    if ctype is not None and ctype not in CONSUMER_TYPES:
        return _error(404, f"unknown consumer type {ctype!r}", sorted(CONSUMER_TYPES))
    return None


class Api:
    """The routes' shared context: settings, state and the response helpers that need them."""

    def __init__(self, settings: ApiSettings, state: ServingState) -> None:
        self.settings = settings
        self.state = state
        self.cache_control = f"public, max-age={settings.api_cache_max_age_s}"

    def unavailable(self, what: str) -> Response:
        return _error(
            503,
            what,
            headers={"Retry-After": str(self.settings.api_retry_after_s), "Cache-Control": "no-store"},
        )

    def data(
        self,
        request: Request,
        view: View,
        body: bytes,
        media_type: str = "application/json",
        body_gzip: bytes | None = None,
        etag_suffix: str = "",
        extra: dict[str, str] | None = None,
    ) -> Response:
        gzip_ok = "gzip" in request.headers.get("accept-encoding", "")
        status, headers, body = self.conditional(
            view,
            body,
            media_type,
            gzip_ok,
            request.headers.get("if-none-match"),
            body_gzip,
            etag_suffix,
            extra,
        )
        if status == 304:
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers)

    def conditional(
        self,
        view: View,
        body: bytes,
        media_type: str,
        accepts_gzip: bool,
        if_none_match: str | None,
        body_gzip: bytes | None = None,
        etag_suffix: str = "",
        extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of a data answer: 304 on a matching ETag, gzip when accepted.

        Large bodies are gzipped here (pre-compressed ones as they are), not by a middleware, so
        that the fast path and the routes send the same headers.
        """
        headers = {"Cache-Control": self.cache_control, "Vary": "Accept, Accept-Encoding"}
        if view.etag is not None:
            etag = _with_suffix(view.etag, etag_suffix)
            headers["ETag"] = etag
            if _etag_matches(if_none_match, etag):
                return 304, headers, b""
        headers["Content-Type"] = media_type
        if extra:
            headers.update(extra)
        if accepts_gzip and len(body) >= self.settings.api_gzip_min_bytes:
            headers["Content-Encoding"] = "gzip"
            body = body_gzip if body_gzip is not None else gzip.compress(body, GZIP_LEVEL, mtime=0)
        return 200, headers, body


def build_router(api: Api) -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    state = api.state
    settings = api.settings

    @router.get(
        "/health",
        response_model=HealthResponse,
        tags=["service"],
        summary="Liveness",
        description="Always 200 while the process runs; never touches storage.",
    )
    async def health() -> HealthResponse:
        return HealthResponse(version=__version__)

    @router.get(
        "/ready",
        response_model=ReadyResponse,
        tags=["service"],
        summary="Readiness",
        description=(
            "200 when a forecast is loaded, 503 (same body, `ready: false`) otherwise. "
            "`stale` is true when the forecast is older than `stale_after_hours`."
        ),
        responses={503: {"model": ReadyResponse, "description": "no forecast loaded"}},
    )
    async def ready() -> Response:
        view = state.view
        age = state.age_hours()
        stale_after = settings.api_stale_after_hours
        body = ReadyResponse(
            ready=view.forecast is not None,
            forecast_run_id=None if view.forecast is None else view.forecast.pointer.run_id,
            forecast_generated_at=None if view.forecast is None else view.forecast.metadata.generated_at,
            age_hours=None if age is None else round(age, 4),
            stale=age is not None and age > stale_after,
            stale_after_hours=stale_after,
            storage_reachable=state.storage_reachable,
            reason=state.not_ready_reason()
            or (state.errors["forecast"].message if "forecast" in state.errors else None),
        )
        status = 200 if body.ready else 503
        headers = {"Cache-Control": "no-store"}
        if status == 503:
            headers["Retry-After"] = str(settings.api_retry_after_s)
        return Response(
            body.model_dump_json(), status_code=status, media_type="application/json", headers=headers
        )

    areas_body = AreasResponse(areas=[CodeLabel(code=c, label=lbl) for c, lbl in AREAS.items()])
    ctypes_body = ConsumerTypesResponse(
        consumer_types=[CodeLabel(code=c, label=lbl) for c, lbl in CONSUMER_TYPES.items()]
    )
    static_headers = {"Cache-Control": "public, max-age=86400"}

    @router.get(
        "/areas",
        response_model=AreasResponse,
        tags=["codes"],
        summary="Price areas",
        description="The price-area codes with readable labels.",
    )
    async def areas() -> Response:
        return Response(areas_body.model_dump_json(), media_type="application/json", headers=static_headers)

    @router.get(
        "/consumer-types",
        response_model=ConsumerTypesResponse,
        tags=["codes"],
        summary="Consumer types",
        description="The DE35 consumer-type codes with readable labels.",
    )
    async def consumer_types() -> Response:
        return Response(ctypes_body.model_dump_json(), media_type="application/json", headers=static_headers)

    @router.get(
        "/forecasts/{area}/{consumer_type}",
        response_model=SeriesForecastResponse,
        tags=["forecasts"],
        summary="One series: recent observations and the current forecast",
        description=(
            "The last observations (168 h by default) and the current 24 h forecast with its band "
            "(null when the model has none). `start`/`end` (RFC 3339 with offset, e.g. "
            "`2023-01-17T23:00:00Z`) keep only points with start <= datetime_utc <= end."
        ),
        responses={**NOT_MODIFIED, **NOT_FOUND, **UNAVAILABLE},
    )
    async def series(
        request: Request,
        area: AreaPath,
        consumer_type: CtypePath,
        start: Annotated[Rfc3339 | None, Query(description="keep points at or after this time")] = None,
        end: Annotated[Rfc3339 | None, Query(description="keep points at or before this time")] = None,
    ) -> Response:
        if (bad := _check_codes(area, consumer_type)) is not None:
            return bad
        view = state.view
        if view.forecast is None:
            return api.unavailable(state.not_ready_reason())
        entry = view.series.get((area, consumer_type))
        if entry is None:
            served = sorted(c for a, c in view.series if a == area)
            return _error(
                404,
                f"no forecast for series {area}/{consumer_type} in run {view.forecast.pointer.run_id}",
                served,
            )
        if start is None and end is None:
            return api.data(request, view, entry.body, body_gzip=entry.body_gzip)
        lo, hi = _utc(start), _utc(end)
        if lo is not None and hi is not None and lo > hi:
            raise _bad_query("start", "start must not be after end", start)
        first = lo or datetime.min.replace(tzinfo=UTC)
        last = hi or datetime.max.replace(tzinfo=UTC)
        model = entry.model
        cut = model.model_copy(
            update={
                "observations": [p for p in model.observations if first <= p.datetime_utc <= last],
                "forecast": [p for p in model.forecast if first <= p.datetime_utc <= last],
            }
        )
        return api.data(request, view, cut.model_dump_json().encode())

    @router.get(
        "/forecasts",
        response_model=ForecastsResponse,
        tags=["forecasts"],
        summary="All series' current forecasts",
        description=(
            "Every forecast row of the current run, optionally only some areas and consumer types "
            "(repeat the parameter). JSON by default; CSV with `format=csv` or `Accept: text/csv` "
            f"(columns: {', '.join(FORECAST_COLUMNS)})."
        ),
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
            **NOT_MODIFIED,
            **NOT_FOUND,
            **UNAVAILABLE,
        },
    )
    async def forecasts(
        request: Request,
        areas: Annotated[list[str] | None, Query(description="price-area codes to keep")] = None,
        consumer_types: Annotated[list[str] | None, Query(description="consumer-type codes to keep")] = None,
        format: Annotated[
            Literal["json", "csv"] | None, Query(description="overrides the Accept header")
        ] = None,
    ) -> Response:
        for code in areas or []:
            if (bad := _check_codes(code, None)) is not None:
                return bad
        for code in consumer_types or []:
            if (bad := _check_codes(None, code)) is not None:
                return bad
        view = state.view
        if view.forecast is None:
            return api.unavailable(state.not_ready_reason())
        if format is None:
            accept = request.headers.get("accept", "")
            format = "csv" if "text/csv" in accept and "application/json" not in accept else "json"
        everything = not areas and not consumer_types
        if format == "csv":
            body: bytes = view.forecasts_csv
            body_gzip: bytes | None = view.forecasts_csv_gzip
            if not everything:
                chosen = view.selected(
                    set(areas) if areas else None, set(consumer_types) if consumer_types else None
                )
                body, body_gzip = forecasts_csv([e for _, e in chosen]), None
            filename = f"forecast-{view.forecast.pointer.run_id}.csv"
            return api.data(
                request,
                view,
                body,
                media_type="text/csv; charset=utf-8",
                body_gzip=body_gzip,
                etag_suffix="csv",
                extra={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        if everything:
            return api.data(request, view, view.forecasts_json, body_gzip=view.forecasts_json_gzip)
        chosen = view.selected(set(areas) if areas else None, set(consumer_types) if consumer_types else None)
        return api.data(request, view, forecasts_json(view.forecast, [e for _, e in chosen]))

    def _no_monitoring() -> Response:
        if not state.storage_reachable and state.view.monitoring is None:
            return api.unavailable(f"monitoring not available: {state.storage_error}")
        if "monitoring" in state.errors:
            return api.unavailable(f"monitoring not available: {state.errors['monitoring'].message}")
        return api.unavailable(
            "monitoring not available: monitoring/latest.json not found (monitoring has not run yet)"
        )

    @router.get(
        "/monitoring/metrics",
        response_model=MonitoringMetricsResponse,
        tags=["monitoring"],
        summary="Accuracy over time",
        description=(
            "MAPE/WAPE per forecast run (accuracy over time), per horizon and per series (worst first), "
            "freshness, drift and the needs-attention flag of the latest monitoring run. "
            "503 when monitoring has not run yet."
        ),
        responses={**NOT_MODIFIED, **UNAVAILABLE},
    )
    async def monitoring_metrics(request: Request) -> Response:
        view = state.view
        if view.monitoring is None:
            return _no_monitoring()
        return api.data(request, view, view.monitoring.metrics_body)

    @router.get(
        "/monitoring/series/{area}/{consumer_type}",
        response_model=MonitoringSeriesResponse,
        tags=["monitoring"],
        summary="Observed vs forecast for one series",
        description=(
            "Every evaluated (forecast, observation) pair of the series over the monitoring window and "
            "its metrics; an empty list and null metrics when the series has no evaluated pair yet."
        ),
        responses={**NOT_MODIFIED, **NOT_FOUND, **UNAVAILABLE},
    )
    async def monitoring_series(request: Request, area: AreaPath, consumer_type: CtypePath) -> Response:
        if (bad := _check_codes(area, consumer_type)) is not None:
            return bad
        view = state.view
        if view.monitoring is None:
            return _no_monitoring()
        key = (area, consumer_type)
        body = view.monitoring.series_bodies.get(key)
        if body is None:
            body = (
                MonitoringSeriesResponse(
                    area=area,
                    consumer_type=consumer_type,
                    label=series_label(area, consumer_type),
                    run_id=view.monitoring.pointer.run_id,
                    metrics=None,
                    pairs=[],
                )
                .model_dump_json()
                .encode()
            )
        return api.data(request, view, body)

    @router.get(
        "/meta",
        response_model=MetaResponse,
        tags=["service"],
        summary="What is served",
        description=(
            "Model version, feature snapshot, forecast generated-at and the GCS generations of the "
            "served objects; `errors` holds the latest load failure per source (the last good object "
            "stays in service)."
        ),
    )
    async def meta() -> Response:
        return Response(
            state.meta().model_dump_json(),
            media_type="application/json",
            headers={"Cache-Control": "no-cache"},
        )

    @router.get(
        "/quality",
        response_model=QualityResponse,
        tags=["monitoring"],
        summary="Data quality of the latest feature snapshot",
        description=(
            "Window, rows, checksum and validation result (as the feature step wrote it) of the "
            "snapshot the observations come from, and the per-series coverage of the served window."
        ),
        responses={**NOT_MODIFIED, **UNAVAILABLE},
    )
    async def quality(request: Request) -> Response:
        view = state.view
        if view.quality_body is None:
            reason = (
                state.errors["observations"].message
                if "observations" in state.errors
                else (state.storage_error or "no feature snapshot found")
            )
            return api.unavailable(f"observations not available: {reason}")
        return api.data(request, view, view.quality_body)

    return router


# --- the app ---------------------------------------------------------------------------------------
async def _refresh(state: ServingState) -> None:
    try:
        await asyncio.to_thread(state.refresh)
    except Exception:  # never let the refresher die
        log.exception("refresh failed")


async def _refresher(state: ServingState, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await _refresh(state)


def create_app(settings: ApiSettings | None = None, store: ObjectStore | None = None) -> FastAPI:
    """The API. ``store`` overrides the object store made from the settings (tests, benchmarks)."""
    settings = settings or get_api_settings()
    metrics = Metrics()
    state = ServingState(settings, (lambda: store) if store is not None else None, metrics.on_event)
    metrics.registry.register(StateCollector(state))
    api = Api(settings, state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _refresh(state)
        if state.view.forecast is None:
            log.warning("starting without a forecast: %s", state.not_ready_reason())
        task = asyncio.create_task(_refresher(state, settings.api_refresh_interval_s), name="refresher")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="energy-forecasting API",
        version=__version__,
        summary="Hourly electricity-consumption forecasts for Denmark (DK1/DK2 x DE35 consumer types).",
        description=(
            "Served from memory; refreshed when the pipeline moves a `latest.json` pointer. "
            "Timestamps are ISO-8601 UTC; energy is kWh. "
            "Source data: Energinet (www.energidataservice.dk), CC BY 4.0."
        ),
        lifespan=lifespan,
    )
    app.state.serving = state
    app.state.metrics = metrics
    app.include_router(build_router(api))

    @app.get(
        f"{API_PREFIX}/metrics",
        tags=["service"],
        summary="Prometheus metrics",
        description="Request counts and latencies, storage checks, loads, load failures, forecast age.",
        response_class=PlainTextResponse,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if settings.api_fast_path:
        route = SimpleNamespace(path=f"{API_PREFIX}/forecasts/{{area}}/{{consumer_type}}")  # metrics label
        app.add_middleware(SeriesFastPath, api=api, route=route)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET"],
            allow_headers=["If-None-Match", "Accept"],
            expose_headers=["ETag", "Retry-After"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
