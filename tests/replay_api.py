"""A local HTTP server that replays a snapshot with the Energi Data Service API's envelope and paging.

``GET /dataset/<name>?start=..&end=..&timezone=utc&sort=HourUTC&offset=..&limit=..`` answers
``{"total", "limit", "dataset", "sort", "records"}`` like the real API (see
``../shared/data/energidataservice/api_page_sample.json``). Faults are scripted per request: an HTTP
status (with ``Retry-After``), a truncated body, a record with a field removed, an empty page.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd


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
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, offset: int) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.offset is None or fault.offset == offset):
                    fault.times -= 1
                    return fault
        return None


def load_records(path: Path) -> list[dict[str, Any]]:
    frame = pd.read_parquet(path)
    frame = frame.sort_values(["HourUTC", "PriceArea", "ConsumerType_DE35"], kind="stable")
    out: list[dict[str, Any]] = []
    for row in frame.itertuples(index=False):
        out.append(
            {
                "HourUTC": str(row.HourUTC),
                "HourDK": str(row.HourDK),
                "PriceArea": str(row.PriceArea),
                "ConsumerType_DE35": str(row.ConsumerType_DE35),
                "TotalCon": int(row.TotalCon),  # type: ignore[arg-type]
            }
        )
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
            if url.path.rstrip("/") != f"/dataset/{replay.dataset}":
                self._send(404, json.dumps({"error": f"unknown dataset path {url.path}"}).encode())
                return
            offset = int(params.get("offset", "0"))
            limit = int(params.get("limit", "0"))
            start, end = params.get("start", ""), params.get("end", "")
            rows = [
                r
                for r in replay.records
                if (not start or _minute(r["HourUTC"]) >= start) and (not end or _minute(r["HourUTC"]) < end)
            ]
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
    records: list[dict[str, Any]], dataset: str, faults: list[Fault] | None = None
) -> Iterator[tuple[str, Replay]]:
    """Yields ``(api_url, replay)``; ``api_url`` is the ``Settings.api_url`` to use (``.../dataset``)."""
    replay = Replay(records=records, dataset=dataset, faults=list(faults or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(replay))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dataset", replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
