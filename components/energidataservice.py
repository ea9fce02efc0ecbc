"""Client of the Energi Data Service REST API (``GET {api_url}/{dataset}``).

Explicit ``limit``/``offset`` paging, per-request timeouts, retries with exponential backoff on
429 (honouring ``Retry-After``), 5xx, connection errors and unreadable bodies, and validation of the
JSON envelope and of every record. Imports no ML library.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from components.schemas import RAW_COLUMNS

log = logging.getLogger(__name__)

API_TIME_FORMAT = "%Y-%m-%dT%H:%M"
MAX_RETRY_AFTER_S = 300.0
"""Upper bound on a server's ``Retry-After`` so that a bad header cannot stall a run for hours."""


class ApiError(RuntimeError):
    """The API could not be read; the message names the request and what went wrong."""


class _RetryableError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ApiRecord(BaseModel):
    """One ``ConsumptionDE35Hour`` record; structure only (the data contract is checked later)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    HourUTC: str = Field(min_length=13)
    HourDK: str | None
    PriceArea: str
    ConsumerType_DE35: str
    TotalCon: float | None

    @field_validator("ConsumerType_DE35", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> Any:
        # the API sends the code as a string; an integer code is the same code
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ApiPage(BaseModel):
    """The JSON envelope of one page."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    total: int = Field(ge=0)
    limit: int | None = None
    dataset: str
    sort: str | None = None
    records: list[dict[str, Any]]


@dataclass(frozen=True)
class ApiClient:
    """Reads all records of ``dataset`` with ``start <= HourUTC < end``."""

    api_url: str
    dataset: str
    page_size: int = 10_000
    timeout_s: float = 30.0
    max_retries: int = 5
    backoff_s: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    @property
    def url(self) -> str:
        return f"{self.api_url.rstrip('/')}/{self.dataset}"

    def fetch(
        self, start: datetime, end: datetime, session: requests.Session | None = None
    ) -> list[ApiRecord]:
        """All records of the window, in the order the API returned them (``sort=HourUTC``)."""
        if start.tzinfo is None or end.tzinfo is None or start >= end:
            raise ValueError(f"invalid window [{start}, {end}): needs tz-aware start < end")
        params = {
            "start": start.astimezone(UTC).strftime(API_TIME_FORMAT),
            "end": end.astimezone(UTC).strftime(API_TIME_FORMAT),
            "timezone": "utc",
            "sort": "HourUTC",
            "limit": str(self.page_size),
        }
        own = session is None
        http = session or requests.Session()
        records: list[ApiRecord] = []
        total: int | None = None
        try:
            while True:
                offset = len(records)
                page = self._get_page(http, {**params, "offset": str(offset)})
                if total is None:
                    total = page.total
                elif page.total != total:
                    raise ApiError(
                        f"{self.url}: the total changed from {total} to {page.total} while paging "
                        f"(offset {offset}); the dataset changed during the read, retry the run"
                    )
                if offset >= total:
                    break
                if not page.records:
                    raise ApiError(
                        f"{self.url} {params['start']}..{params['end']}: empty page at offset {offset} "
                        f"although total is {total}; got {offset} of {total} records"
                    )
                records.extend(self._records(page, offset))
                log.info("%s: %d/%d records", self.dataset, len(records), total)
                if len(records) >= total:
                    break
        finally:
            if own:
                http.close()
        if len(records) != total:
            raise ApiError(f"{self.url}: received {len(records)} records but total says {total}")
        return records

    def _records(self, page: ApiPage, offset: int) -> list[ApiRecord]:
        out = []
        for index, raw in enumerate(page.records):
            try:
                out.append(ApiRecord.model_validate(raw))
            except ValidationError as err:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in err.errors()
                )
                raise ApiError(
                    f"{self.url}: record #{offset + index} (offset {offset}, index {index} on the page) "
                    f"is invalid: {problems}; record={raw!r}"
                ) from err
        return out

    def _get_page(self, http: requests.Session, params: dict[str, str]) -> ApiPage:
        attempt = 0
        while True:
            try:
                return self._try_page(http, params)
            except _RetryableError as err:
                if attempt >= self.max_retries:
                    raise ApiError(
                        f"{self.url} offset {params['offset']}: giving up after {attempt + 1} attempts: {err}"
                    ) from err
                delay = self.backoff_s * (2**attempt)
                if err.retry_after is not None:
                    delay = max(delay, err.retry_after)
                log.warning(
                    "%s offset %s: %s; retry %d/%d in %.3f s",
                    self.url,
                    params["offset"],
                    err,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                self.sleep(delay)
                attempt += 1

    def _try_page(self, http: requests.Session, params: dict[str, str]) -> ApiPage:
        try:
            response = http.get(self.url, params=params, timeout=self.timeout_s)
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,  # a body cut short on the wire
            requests.exceptions.ContentDecodingError,
        ) as err:
            raise _RetryableError(f"{type(err).__name__}: {err}") from err
        except requests.RequestException as err:  # e.g. an invalid URL: retrying cannot help
            raise ApiError(f"{self.url}: request failed: {type(err).__name__}: {err}") from err
        if response.status_code == 429:
            raise _RetryableError("HTTP 429 Too Many Requests", _retry_after(response))
        if response.status_code >= 500:
            raise _RetryableError(
                f"HTTP {response.status_code}: {response.text[:200]!r}", _retry_after(response)
            )
        if response.status_code != 200:
            raise ApiError(
                f"{response.url}: HTTP {response.status_code} (not retried): {response.text[:500]!r}"
            )
        try:
            body = response.json()
        except ValueError as err:
            # a truncated or garbled body: usually a dropped connection, so worth another try
            raise _RetryableError(
                f"body is not valid JSON ({err}); {len(response.content)} bytes received"
            ) from err
        try:
            page = ApiPage.model_validate(body)
        except ValidationError as err:
            raise ApiError(f"{response.url}: unexpected JSON envelope: {err}") from err
        if page.dataset != self.dataset:
            raise ApiError(
                f"{response.url}: answer is for dataset {page.dataset!r}, asked for {self.dataset!r}"
            )
        return page


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
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def records_to_rows(records: list[ApiRecord]) -> list[dict[str, Any]]:
    """Plain dicts with the raw API column names, ready for a DataFrame."""
    return [{column: getattr(record, column) for column in RAW_COLUMNS} for record in records]
