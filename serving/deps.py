"""The routes' dependencies: what a handler gets from the app, as ``Annotated[…, Depends(…)]`` aliases.

Everything request-independent lives in one :class:`Service` on ``app.state.service``, made by the
app factory. The series keys' path and query parameters depend on the dataset, so
:class:`KeyParams` builds them from its spec when the app is made (a dependency whose signature is
the keys), and FastAPI validates and documents them like any declared parameter.

Every dependency is ``async``: a plain ``def`` would run in a worker thread per request. Each one
costs FastAPI some 20 µs per request, so the forecast routes (the hot ones) take only the
:class:`Service` and their key parameters and ask the service for the view.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BeforeValidator, StringConstraints

from components.datasets import DatasetSpec
from serving.errors import ApiError, bad_query
from serving.http_cache import HttpCache
from serving.loaders import Key
from serving.models import API_PREFIX, ApiModels
from serving.prometheus import ApiMetrics
from serving.refresher import ServingState
from serving.settings import ApiSettings
from serving.view import View, ViewBuilder

CODE_PATTERN = r"^[A-Za-z0-9_-]{1,16}$"
"""What a path code may look like at all; whether it is a code of the dataset is a 404 question."""
CodeList = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}(,[A-Za-z0-9_-]{1,16})*$")]
"""One value of a filter parameter: one code or several, comma-separated."""


@dataclass(frozen=True)
class Service:
    """The app's parts that every request shares."""

    settings: ApiSettings
    spec: DatasetSpec
    models: ApiModels
    builder: ViewBuilder
    state: ServingState
    cache: HttpCache
    metrics: ApiMetrics

    def unavailable(self, detail: str) -> ApiError:
        return ApiError.unavailable(detail, self.settings.api_retry_after_s)

    def forecast_view(self) -> View:
        """The view, when a forecast is loaded (else 503)."""
        view = self.state.view
        if view.forecast is None:
            raise self.unavailable(self.state.not_ready_reason())
        return view


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_view(service: ServiceDep) -> View:
    return service.state.view


ViewDep = Annotated[View, Depends(get_view)]


async def get_cache(service: ServiceDep) -> HttpCache:
    return service.cache


CacheDep = Annotated[HttpCache, Depends(get_cache)]


async def monitoring_view(service: ServiceDep, view: ViewDep) -> View:
    """The view, when a monitoring run is loaded (else 503)."""
    if view.monitoring is None:
        why = service.state.unavailable_reason(
            "monitoring", "monitoring/latest.json not found (monitoring has not run yet)"
        )
        raise service.unavailable(f"monitoring not available: {why}")
    return view


MonitoringViewDep = Annotated[View, Depends(monitoring_view)]


async def quality_view(service: ServiceDep, view: ViewDep) -> View:
    """The view, when a feature snapshot is loaded (else 503)."""
    if view.quality is None:
        why = service.state.unavailable_reason("observations", "no feature snapshot found")
        raise service.unavailable(f"observations not available: {why}")
    return view


QualityViewDep = Annotated[View, Depends(quality_view)]


# --- the time window of one series -------------------------------------------------------------------
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    """Only RFC 3339 date-times with an offset (pydantic alone would also take epoch numbers)."""
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2023-01-17T23:00:00Z")
    return value


Rfc3339 = Annotated[datetime, BeforeValidator(_rfc3339)]


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
TIME_RANGE = f"{EARLIEST.isoformat()} to {LATEST.isoformat()}"
"""The times a window can name: those whose UTC time is a ``datetime``."""


@dataclass(frozen=True)
class Window:
    first: datetime
    last: datetime

    @property
    def everything(self) -> bool:
        return self.first == EARLIEST and self.last == LATEST


def _utc(name: str, moment: datetime | None, default: datetime) -> datetime:
    """``moment`` in UTC; 422 when it has none (e.g. 0001-01-01T00:00:00+01:00 is in year 0)."""
    if moment is None:
        return default
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        message = f"{name} is out of range: in UTC it must be within {TIME_RANGE}"
        raise bad_query(name, message, moment.isoformat()) from None


StartQuery = Annotated[Rfc3339 | None, Query(description="keep points at or after this time")]
EndQuery = Annotated[Rfc3339 | None, Query(description="keep points at or before this time")]


def window(start: datetime | None, end: datetime | None) -> Window:
    """The window ``[start, end]`` (either end open); 422 when start is after end."""
    first = _utc("start", start, EARLIEST)
    last = _utc("end", end, LATEST)
    if first > last:
        raise bad_query("start", "start must not be after end", str(start))
    return Window(first, last)


# --- strict query strings ---------------------------------------------------------------------------
def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class StrictQueryRoute(APIRoute):
    """A route that answers 422 for a query parameter it does not have (``?area=`` where ``areas`` is
    meant), naming the parameters it has. Its parameters are collected once, when it is made."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        allowed = frozenset(_query_names(self.dependant))
        valid = ", ".join(sorted(allowed)) or "none"

        async def strict(request: Request) -> Response:
            if request.scope.get("query_string"):
                unknown = [name for name in request.query_params if name not in allowed]
                if unknown:
                    raise bad_query(
                        unknown[0],
                        f"unknown query parameter {unknown[0]!r}; this route's parameters: {valid}",
                        request.query_params[unknown[0]],
                        kind="extra_forbidden",
                    )
            return await handler(request)

        return strict


# --- the dataset's series keys -----------------------------------------------------------------------
class KeyParams:
    """The path and filter parameters of one dataset's series keys, built from its spec."""

    def __init__(self, spec: DatasetSpec, models: ApiModels) -> None:
        self.spec = spec
        self.models = models
        self.path = "/".join(f"{{{name}}}" for name in spec.key_names)
        """e.g. ``{area}/{consumer_type}``"""
        self.series_key = self._series_key()
        self.filters = self._filters()

    def template(self, prefix: str) -> str:
        return f"{API_PREFIX}{prefix}/{self.path}"

    def check(self, name: str, code: str) -> None:
        """404 for a code outside a closed key's code list."""
        key = self.spec.key(name)
        if key.closed and code not in key.codes:
            raise ApiError(404, f"unknown {key.title} {code!r}", sorted(key.codes))

    def _series_key(self) -> Callable[..., Any]:
        names = self.spec.key_names

        async def series_key(**codes: str) -> Key:
            for name in names:
                self.check(name, codes[name])
            return tuple(codes[name] for name in names)

        series_key.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    key.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[
                        str,
                        Path(
                            pattern=CODE_PATTERN,
                            description=f"{key.title} code, see {API_PREFIX}{key.route}",
                            examples=list(key.codes)[:1] or None,
                        ),
                    ],
                )
                for key in self.spec.keys
            ]
        )
        return series_key

    def _filters(self) -> Callable[..., Any]:
        params = {key.name: key.plural.replace("-", "_") for key in self.spec.keys}

        async def filters(**chosen: list[str] | None) -> dict[str, set[str] | None]:
            out: dict[str, set[str] | None] = {}
            for name, param in params.items():
                codes = [code.strip() for value in chosen[param] or [] for code in value.split(",")]
                for code in codes:
                    self.check(name, code)
                out[name] = set(codes) if codes else None
            return out

        filters.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    params[key.name],
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[
                        list[CodeList] | None,
                        Query(
                            alias=key.plural,
                            description=f"{key.title} codes to keep, comma-separated or repeated",
                        ),
                    ],
                    default=None,
                )
                for key in self.spec.keys
            ]
        )
        return filters
