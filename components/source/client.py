"""Client of the Energi Data Service REST API (``GET {api_url}/{dataset}``), as the API really behaves.

- Few requests: a whole window in one request (``limit`` large), further pages only if the API says
  there are more; only the columns the dataset's spec reads (``columns=``).
- The rate limit (Azure API Management, about one request per dataset per minute): its body
  ``{"statusCode": 429, "message": "Rate limit is exceeded. Try again in N seconds."}`` is recognised
  under HTTP 429 *and* HTTP 200; "Try again in N seconds" (or ``Retry-After``) is honoured, capped at
  ``max_wait_s``, and counted. A budget of requests per client ends a run with one clear line.
- Transient faults (5xx, dropped connections, cut bodies) are retried with exponential backoff;
  faults that a retry cannot cure (an unresolvable host, 4xx, a wrong envelope) fail at once.
- Every record is validated against the spec's record model.

Imports no ML library.
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from components.contracts import problems
from components.datasets import DatasetSpec

log = logging.getLogger(__name__)

API_TIME_FORMAT = "%Y-%m-%dT%H:%M"
_TRY_AGAIN = re.compile(r"try again in\s+(\d+(?:\.\d+)?)\s*seconds?", re.IGNORECASE)


def offline_hint(spec: DatasetSpec) -> str:
    """What runs ``spec`` without the network: an export of it in ``ENERGY_SNAPSHOT`` (the sample
    shipped with the package, for the dataset that has one), or else the default dataset on its
    sample (which needs ``EF_DATASET`` unset: it is set, to another dataset)."""
    from components.datasets import DEFAULT_DATASET, SPECS, sample_path

    hint = f"offline? set ENERGY_SNAPSHOT to an export of {spec.name}"
    if spec.sample is not None:
        return f"{hint}, e.g. the sample shipped with the package: ENERGY_SNAPSHOT={sample_path(spec)}"
    default = SPECS[DEFAULT_DATASET]
    if default.sample is None:
        return hint
    return (
        f"{hint}, or run {default.name} on the sample shipped with the package: "
        f"unset EF_DATASET and set ENERGY_SNAPSHOT={sample_path(default)}"
    )


class SourceError(RuntimeError):
    """The API could not deliver; the message names the request and what went wrong."""


class SourceUnreachable(SourceError):
    """The API's host cannot be reached at all (e.g. it does not resolve): retrying cannot help."""


class RequestBudgetSpent(SourceError):
    """The run used up its budget of requests (usually: rate-limited again and again)."""


class _Retryable(Exception):
    def __init__(self, message: str, wait_s: float | None = None, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.wait_s = wait_s
        self.rate_limited = rate_limited


@dataclass
class RequestLog:
    """What one client did: the figures a run logs and records."""

    requests: int = 0
    rate_limited: int = 0
    waited_s: float = 0.0

    def __str__(self) -> str:
        return f"{self.requests} requests ({self.rate_limited} rate-limited, waited {self.waited_s:.1f} s)"


class ApiPage(BaseModel):
    """The JSON envelope of one answer."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    total: int = Field(ge=0)
    limit: int | None = None
    dataset: str
    sort: str | None = None
    records: list[dict[str, Any]]


def _code_as_text(value: Any) -> Any:
    # the API sends codes as strings; an integer code is the same code
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def record_model(spec: DatasetSpec) -> type[BaseModel]:
    """The pydantic model of one record of ``spec``'s dataset (structure only; the contract comes later)."""
    return _record_model(spec.name)


@lru_cache(maxsize=16)
def _record_model(name: str) -> type[BaseModel]:
    from components.datasets import get_spec

    spec = get_spec(name)
    fields: dict[str, Any] = {spec.time_column: (str, Field(min_length=13))}
    if spec.local_time_column:
        fields[spec.local_time_column] = (str | None, None)
    for key in spec.keys:
        fields[key.source] = (str, ...)
        if key.label_source:
            fields[key.label_source] = (str | None, None)
    fields[spec.value_column] = (float | None, ...)
    validators = {
        "codes_as_text": field_validator(*(k.source for k in spec.keys), mode="before")(_code_as_text)
    }
    return create_model(
        f"{spec.name}Record",
        __config__=ConfigDict(extra="ignore", frozen=True),
        __validators__=validators,
        **fields,
    )


@dataclass
class ApiClient:
    """Reads one dataset of the Energi Data Service API; ``log`` counts what it did."""

    api_url: str
    spec: DatasetSpec
    page_size: int = 100_000
    timeout_s: float = 30.0
    max_retries: int = 4
    backoff_s: float = 1.0
    max_wait_s: float = 90.0
    max_requests: int = 20
    sleep: Callable[[float], None] = time.sleep
    log: RequestLog = field(default_factory=RequestLog)
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"{self.api_url.rstrip('/')}/{self.spec.name}"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def newest_hour(self) -> datetime | None:
        """The newest published hour (the newest record, ``sort=<time> DESC&limit=1``); None if empty."""
        time_column = self.spec.time_column
        page = self._get({"sort": f"{time_column} DESC", "limit": "1", "columns": time_column})
        if not page.records:
            return None
        value = page.records[0].get(time_column)
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as err:
            raise SourceError(f"{self.url}: newest record has an unreadable {time_column} {value!r}") from err
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def fetch(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """All records with ``start <= time < end`` (validated, the spec's raw columns only)."""
        if start.tzinfo is None or end.tzinfo is None or start >= end:
            raise ValueError(f"invalid window [{start}, {end}): needs tz-aware start < end")
        params = {
            "start": start.astimezone(UTC).strftime(API_TIME_FORMAT),
            "end": end.astimezone(UTC).strftime(API_TIME_FORMAT),
            "timezone": "utc",
            "sort": self.spec.time_column,
            "columns": ",".join(self.spec.raw_columns),
            "limit": str(self.page_size),
        }
        records: list[dict[str, Any]] = []
        total: int | None = None
        while total is None or len(records) < total:
            offset = len(records)
            page = self._get({**params, "offset": str(offset)})
            if total is None:
                total = page.total
            elif page.total != total:
                raise SourceError(
                    f"{self.url}: the total changed from {total} to {page.total} while paging "
                    f"(offset {offset}); the dataset changed during the read, retry the run"
                )
            if offset >= total:
                break
            if not page.records:
                raise SourceError(
                    f"{self.url} {params['start']}..{params['end']}: empty page at offset {offset} "
                    f"although total is {total}; got {offset} of {total} records"
                )
            records.extend(self._records(page, offset))
            log.info("%s: %d/%d records", self.spec.name, len(records), total)
        return records

    # --- one request ----------------------------------------------------------------------
    def _records(self, page: ApiPage, offset: int) -> list[dict[str, Any]]:
        model = record_model(self.spec)
        out = []
        for index, raw in enumerate(page.records):
            try:
                out.append(model.model_validate(raw).model_dump())
            except ValidationError as err:
                raise SourceError(
                    f"{self.url}: record #{offset + index} (offset {offset}, index {index} on the page) "
                    f"is invalid: {problems(err, 'record')}; record={raw!r}"
                ) from err
        return out

    def _get(self, params: dict[str, str]) -> ApiPage:
        failures = 0
        while True:
            if self.log.requests >= self.max_requests:
                raise RequestBudgetSpent(
                    f"{self.url}: the budget of {self.max_requests} requests is spent ({self.log}); the API "
                    "allows about one request per dataset per minute: retry later or raise "
                    "EF_SOURCE_MAX_REQUESTS"
                )
            try:
                return self._try(params)
            except _Retryable as err:
                if err.rate_limited:
                    self.log.rate_limited += 1
                    delay = min(err.wait_s if err.wait_s is not None else self.max_wait_s, self.max_wait_s)
                else:
                    if failures >= self.max_retries:
                        raise SourceError(
                            f"{self.url}: giving up after {failures + 1} attempts: {err}"
                        ) from err
                    delay = self.backoff_s * (2**failures)
                    if err.wait_s is not None:
                        delay = max(delay, min(err.wait_s, self.max_wait_s))
                    failures += 1
                log.warning("%s: %s; retrying in %.1f s (%s so far)", self.url, err, delay, self.log)
                self.sleep(delay)
                self.log.waited_s += delay

    def _try(self, params: dict[str, str]) -> ApiPage:
        self.log.requests += 1
        try:
            response = self.session.get(self.url, params=params, timeout=self.timeout_s)
        except requests.ConnectionError as err:
            if _unresolvable(err):
                host = urlparse(self.url).hostname
                hint = offline_hint(self.spec)
                raise SourceUnreachable(f"cannot resolve {host} ({self.url}): {hint}") from err
            raise _Retryable(f"{type(err).__name__}: {err}") from err
        except (
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,  # a body cut short on the wire
            requests.exceptions.ContentDecodingError,
        ) as err:
            raise _Retryable(f"{type(err).__name__}: {err}") from err
        except requests.RequestException as err:  # e.g. an invalid URL: retrying cannot help
            raise SourceError(f"{self.url}: request failed: {type(err).__name__}: {err}") from err
        body = _json_or_none(response)
        limited = _rate_limit_wait(response, body)
        if limited is not None:
            raise _Retryable(f"rate limited (HTTP {response.status_code})", limited, rate_limited=True)
        if response.status_code == 429:
            raise _Retryable("HTTP 429 Too Many Requests", _retry_after(response), rate_limited=True)
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}: {response.text[:200]!r}", _retry_after(response))
        if response.status_code != 200:
            raise SourceError(
                f"{response.url}: HTTP {response.status_code} (not retried): {response.text[:500]!r}"
            )
        if body is None:
            # a truncated or garbled body: usually a dropped connection, so worth another try
            raise _Retryable(f"body is not valid JSON; {len(response.content)} bytes received")
        try:
            page = ApiPage.model_validate(body)
        except ValidationError as err:
            raise SourceError(f"{response.url}: unexpected JSON envelope: {err}") from err
        if page.dataset != self.spec.name:
            raise SourceError(
                f"{response.url}: answer is for dataset {page.dataset!r}, asked for {self.spec.name!r}"
            )
        return page


def _unresolvable(err: BaseException) -> bool:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, socket.gaierror) or type(seen).__name__ == "NameResolutionError":
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(err)
    return "Failed to resolve" in text or "Name or service not known" in text or "NameResolutionError" in text


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _rate_limit_wait(response: requests.Response, body: Any) -> float | None:
    """Seconds to wait when the body is the API Management rate-limit answer, else None."""
    if not isinstance(body, dict) or "records" in body or body.get("statusCode") != 429:
        return None
    match = _TRY_AGAIN.search(str(body.get("message", "")))
    if match:
        return float(match.group(1))
    return _retry_after(response)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            log.warning("ignoring unreadable Retry-After header %r", value)
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0)


def check_resolvable(api_url: str, spec: DatasetSpec) -> None:
    """Fail within a second, with the setting that runs offline, when the API's host does not resolve.

    Costs no request (the API's rate limit is not touched): a name lookup only.
    """
    host = urlparse(api_url).hostname
    if not host:
        raise SourceError(f"EF_SOURCE_URL {api_url!r} has no host")
    try:
        socket.getaddrinfo(host, None)
    except OSError as err:
        hint = offline_hint(spec)
        raise SourceUnreachable(f"cannot resolve {host} (EF_SOURCE_URL={api_url}): {hint}") from err
