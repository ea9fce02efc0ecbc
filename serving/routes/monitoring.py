"""Monitoring routes: accuracy over time, per horizon and per series; observed vs forecast of one series."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from serving.deps import CacheDep, KeyParams, MonitoringViewDep, ServiceDep, StrictQueryRoute
from serving.errors import NOT_FOUND, NOT_MODIFIED, UNAVAILABLE
from serving.loaders import Key
from serving.models import API_PREFIX


def router(params: KeyParams) -> APIRouter:
    routes = APIRouter(prefix=API_PREFIX, tags=["monitoring"], route_class=StrictQueryRoute)
    models = params.models

    @routes.get(
        "/monitoring/metrics",
        response_model=models.monitoring_metrics,
        summary="Accuracy over time",
        description=(
            "MAPE/WAPE per forecast run (accuracy over time), per horizon and per series (worst first), "
            "freshness, drift and the needs-attention flag of the latest monitoring run. "
            "503 when monitoring has not run yet."
        ),
        responses={**NOT_MODIFIED, **UNAVAILABLE},
    )
    async def metrics(request: Request, view: MonitoringViewDep, cache: CacheDep) -> Response:
        assert view.monitoring_metrics is not None
        return cache.respond(request, view.etag, view.monitoring_metrics)

    @routes.get(
        f"/monitoring/series/{params.path}",
        response_model=models.monitoring_series,
        summary="Observed vs forecast for one series",
        description=(
            "Every evaluated (forecast, observation) pair of the series over the monitoring window and "
            "its metrics; an empty list and null metrics when the series has no evaluated pair yet."
        ),
        responses={**NOT_MODIFIED, **NOT_FOUND, **UNAVAILABLE},
    )
    async def series(
        request: Request,
        key: Annotated[Key, Depends(params.series_key)],
        view: MonitoringViewDep,
        cache: CacheDep,
        service: ServiceDep,
    ) -> Response:
        assert view.monitoring is not None
        body = view.monitoring_series.get(key)
        if body is None:
            body = service.builder.monitoring_series(
                key, view.labels, view.monitoring.pointer.run_id, None, []
            )
        return cache.respond(request, view.etag, body)

    return routes
