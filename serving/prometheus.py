"""Prometheus metrics of the API: request counts and latencies, storage checks, loads, gauges (of
the served data too: the monitoring summary, the feature snapshot's quarantined points)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from components.contracts import ValidationReport
from serving.refresher import SOURCES, ServingState, Source


class ApiMetrics:
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
        """The refresher's callback: a generation check or a load, and whether it worked."""
        if kind == "check":
            self.checks.labels(ok=str(ok).lower()).inc()
        else:
            self.loads.labels(source=source, ok=str(ok).lower()).inc()

    def watch(self, state: ServingState) -> None:
        """Add the gauges read from ``state`` at scrape time."""
        self.registry.register(StateCollector(state))


class StateCollector(Collector):
    """Gauges read from the state at scrape time."""

    def __init__(self, state: ServingState) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.state
        loaded = state.loaded()
        yield GaugeMetricFamily(
            "ef_api_ready", "1 when a forecast is loaded", value=int(loaded["forecast"] is not None)
        )
        yield GaugeMetricFamily(
            "ef_api_storage_reachable",
            "1 when the last storage check succeeded",
            value=int(state.storage_reachable),
        )
        age = state.age_hours()
        if age is not None:  # no forecast served: left out, like every undefined figure
            yield GaugeMetricFamily(
                "ef_api_forecast_age_seconds",
                "seconds since the served forecast was generated",
                value=age * 3600,
            )
        failing = GaugeMetricFamily(
            "ef_api_load_failing",
            "1 when the newest generation of a source could not be loaded (the last good one is served)",
            labels=["source"],
        )
        generation = GaugeMetricFamily(
            "ef_api_generation", "GCS generation of the served pointer, by source", labels=["source"]
        )
        for source in SOURCES:
            failing.add_metric([source], int(source in state.errors))
            data = loaded[source]
            generation.add_metric([source], -1 if data is None else data.generation)
        yield failing
        yield generation
        observations = loaded["observations"]
        if observations is not None:
            yield from _validation_gauges(observations.manifest.validation_result)
        monitoring = loaded["monitoring"]
        if monitoring is not None:
            for name, value in monitoring.summary.metrics().items():
                yield GaugeMetricFamily(
                    f"ef_monitoring_{name}", f"{name} of the served monitoring summary", value=value
                )


def _validation_gauges(report: ValidationReport) -> Iterator[GaugeMetricFamily]:
    """The served snapshot's quarantined points per rule and the hours its long gaps left missing."""
    quarantined = GaugeMetricFamily(
        "ef_validation_quarantined_points",
        "points of the served feature snapshot the validate step quarantined, by rule",
        labels=["rule"],
    )
    for rule, count in report.quarantine_counts().items():
        quarantined.add_metric([rule], count)
    yield quarantined
    yield GaugeMetricFamily(
        "ef_validation_long_gap_hours",
        "hours of the served feature snapshot left missing in long gaps",
        value=report.long_gap_hours,
    )


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
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
