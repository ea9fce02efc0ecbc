"""The API's routes, one router per resource; :func:`routers` builds them for one dataset."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import KeyParams
from serving.routes import codes, forecasts, monitoring, quality, service


def routers(params: KeyParams) -> list[APIRouter]:
    return [
        service.router(),
        codes.router(params),
        forecasts.router(params),
        monitoring.router(params),
        quality.router(params),
    ]
