"""The serving state and its refresher: generation checks of the three pointers, loads of what moved.

Each refresh does a metadata-only generation check of the forecast, observations and monitoring
pointers; only a pointer whose generation changed is loaded (:mod:`serving.loaders`) and a new
:class:`~serving.view.View` is built and swapped in. A source that fails to load keeps its last
good version in service; the failure is logged and kept in :attr:`ServingState.errors`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from components import layout
from components.storage import ObjectStore
from serving.loaders import BadObjectError, Loader
from serving.models import LoadErrorInfo
from serving.settings import ApiSettings
from serving.view import View, ViewBuilder

log = logging.getLogger(__name__)

Source = Literal["forecast", "observations", "monitoring"]
SOURCES: tuple[Source, ...] = ("forecast", "observations", "monitoring")
OnEvent = Callable[[str, Source, bool], None]


class ServingState:
    """The current :class:`View` plus what the refresher knows about storage and failures."""

    def __init__(
        self,
        settings: ApiSettings,
        builder: ViewBuilder,
        store_factory: Callable[[], ObjectStore] | None = None,
        on_event: OnEvent | None = None,
    ) -> None:
        self.settings = settings
        self.builder = builder
        self._store_factory = store_factory or (
            lambda: ObjectStore.from_settings(settings, timeout=settings.api_storage_timeout_s)
        )
        self._loader: Loader | None = None
        self._on_event: OnEvent = on_event or (lambda _kind, _source, _ok: None)
        self._lock = threading.Lock()
        self.view: View = builder.build(None, None, None)
        self.storage_reachable = False
        self.storage_error: str | None = "not checked yet"
        self.last_check_at: datetime | None = None
        self.last_change_at: datetime | None = None
        self.errors: dict[Source, LoadErrorInfo] = {}
        self._failed: dict[Source, int] = {}

    @property
    def feature_latest(self) -> str:
        return layout.feature_latest(self.settings.feature_group, self.settings.feature_group_version)

    def pointer_names(self) -> dict[Source, str]:
        return {
            "forecast": layout.FORECAST_LATEST,
            "observations": self.feature_latest,
            "monitoring": layout.MONITORING_LATEST,
        }

    def loaded(self) -> dict[Source, Any]:
        view = self.view
        return {"forecast": view.forecast, "observations": view.observations, "monitoring": view.monitoring}

    def refresh(self) -> bool:
        """Check the pointers' generations and load what changed. Blocking; returns True on change."""
        with self._lock:
            return self._refresh()

    def _loader_or_new(self) -> Loader:
        if self._loader is None:
            store = self._store_factory()
            self._loader = Loader(
                store, self.builder.spec, self.feature_latest, self.settings.api_observation_hours
            )
        return self._loader

    def _refresh(self) -> bool:
        now = datetime.now(UTC)
        bucket = self.settings.bucket
        try:
            loader = self._loader_or_new()
            generations = {src: loader.store.generation(name) for src, name in self.pointer_names().items()}
        except Exception as err:
            if self.storage_reachable or self.storage_error is None or "not checked" in self.storage_error:
                log.error("storage unreachable (gs://%s): %s", bucket, err)
            self.storage_reachable = False
            self.storage_error = f"storage unreachable (gs://{bucket}): {type(err).__name__}"
            self.last_check_at = now
            self._on_event("check", "forecast", False)
            return False
        if not self.storage_reachable:
            log.info("storage reachable (gs://%s)", bucket)
        self.storage_reachable, self.storage_error, self.last_check_at = True, None, now
        self._on_event("check", "forecast", True)

        loaded = self.loaded()
        changed = False
        for source, generation in generations.items():
            current = loaded[source]
            if generation is None or generation == self._failed.get(source):
                continue
            if current is not None and current.generation == generation:
                continue
            try:
                load = {"forecast": loader.forecast, "observations": loader.observations}.get(
                    source, loader.monitoring
                )
                loaded[source] = load(generation)
            except BadObjectError as err:
                self._failed[source] = generation
                self.errors[source] = LoadErrorInfo(
                    source=source, message=str(err), at=now, generation=generation
                )
                log.error("keeping the last good %s; generation %d is unusable: %s", source, generation, err)
                self._on_event("load", source, False)
                continue
            except Exception as err:  # transport trouble: retried at the next check
                self.storage_reachable = False
                self.storage_error = f"reading the {source} failed: {type(err).__name__}: {err}"
                log.warning("reading the %s (generation %d) failed; will retry: %s", source, generation, err)
                self._on_event("load", source, False)
                continue
            log.info("loaded %s generation %d", source, generation)
            self.errors.pop(source, None)
            self._failed.pop(source, None)
            self._on_event("load", source, True)
            changed = True
        if changed:
            self.view = self.builder.build(loaded["forecast"], loaded["observations"], loaded["monitoring"])
            self.last_change_at = now
        return changed

    # --- answers that depend on the state, not on one request ----------------------------------
    def age_hours(self, now: datetime | None = None) -> float | None:
        forecast = self.view.forecast
        if forecast is None:
            return None
        moment = now or datetime.now(UTC)
        return max(0.0, (moment - forecast.metadata.generated_at).total_seconds() / 3600)

    def not_ready_reason(self) -> str:
        if self.view.forecast is not None:
            return ""
        if not self.storage_reachable:
            return f"no forecast loaded yet: {self.storage_error}"
        if "forecast" in self.errors:
            return f"no forecast loaded yet: {self.errors['forecast'].message}"
        return f"no forecast loaded yet: {layout.FORECAST_LATEST} not found in gs://{self.settings.bucket}"

    def unavailable_reason(self, source: Source, missing: str) -> str:
        """Why ``source`` is not served: storage down, its last load failed, or never written."""
        if source in self.errors:
            return self.errors[source].message
        if not self.storage_reachable and self.loaded()[source] is None:
            return str(self.storage_error)
        return missing


async def refresh(state: ServingState) -> None:
    """One refresh in a worker thread; never raises (the refresher must not die)."""
    try:
        await asyncio.to_thread(state.refresh)
    except Exception:
        log.exception("refresh failed")


async def run(state: ServingState, interval_s: float) -> None:
    """Refresh every ``interval_s`` until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        await refresh(state)
