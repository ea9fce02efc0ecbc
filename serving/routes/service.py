"""Service routes: liveness, readiness, what is served (``/meta``), the dataset, Prometheus."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from components.datasets import UNIT
from components.version import __version__
from serving.deps import CacheDep, ServiceDep, StrictQueryRoute, ViewDep
from serving.models import (
    API_PREFIX,
    DatasetMeta,
    DatasetResponse,
    ForecastMeta,
    HealthResponse,
    MetaResponse,
    MonitoringMeta,
    ObservationsMeta,
    ReadyResponse,
)
from serving.refresher import SOURCES
from serving.view import View

NO_STORE = {"Cache-Control": "no-store"}


def _json(body: str | bytes, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def meta(service: ServiceDep, view: View) -> MetaResponse:
    state, spec = service.state, service.spec
    forecast = observations = monitoring = None
    if view.forecast is not None:
        md = view.forecast.metadata
        forecast = ForecastMeta(
            run_id=view.forecast.pointer.run_id,
            scheduled_time=md.scheduled_time,
            generated_at=md.generated_at,
            data_end=view.forecast.data_end,
            forecast_start=view.forecast.forecast_start,
            model_name=md.model_name,
            model_version=md.model_version,
            feature_snapshot=md.feature_snapshot,
            series=len(view.forecast.points),
            rows=sum(len(p) for p in view.forecast.points.values()),
            horizon=md.horizon,
            has_band=md.has_band,
            unit=md.unit,
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
        dataset=DatasetMeta(name=spec.name, keys=list(spec.key_names), unit=UNIT),
        etag=view.etag,
        storage_reachable=state.storage_reachable,
        last_check_at=state.last_check_at,
        last_change_at=state.last_change_at,
        forecast=forecast,
        observations=observations,
        monitoring=monitoring,
        errors=[state.errors[s] for s in SOURCES if s in state.errors],
    )


def router() -> APIRouter:
    routes = APIRouter(prefix=API_PREFIX, tags=["service"], route_class=StrictQueryRoute)

    @routes.get("/health", response_model=HealthResponse, summary="Liveness")
    async def health() -> Response:
        """Always 200 while the process runs; never touches storage."""
        return _json(HealthResponse(version=__version__).model_dump_json())

    @routes.get(
        "/ready",
        response_model=ReadyResponse,
        summary="Readiness",
        responses={503: {"model": ReadyResponse, "description": "no forecast loaded"}},
    )
    async def ready(service: ServiceDep, view: ViewDep) -> Response:
        """200 when a forecast is loaded, 503 (same body, `ready: false`) otherwise. `stale` is true
        when the forecast is older than `stale_after_hours`."""
        state, settings = service.state, service.settings
        age = state.age_hours()
        body = ReadyResponse(
            ready=view.forecast is not None,
            forecast_run_id=None if view.forecast is None else view.forecast.pointer.run_id,
            forecast_generated_at=None if view.forecast is None else view.forecast.metadata.generated_at,
            age_hours=None if age is None else round(age, 4),
            stale=age is not None and age > settings.api_stale_after_hours,
            stale_after_hours=settings.api_stale_after_hours,
            storage_reachable=state.storage_reachable,
            reason=state.not_ready_reason()
            or (state.errors["forecast"].message if "forecast" in state.errors else None),
        )
        if body.ready:
            return _json(body.model_dump_json(), NO_STORE)
        return _json(
            body.model_dump_json(), {**NO_STORE, "Retry-After": str(settings.api_retry_after_s)}, 503
        )

    @routes.get("/meta", response_model=MetaResponse, summary="What is served")
    async def meta_route(service: ServiceDep, view: ViewDep) -> Response:
        """The dataset, its keys and unit; the served forecast (when it was made, the newest hour with
        data, model version, feature snapshot) and the GCS generations of the served objects; `errors`
        holds the latest load failure per source (the last good object stays in service)."""
        return _json(meta(service, view).model_dump_json(), {"Cache-Control": "no-cache"})

    @routes.get("/dataset", response_model=DatasetResponse, summary="The dataset and its series keys")
    async def dataset(request: Request, view: ViewDep, cache: CacheDep) -> Response:
        """Name, title, unit and series keys of the served dataset, each key with its code list (a
        closed list from the dataset's spec, or the codes in the served data with learned labels)."""
        return cache.respond(request, view.etag, view.dataset)

    @routes.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def prometheus(service: ServiceDep) -> Response:
        """Request counts and latencies, storage checks, loads, load failures, forecast age."""
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return routes
