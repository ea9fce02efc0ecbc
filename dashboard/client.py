"""HTTP client of the forecasts API with ETag-keyed caching and friendly errors.

Every answer is kept in memory with the ``ETag`` the API sent. Within ``cache_ttl_s`` the kept
answer is reused without a request; after that the client asks again with ``If-None-Match`` and
the API answers ``304 Not Modified`` (nothing to transfer) until a new forecast or monitoring run
is loaded, when the new body and its new ``ETag`` replace the old ones. So a new forecast shows up
without restarting the dashboard, and an unchanged one costs one small request.

Failures become :class:`ApiError` with a message meant for the page, never a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from dashboard.settings import DashboardSettings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


class ApiError(RuntimeError):
    """The API could not give an answer; ``str(err)`` is a sentence for the user."""

    def __init__(self, message: str, *, path: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.status = status


class ApiUnavailableError(ApiError):
    """The API did not answer at all (refused, timed out, DNS...)."""


class ApiNotReadyError(ApiError):
    """The API answered 503: it is up but has nothing loaded for this route yet."""


class ApiNotFoundError(ApiError):
    """The API answered 404 (an unknown code, or nothing stored for the series)."""


@dataclass
class CacheStats:
    """How answers were obtained; handy in tests and in the dashboard's sidebar."""

    fresh_hits: int = 0
    revalidated: int = 0
    fetched: int = 0
    stale: int = 0
    """answers kept from before, served because the API could not be reached"""


@dataclass
class _Entry:
    etag: str | None
    body: Any
    checked_at: float
    """monotonic time of the last answer (200 or 304) for this entry; -inf forces a revalidation"""
    confirmed_at: float
    """wall-clock time of that answer (shown to the user when the entry is served stale)"""


@dataclass(frozen=True)
class SeriesKey:
    """One series key of the served dataset, as ``/api/v1/dataset`` describes it."""

    name: str
    """path parameter and field name, e.g. ``area``"""
    title: str
    """human name, e.g. ``price area``"""
    plural: str
    """filter parameter, e.g. ``areas``"""
    codes: dict[str, str]
    """code -> readable label (the code itself when the API knows no label)"""

    def label(self, code: str) -> str:
        """``DK1 West Denmark``, or the bare code when there is no label."""
        text = self.codes.get(code, "")
        return code if not text or text == code else f"{code} {text}"


@dataclass(frozen=True)
class Dataset:
    """The dataset the API serves: its name, unit and series keys with their codes and labels."""

    name: str
    title: str
    unit: str
    keys: tuple[SeriesKey, ...]

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def key(self, name: str) -> SeriesKey:
        return next(k for k in self.keys if k.name == name)

    def codes_of(self, record: dict[str, Any]) -> tuple[str, ...]:
        """The series codes of an API record (e.g. a row of ``by_series``)."""
        return tuple(str(record[name]) for name in self.key_names)

    def series(self, codes: Sequence[str]) -> str:
        """The readable name of a series, e.g. ``DK1 West Denmark / 111 Agriculture``."""
        return " / ".join(key.label(code) for key, code in zip(self.keys, codes, strict=True))


@dataclass
class ApiClient:
    """A small, thread-safe client of the forecasts API (one per API URL per process)."""

    base_url: str
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 20.0
    cache_ttl_s: float = 15.0
    max_stale_s: float = 3600.0
    transport: httpx.BaseTransport | None = None
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s),
            headers={"User-Agent": "energy-forecasting-dashboard"},
            transport=self.transport,
        )
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.stale_since: float | None = None
        """wall-clock time of the oldest answer served stale since the API last answered, else None"""

    @classmethod
    def from_settings(cls, settings: DashboardSettings) -> ApiClient:
        return cls(
            settings.api_url,
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
            cache_ttl_s=settings.cache_ttl_s,
            max_stale_s=settings.max_stale_s,
        )

    def close(self) -> None:
        self._http.close()

    def expire(self) -> None:
        """Revalidate every kept answer on its next use (the ETags are kept, so unchanged is cheap)."""
        with self._lock:
            for entry in self._cache.values():
                entry.checked_at = float("-inf")

    # --- the routes ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._object("/health", cache=False)

    def ready(self) -> dict[str, Any]:
        """``/ready`` answers 503 with the same body when not ready; both are returned as is."""
        return self._object("/ready", cache=False, accept_503=True)

    def dataset(self) -> Dataset:
        """The served dataset and its series keys (``/dataset``), as the selectors need them."""
        path = "/dataset"
        body = _require(self._object(path), path, ("name", "unit", "keys"))
        keys = body["keys"]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
            raise ApiError(f"The API's answer to {API_PREFIX}{path} has no list of series keys.", path=path)
        return Dataset(
            name=str(body["name"]),
            title=str(body.get("title") or body["name"]),
            unit=str(body["unit"]),
            keys=tuple(
                SeriesKey(
                    name=str(k["name"]),
                    title=str(k.get("title") or k["name"]),
                    plural=str(k.get("plural") or k["name"]),
                    codes=_code_labels(k, "codes", path),
                )
                for k in keys
            ),
        )

    def series_forecast(self, codes: Sequence[str]) -> dict[str, Any]:
        path = "/forecasts/" + _segments(codes)
        return _require(
            self._object(path), path, ("run_id", "model_version", "observations", "forecast", "has_band")
        )

    def forecasts_csv(self) -> str:
        """Every series of the current forecast as CSV, exactly as the API renders it."""
        entry = self._get("/forecasts", params={"format": "csv"}, accept="text/csv", as_text=True)
        text: str = entry.body
        return text

    def monitoring_metrics(self) -> dict[str, Any]:
        path = "/monitoring/metrics"
        return _require(
            self._object(path),
            path,
            ("needs_attention", "wape_threshold", "freshness", "by_forecast_run", "by_series", "by_horizon"),
        )

    def monitoring_series(self, codes: Sequence[str]) -> dict[str, Any]:
        path = "/monitoring/series/" + _segments(codes)
        return _require(self._object(path), path, ("pairs",))

    def meta(self) -> dict[str, Any]:
        return self._object("/meta")

    def quality(self) -> dict[str, Any]:
        path = "/quality"
        return _require(self._object(path), path, ("run_id", "window_start", "window_end", "rows"))

    # --- plumbing --------------------------------------------------------------------------------
    def _object(self, path: str, *, cache: bool = True, accept_503: bool = False) -> dict[str, Any]:
        entry = self._get(path, cache=cache, accept_503=accept_503)
        if not isinstance(entry.body, dict):
            raise ApiError(
                f"The API answered {API_PREFIX}{path} with {type(entry.body).__name__}, not a JSON object.",
                path=path,
            )
        return entry.body

    def _get(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        accept: str = "application/json",
        as_text: bool = False,
        cache: bool = True,
        accept_503: bool = False,
    ) -> _Entry:
        url = f"{API_PREFIX}{path}"
        key = url + ("?" + "&".join(f"{k}={v}" for k, v in sorted(params.items())) if params else "")
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key) if cache else None
        if cached is not None and now - cached.checked_at < self.cache_ttl_s:
            with self._lock:
                self.stats.fresh_hits += 1
            return cached

        headers = {"Accept": accept}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        try:
            response = self._http.get(url, params=params, headers=headers)
        except httpx.HTTPError as err:
            if cached is not None and time.time() - cached.confirmed_at <= self.max_stale_s:
                # keep showing the last answer while the API is away (a restart, a deploy...)
                log.warning("API unreachable for %s (%s); serving the kept answer", url, _reason(err))
                with self._lock:
                    self.stats.stale += 1
                    oldest = min(self.stale_since or cached.confirmed_at, cached.confirmed_at)
                    self.stale_since = oldest
                return cached
            raise _unavailable(err, self.base_url, url, path) from err

        if response.status_code == 304 and cached is not None:
            entry = _Entry(cached.etag, cached.body, time.monotonic(), time.time())
        elif response.status_code == 200 or (accept_503 and response.status_code == 503):
            body = _body(response, url, as_text)
            entry = _Entry(response.headers.get("ETag"), body, time.monotonic(), time.time())
        else:
            raise _error(response, path, self.base_url)
        with self._lock:
            self.stale_since = None
            if response.status_code == 304:
                self.stats.revalidated += 1
            else:
                self.stats.fetched += 1
            if cache and response.status_code != 503:
                self._cache[key] = entry
        log.debug("GET %s -> %s (etag %s)", url, response.status_code, entry.etag)
        return entry


def _unavailable(err: httpx.HTTPError, base_url: str, url: str, path: str) -> ApiUnavailableError:
    if isinstance(err, httpx.TimeoutException):
        return ApiUnavailableError(
            f"The forecasts API at {base_url} did not answer {url} in time "
            f"({type(err).__name__}). It may be busy or down; try again in a moment.",
            path=path,
        )
    return ApiUnavailableError(
        f"The forecasts API at {base_url} is not reachable ({_reason(err)}). "
        "Start it with `python -m serving` or point EF_API_URL at it.",
        path=path,
    )


def _segment(value: str) -> str:
    if not value or len(value) > 64:
        raise ApiError(f"invalid path value {value!r}: expected a short code such as DK1 or 111")
    return quote(value, safe="")


def _segments(codes: Sequence[str]) -> str:
    if isinstance(codes, str) or not codes:
        raise ApiError(f"a series is a sequence of codes, one per series key, not {codes!r}")
    return "/".join(_segment(code) for code in codes)


def _reason(err: httpx.HTTPError) -> str:
    text = str(err) or type(err).__name__
    return text.split("\n", 1)[0][:200]


def _body(response: httpx.Response, url: str, as_text: bool) -> Any:
    if as_text:
        return response.text
    try:
        return response.json()
    except ValueError as err:
        raise ApiError(
            f"The API answered {url} with something that is not JSON "
            f"({response.headers.get('content-type', 'no content type')}).",
            path=url,
            status=response.status_code,
        ) from err


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            valid = body.get("valid")
            return detail + (f" (valid: {', '.join(map(str, valid))})" if isinstance(valid, list) else "")
        if detail is not None:
            return str(detail)[:300]
    return str(body)[:300]


def _error(response: httpx.Response, path: str, base_url: str) -> ApiError:
    status = response.status_code
    detail = _detail(response)
    if status == 503:
        return ApiNotReadyError(
            f"The API has nothing to show here yet: {detail}. It retries on its own; reload in a moment.",
            path=path,
            status=status,
        )
    if status == 404:
        return ApiNotFoundError(f"Not found: {detail}.", path=path, status=status)
    return ApiError(
        f"The API at {base_url} answered {API_PREFIX}{path} with HTTP {status}: {detail}.",
        path=path,
        status=status,
    )


def _require(body: dict[str, Any], path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    missing = [key for key in keys if key not in body]
    if missing:
        raise ApiError(
            f"The API's answer to {API_PREFIX}{path} lacks {', '.join(missing)}; "
            "the dashboard and the API versions may not match.",
            path=path,
        )
    return body


def _code_labels(body: dict[str, Any], key: str, path: str) -> dict[str, str]:
    items = body.get(key)
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and "code" in item and "label" in item for item in items
    ):
        raise ApiError(f"The API's answer to {API_PREFIX}{path} has no list of {{code, label}} in {key!r}.")
    return {str(item["code"]): str(item["label"]) for item in items}
