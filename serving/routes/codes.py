"""Code-list routes, one per series key: ``/areas``, ``/consumer-types``, ``/industries``…"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from components.datasets import SeriesKey
from serving.deps import CacheDep, KeyParams, StrictQueryRoute, ViewDep
from serving.models import API_PREFIX

STATIC = {"Cache-Control": "public, max-age=86400"}


def router(params: KeyParams) -> APIRouter:
    routes = APIRouter(prefix=API_PREFIX, tags=["codes"], route_class=StrictQueryRoute)
    for key in params.spec.keys:
        add(routes, params, key)
    return routes


def add(routes: APIRouter, params: KeyParams, key: SeriesKey) -> None:
    if key.closed:

        async def codes(view: ViewDep) -> Response:
            return Response(view.code_lists[key.name], media_type="application/json", headers=STATIC)

    else:

        async def codes(request: Request, view: ViewDep, cache: CacheDep) -> Response:  # type: ignore[misc]
            return cache.respond(request, view.etag, view.code_lists[key.name])

    source = "fixed by the dataset" if key.closed else "found in the served data, labels learned from it"
    routes.add_api_route(
        key.route,
        codes,
        methods=["GET"],
        response_model=params.models.code_lists[key.name],
        summary=f"{key.title.capitalize()} codes",
        description=f"The {key.title} codes ({source}) with readable labels.",
        name=f"codes_{key.name}",
    )
