"""Data-quality route: the latest feature snapshot, its validation result and per-series coverage."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serving.deps import CacheDep, KeyParams, QualityViewDep, StrictQueryRoute
from serving.errors import NOT_MODIFIED, UNAVAILABLE
from serving.models import API_PREFIX


def router(params: KeyParams) -> APIRouter:
    routes = APIRouter(prefix=API_PREFIX, tags=["monitoring"], route_class=StrictQueryRoute)

    @routes.get(
        "/quality",
        response_model=params.models.quality,
        summary="Data quality of the latest feature snapshot",
        description=(
            "Window, rows, checksum and validation result (as the feature step wrote it: every rule, "
            "the gaps the validate step filled, the points it quarantined and the long gaps it left "
            "missing) of the snapshot the observations come from, the quarantined points per rule, "
            "and the per-series coverage of the served window."
        ),
        responses={**NOT_MODIFIED, **UNAVAILABLE},
    )
    async def quality(request: Request, view: QualityViewDep, cache: CacheDep) -> Response:
        assert view.quality is not None
        return cache.respond(request, view.etag, view.quality)

    return routes
