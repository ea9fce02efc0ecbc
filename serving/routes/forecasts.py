"""Forecast routes: one series (observations and forecast) and every series (JSON or CSV)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from serving.deps import EndQuery, KeyParams, ServiceDep, StartQuery, StrictQueryRoute, window
from serving.errors import NOT_FOUND, NOT_MODIFIED, UNAVAILABLE, ApiError
from serving.loaders import Key
from serving.models import API_PREFIX


def router(params: KeyParams) -> APIRouter:
    routes = APIRouter(prefix=API_PREFIX, tags=["forecasts"], route_class=StrictQueryRoute)
    spec, models = params.spec, params.models
    keys = ", ".join(k.title for k in spec.keys)
    plurals = ", ".join(f"`{k.plural}`" for k in spec.keys)

    @routes.get(
        f"/forecasts/{params.path}",
        response_model=models.series_forecast,
        summary="One series: recent observations and the current forecast",
        description=(
            f"The series of one {keys}: its last observations (168 h by default) and the current "
            "24 h forecast with its band (null when the model has none), in MWh. `start`/`end` (RFC 3339 "
            "with offset, e.g. `2023-01-17T23:00:00Z`) keep only points with start <= datetime_utc <= end."
        ),
        responses={**NOT_MODIFIED, **NOT_FOUND, **UNAVAILABLE},
    )
    async def series(
        request: Request,
        key: Annotated[Key, Depends(params.series_key)],
        service: ServiceDep,
        start: StartQuery = None,
        end: EndQuery = None,
    ) -> Response:
        # the hot route: few dependencies (each costs FastAPI some 20 us per request)
        view, cache = service.forecast_view(), service.cache
        entry = view.series.get(key)
        if entry is None:
            assert view.forecast is not None
            served = sorted({k[-1] for k in view.series if k[:-1] == key[:-1]})
            name = "/".join(key)
            raise ApiError(
                404, f"no forecast for series {name} in run {view.forecast.pointer.run_id}", served
            )
        chosen = window(start, end)  # after the 404: an unknown series is unknown whatever the window
        if chosen.everything:
            return cache.respond(request, view.etag, entry.body, body_gzip=entry.body_gzip)
        body = service.builder.series_body(
            entry.fields,
            [p for p in entry.observations if chosen.first <= p.datetime_utc <= chosen.last],
            [p for p in entry.forecast if chosen.first <= p.datetime_utc <= chosen.last],
        )
        return cache.respond(request, view.etag, body)

    @routes.get(
        "/forecasts",
        response_model=models.forecasts,
        summary="All series' current forecasts",
        description=(
            f"Every forecast row of the current run, optionally only some codes of {plurals} (repeat "
            "the parameter). JSON by default; CSV with `format=csv` or `Accept: text/csv` "
            f"(columns: {', '.join(spec.forecast_columns)})."
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
        filters: Annotated[dict[str, set[str] | None], Depends(params.filters)],
        service: ServiceDep,
        format: Annotated[
            Literal["json", "csv"] | None, Query(description="overrides the Accept header")
        ] = None,
    ) -> Response:
        view, cache = service.forecast_view(), service.cache
        assert view.forecast is not None
        if format is None:
            accept = request.headers.get("accept", "")
            format = "csv" if "text/csv" in accept and "application/json" not in accept else "json"
        everything = all(codes is None for codes in filters.values())
        builder = service.builder
        if format == "csv":
            body: bytes = view.forecasts_csv
            body_gzip: bytes | None = view.forecasts_csv_gzip
            if not everything:
                body, body_gzip = builder.forecasts_csv(view.selected(filters)), None
            filename = f"forecast-{view.forecast.pointer.run_id}.csv"
            return cache.respond(
                request,
                view.etag,
                body,
                media_type="text/csv; charset=utf-8",
                body_gzip=body_gzip,
                etag_suffix="csv",
                extra={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        if everything:
            return cache.respond(request, view.etag, view.forecasts_json, body_gzip=view.forecasts_json_gzip)
        return cache.respond(
            request, view.etag, builder.forecasts_json(view.forecast, view.selected(filters))
        )

    return routes
