"""A local HTTP server that replays a dataset with the Energi Data Service API's envelope, paging and
rate limit.

``GET /dataset/<name>?start=..&end=..&timezone=utc&sort=<time>[ DESC]&offset=..&limit=..&columns=..``
answers ``{"total", "limit", "dataset", "sort", "records"}`` like the real API (see
``tests/data/energidataservice/api_page_sample.json``). ``limit=0`` means everything.

``rate_limit_s``: like Azure API Management in front of the real API, at most one request per
``rate_limit_s`` seconds; a request over the limit gets
``{"statusCode": 429, "message": "Rate limit is exceeded. Try again in N seconds."}`` without a
``Retry-After`` header, with HTTP 429 or — ``limited_status=200`` — HTTP 200.

Faults are scripted per request: an HTTP status (with ``Retry-After``), a truncated body, a record
with a field removed, an empty page.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd

from components.datasets import SPECS, DatasetSpec, get_spec
from components.source.files import read_snapshot_file


@dataclass
class Fault:
    """What to do instead of a normal answer for the request at ``offset`` (None: any offset).

    ``times`` is how many matching requests get the fault (then it is used up)."""

    kind: str  # "status" | "truncate" | "cut" | "drop_field" | "empty_page"
    offset: int | None = None
    times: int = 1
    status: int = 500
    retry_after: str | None = None
    field: str = "TotalCon"


@dataclass
class Replay:
    records: list[dict[str, Any]]
    dataset: str
    time_column: str = "HourUTC"
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    rate_limit_s: float = 0.0
    limited_status: int = 429
    limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next_free: float = 0.0

    def take_fault(self, offset: int) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.offset is None or fault.offset == offset):
                    fault.times -= 1
                    return fault
        return None

    def over_limit(self) -> float | None:
        """Seconds until the next request is allowed, or None (and the request is admitted)."""
        if self.rate_limit_s <= 0:
            return None
        with self.lock:
            now = time.monotonic()
            if now < self._next_free:
                self.limited += 1
                return self._next_free - now
            self._next_free = now + self.rate_limit_s
            return None


def load_records(path: Path, spec: DatasetSpec | None = None) -> list[dict[str, Any]]:
    """The records of an export file as the API sends them (numbers as numbers, nulls as null)."""
    spec = spec or get_spec("ConsumptionDE35Hour")
    frame = read_snapshot_file(path, spec)
    return records_of(frame, spec)


def records_of(frame: pd.DataFrame, spec: DatasetSpec) -> list[dict[str, Any]]:
    from components.validation import parse_number

    frame = frame.copy()
    times = pd.to_datetime(frame[spec.time_column], format="ISO8601", utc=True)
    frame[spec.time_column] = times.dt.strftime("%Y-%m-%dT%H:%M:%S")
    if spec.local_time_column and spec.local_time_column in frame:
        local = pd.to_datetime(frame[spec.local_time_column], format="ISO8601")
        frame[spec.local_time_column] = local.dt.strftime("%Y-%m-%dT%H:%M:%S")
    values = parse_number(frame[spec.value_column])
    frame = frame.sort_values([spec.time_column, *(k.source for k in spec.keys)], kind="stable")
    out: list[dict[str, Any]] = []
    for row, value in zip(frame.to_dict("records"), values.loc[frame.index], strict=True):
        record = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for key in spec.keys:
            record[key.source] = str(record[key.source])
        record[spec.value_column] = None if math.isnan(value) else float(value)
        out.append(record)
    return out


def _minute(value: str) -> str:
    return value[:16]  # "YYYY-MM-DDTHH:MM"


def _handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
            return

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            replay.requests.append(params)
            wait = replay.over_limit()
            if wait is not None:
                message = f"Rate limit is exceeded. Try again in {max(1, math.ceil(wait))} seconds."
                body = json.dumps({"statusCode": 429, "message": message}).encode()
                self._send(replay.limited_status, body)
                return
            if url.path.rstrip("/") != f"/dataset/{replay.dataset}":
                self._send(404, json.dumps({"error": f"unknown dataset path {url.path}"}).encode())
                return
            offset = int(params.get("offset", "0"))
            limit = int(params.get("limit", "0"))
            start, end = params.get("start", ""), params.get("end", "")
            column = replay.time_column
            rows = [
                r
                for r in replay.records
                if (not start or _minute(r[column]) >= start) and (not end or _minute(r[column]) < end)
            ]
            if params.get("sort", "").strip().upper().endswith("DESC"):
                rows = rows[::-1]
            if params.get("columns"):
                wanted = params["columns"].split(",")
                rows = [{k: r[k] for k in wanted if k in r} for r in rows]
            page = rows[offset : offset + limit] if limit else rows[offset:]
            fault = replay.take_fault(offset)
            if fault is not None and fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                self._send(fault.status, json.dumps({"error": "scripted"}).encode(), headers)
                return
            if fault is not None and fault.kind == "empty_page":
                page = []
            if fault is not None and fault.kind == "drop_field" and page:
                page = [dict(r) for r in page]
                page[len(page) // 2].pop(fault.field, None)
            body = json.dumps(
                {
                    "total": len(rows),
                    "limit": limit,
                    "dataset": replay.dataset,
                    "sort": params.get("sort", ""),
                    "records": page,
                }
            ).encode()
            if fault is not None and fault.kind == "truncate":  # a complete answer with half a JSON
                body = body[: len(body) // 2]
            if fault is not None and fault.kind == "cut":  # the connection drops mid-body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self._send(200, body)

    return Handler


@contextmanager
def serve(
    records: list[dict[str, Any]],
    dataset: str,
    faults: list[Fault] | None = None,
    *,
    rate_limit_s: float = 0.0,
    limited_status: int = 429,
) -> Iterator[tuple[str, Replay]]:
    """Yields ``(source_url, replay)``; ``source_url`` is the ``Settings.source_url`` to use."""
    replay = Replay(
        records=records,
        dataset=dataset,
        time_column=get_spec(dataset).time_column if dataset in SPECS else "HourUTC",
        faults=list(faults or []),
        rate_limit_s=rate_limit_s,
        limited_status=limited_status,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(replay))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dataset", replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
