"""The app factory: ``create_app(settings, store=None)`` builds the forecasts API of one dataset.

The configured dataset's spec (``EF_DATASET``) decides the routes' path and query parameters and the
response models, so the OpenAPI document names its series keys. The lifespan loads the latest
objects once (in a worker thread), then runs the refresher (:mod:`serving.refresher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from components.datasets import UNIT
from components.storage import ObjectStore
from components.version import __version__
from serving import refresher
from serving.deps import KeyParams, Service
from serving.docs import add_docs
from serving.errors import ApiError, handle
from serving.fastpath import SeriesFastPath
from serving.http_cache import HttpCache
from serving.models import API_PREFIX, build_models
from serving.prometheus import ApiMetrics, MetricsMiddleware
from serving.refresher import ServingState
from serving.routes import routers
from serving.settings import ApiSettings, get_api_settings
from serving.view import SOURCE, ViewBuilder

log = logging.getLogger(__name__)


def create_app(settings: ApiSettings | None = None, store: ObjectStore | None = None) -> FastAPI:
    """The API. ``store`` replaces the object store made from the settings (tests, benchmarks); its
    own timeout then bounds the storage calls."""
    settings = settings or get_api_settings()
    spec = settings.spec
    models = build_models(spec)
    builder = ViewBuilder(spec, models, settings.api_observation_hours)
    metrics = ApiMetrics()
    state = ServingState(settings, builder, (lambda: store) if store is not None else None, metrics.on_event)
    metrics.watch(state)
    cache = HttpCache(settings.api_cache_max_age_s, settings.api_gzip_min_bytes)
    params = KeyParams(spec, models)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await refresher.refresh(state)
        if state.view.forecast is None:
            log.warning("starting without a forecast: %s", state.not_ready_reason())
        task = asyncio.create_task(refresher.run(state, settings.api_refresh_interval_s), name="refresher")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    keys = " by ".join(key.title for key in spec.keys)
    app = FastAPI(
        title="energy-forecasting API",
        version=__version__,
        summary=f"Hourly forecasts of Energi Data Service's {spec.name}: {spec.title} (series: {keys}).",
        description=(
            f"{spec.description} Served from memory; refreshed when the pipeline moves a `latest.json` "
            f"pointer. Timestamps are ISO-8601 UTC; energy is {UNIT}. Series are addressed by "
            f"{', '.join(f'`{k}`' for k in spec.key_names)} (see `{API_PREFIX}/dataset`). "
            f"Source data: {SOURCE}."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    add_docs(app)
    app.state.service = Service(settings, spec, models, builder, state, cache, metrics)
    app.add_exception_handler(ApiError, handle)
    for router in routers(params):
        app.include_router(router)
    if settings.api_fast_path:
        app.add_middleware(
            SeriesFastPath,
            state=state,
            cache=cache,
            prefix=f"{API_PREFIX}/forecasts/",
            template=params.template("/forecasts"),
            keys=len(spec.keys),
        )
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
