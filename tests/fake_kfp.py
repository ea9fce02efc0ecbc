"""A local HTTP server that speaks the part of the Kubeflow Pipelines v2beta1 REST API we use.

Wire format as the real API server (grpc-gateway) sends it: JSON with proto field names, int64 as
strings, empty lists omitted, the list of recurring runs under ``recurringRuns``, errors as a
``google.rpc.Status``-like body. Pipelines are uploaded as ``multipart/form-data`` with the file in
``uploadfile``. Every request is recorded (method, path, query, headers, JSON body or form file) so
tests can assert the exact bodies; ``fail_next`` makes the next matching request answer an error.

``token``: every request without ``Authorization: Bearer <token>`` is answered 401, as by the
authenticating proxy in front of a real install. ``multi_user``: ``/healthz`` says so and, as the
real server in that mode, listing experiments or recurring runs needs a namespace (or an
experiment), experiments are created in a namespace and recurring runs belong to their
experiment's; pipelines uploaded with a namespace are that namespace's, the others shared.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

API = "/apis/v2beta1"
_GRPC_CODES = {400: 3, 401: 16, 404: 5, 409: 6, 403: 7, 500: 13, 503: 14}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    file: bytes | None = None


@dataclass
class _Failure:
    status: int
    method: str | None
    path_prefix: str | None
    message: str


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class State:
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    recurring_runs: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeKfp:
    """``with FakeKfp() as kfp: kfp.url`` — a server on 127.0.0.1 with a free port."""

    def __init__(self, *, token: str | None = None, multi_user: bool = False) -> None:
        self.token = token
        self.multi_user = multi_user
        self.state = State()
        self.requests: list[Recorded] = []
        self.failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeKfp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(
        self,
        status: int,
        method: str | None = None,
        path_prefix: str | None = None,
        message: str = "injected",
    ) -> None:
        self.failures.append(_Failure(status, method, path_prefix, message))

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- plumbing -----------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in handler.headers.items()}
        record = Recorded(method, parts.path, query, headers)
        content_type = handler.headers.get("Content-Type", "")
        try:
            if raw and content_type.startswith("multipart/form-data"):
                record.file = _multipart_file(raw, content_type, "uploadfile")
            elif raw:
                try:
                    record.body = json.loads(raw)
                except ValueError as err:
                    raise ApiError(400, f"invalid JSON body: {err}") from err
            with self._lock:
                self.requests.append(record)
                if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
                    raise ApiError(401, "Unauthorized: no valid bearer token")
                failure = self._take_failure(method, parts.path)
                if failure is not None:
                    raise ApiError(failure.status, failure.message)
                status, body = self._route(method, parts.path, record)
        except ApiError as err:
            status = err.status
            body = {
                "error_message": err.message,
                "code": _GRPC_CODES.get(err.status, 2),
                "message": err.message,
                "details": [],
            }
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self.failures:
            if (failure.method in (None, method)) and (
                failure.path_prefix is None or path.startswith(failure.path_prefix)
            ):
                self.failures.remove(failure)
                return failure
        return None

    def _new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}"

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _route(self, method: str, path: str, record: Recorded) -> tuple[int, Any]:
        q = record.query
        if method == "GET" and path == f"{API}/healthz":
            return 200, {"multi_user": self.multi_user, "pipeline_store": "database"}
        if method == "GET" and path == f"{API}/pipelines":
            found = [p for p in self.state.pipelines.values() if p["namespace"] == self._namespace(q)]
            return 200, _listing("pipelines", _filtered(found, q.get("filter")))
        if method == "POST" and path == f"{API}/pipelines/upload":
            return 200, self._upload(record)
        if method == "POST" and path == f"{API}/pipelines/upload_version":
            return 200, self._upload_version(record)
        version = re.fullmatch(rf"{API}/pipelines/([^/]+)/versions/([^/]+)", path)
        if method == "GET" and version:
            found = [
                v for v in self.state.versions.get(version[1], []) if v["pipeline_version_id"] == version[2]
            ]
            if not found:
                raise ApiError(404, f"Pipeline version {version[2]} of pipeline {version[1]} not found")
            return 200, found[0]
        if method == "GET" and path.startswith(f"{API}/pipelines/") and path.endswith("/versions"):
            pipeline_id = path[len(f"{API}/pipelines/") : -len("/versions")]
            if pipeline_id not in self.state.pipelines:
                raise ApiError(404, f"Pipeline {pipeline_id} not found")
            versions = _filtered(list(self.state.versions[pipeline_id]), q.get("filter"))
            versions.sort(key=lambda v: v["created_at"], reverse=q.get("sort_by", "").endswith("desc"))
            size = int(q.get("page_size") or 0)
            return 200, _listing("pipeline_versions", versions[:size] if size else versions)
        if method == "GET" and path == f"{API}/experiments":
            namespace = self._namespace(q, required="ListExperiments")
            found = [e for e in self.state.experiments.values() if e["namespace"] == namespace]
            return 200, _listing("experiments", _filtered(found, q.get("filter")))
        if method == "POST" and path == f"{API}/experiments":
            return 200, self._create_experiment(record.body or {})
        if method == "GET" and path == f"{API}/recurringruns":
            runs = list(self.state.recurring_runs.values())
            if q.get("experiment_id"):
                runs = [r for r in runs if r["experiment_id"] == q["experiment_id"]]
            else:
                namespace = self._namespace(q, required="ListRecurringRuns")
                runs = [r for r in runs if r["namespace"] == namespace]
            runs = _filtered(runs, q.get("filter"))
            return 200, _listing("recurringRuns", runs)
        if method == "POST" and path == f"{API}/recurringruns":
            return 200, self._create_recurring_run(record.body or {})
        if method == "DELETE" and path.startswith(f"{API}/recurringruns/"):
            run_id = path.rsplit("/", 1)[1]
            if self.state.recurring_runs.pop(run_id, None) is None:
                raise ApiError(404, f"RecurringRun {run_id} not found")
            return 200, {}
        raise ApiError(404, f"Not Found: {method} {path}")

    def _namespace(self, values: dict[str, Any], required: str = "") -> str:
        """The request's namespace: always "" on a single-user server, needed by some multi-user calls."""
        if not self.multi_user:
            return ""
        namespace = str(values.get("namespace") or "")
        if required and not namespace:
            raise ApiError(
                400, f"Invalid input error: {required} must filter by namespace in multi-user mode"
            )
        return namespace

    def _upload(self, record: Recorded) -> dict[str, Any]:
        name = record.query.get("display_name") or record.query.get("name")
        if not name:
            raise ApiError(400, "pipeline name is required")
        spec = _pipeline_spec(record.file)
        if any(p["display_name"] == name for p in self.state.pipelines.values()):
            raise ApiError(409, f"Failed to create a pipeline: pipeline {name!r} already exists")
        pipeline = {
            "pipeline_id": self._new_id("pipeline"),
            "name": record.query.get("name") or name,
            "display_name": name,
            "description": record.query.get("description", ""),
            "created_at": self._now(),
            "namespace": self._namespace(record.query),
        }
        self.state.pipelines[pipeline["pipeline_id"]] = pipeline
        self.state.versions[pipeline["pipeline_id"]] = [
            self._version(pipeline["pipeline_id"], name, pipeline["description"], spec)
        ]
        return pipeline

    def _upload_version(self, record: Recorded) -> dict[str, Any]:
        pipeline_id = record.query.get("pipelineid", "")
        if pipeline_id not in self.state.pipelines:
            raise ApiError(404, f"Failed to create a pipeline version: pipeline {pipeline_id!r} not found")
        name = record.query.get("display_name") or record.query.get("name")
        if not name:
            raise ApiError(400, "pipeline version name is required")
        spec = _pipeline_spec(record.file)
        if any(v["display_name"] == name for v in self.state.versions[pipeline_id]):
            raise ApiError(409, f"Failed to create a pipeline version: version {name!r} already exists")
        version = self._version(pipeline_id, name, record.query.get("description", ""), spec)
        self.state.versions[pipeline_id].append(version)
        return version

    def _version(self, pipeline_id: str, name: str, description: str, spec: Any) -> dict[str, Any]:
        return {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": self._new_id("version"),
            "name": name,
            "display_name": name,
            "description": description,
            "created_at": self._now(),
            "pipeline_spec": spec,
        }

    def _create_experiment(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("display_name")
        if not name:
            raise ApiError(400, "Invalid input error: experiment display_name is empty")
        namespace = self._namespace(body, required="CreateExperiment")
        if any(
            e["display_name"] == name and e["namespace"] == namespace for e in self.state.experiments.values()
        ):
            raise ApiError(409, f"experiment {name!r} already exists")
        experiment = {
            "experiment_id": self._new_id("experiment"),
            "display_name": name,
            "description": body.get("description", ""),
            "created_at": self._now(),
            "namespace": namespace,
            "storage_state": "AVAILABLE",
        }
        self.state.experiments[experiment["experiment_id"]] = experiment
        return experiment

    def _create_recurring_run(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("display_name"):
            raise ApiError(400, "Invalid input error: recurring run display_name is empty")
        experiment = self.state.experiments.get(body.get("experiment_id", ""))
        if experiment is None:
            raise ApiError(404, f"experiment {body.get('experiment_id')!r} not found")
        reference = body.get("pipeline_version_reference") or {}
        versions = self.state.versions.get(reference.get("pipeline_id", ""), [])
        if not any(v["pipeline_version_id"] == reference.get("pipeline_version_id") for v in versions):
            raise ApiError(404, f"pipeline version {reference} not found")
        cron = ((body.get("trigger") or {}).get("cron_schedule") or {}).get("cron", "")
        if len(cron.split()) != 6:
            raise ApiError(400, f"Invalid input error: cron {cron!r} must have six fields")
        run = {
            **body,
            "recurring_run_id": self._new_id("recurring"),
            "status": "ENABLED" if body.get("mode", "ENABLE") == "ENABLE" else "DISABLED",
            "created_at": self._now(),
            "max_concurrency": str(body.get("max_concurrency", "1")),
            "namespace": experiment["namespace"],
        }
        self.state.recurring_runs[run["recurring_run_id"]] = run
        return run


def _listing(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "total_size": len(items)} if items else {}


def _filtered(items: list[dict[str, Any]], raw_filter: str | None) -> list[dict[str, Any]]:
    if not raw_filter:
        return items
    try:
        predicates = json.loads(raw_filter).get("predicates", [])
    except (ValueError, AttributeError) as err:
        raise ApiError(400, f"Invalid filter: {err}") from err
    for predicate in predicates:
        operation = predicate.get("operation")
        if operation not in ("EQUALS", 1):
            raise ApiError(400, f"unsupported filter operation {operation!r}")
        key = predicate.get("key")
        value = predicate.get("string_value", predicate.get("stringValue"))
        if key not in ("display_name", "name"):
            raise ApiError(400, f"unsupported filter key {key!r}")
        items = [item for item in items if item.get(key, item.get("display_name")) == value]
    return items


def _multipart_file(raw: bytes, content_type: str, field_name: str) -> bytes:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == field_name:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    raise ApiError(400, f"multipart body has no {field_name!r} file")


def _pipeline_spec(data: bytes | None) -> Any:
    if not data:
        raise ApiError(400, "Failed to upload: the uploaded file is empty")
    try:
        spec = yaml.safe_load(data)
    except yaml.YAMLError as err:
        raise ApiError(400, f"Failed to upload: invalid pipeline spec: {err}") from err
    if not isinstance(spec, dict) or "pipelineInfo" not in spec or "root" not in spec:
        raise ApiError(400, "Failed to upload: not a KFP v2 pipeline spec (pipelineInfo/root missing)")
    return spec


__all__ = ["API", "FakeKfp", "Recorded"]
