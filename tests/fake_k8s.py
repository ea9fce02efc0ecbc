"""A local HTTP server speaking the Kubernetes custom-objects API for Katib ``experiments``.

Only what the Katib runner uses: ``POST/GET/DELETE /apis/kubeflow.org/v1beta1/namespaces/<ns>/experiments
[/<name>]`` (and the namespaced list), with Kubernetes ``Status`` bodies on errors (404 NotFound, 409
AlreadyExists, 422 Invalid). Created objects are validated with the ``kubeflow-katib-api`` models and get
``uid``/``resourceVersion``/``creationTimestamp`` like a real API server.

The Katib controller is played by a *scenario*: a function ``(experiment, poll) -> status | None``
called on every GET of that experiment (``poll`` counts from 0), whose result becomes ``.status``.
Factories: :func:`succeeds`, :func:`fails`, :func:`never_finishes`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubeflow_katib_api.models import V1beta1Experiment
from pydantic import ValidationError

Scenario = Callable[[dict[str, Any], int], dict[str, Any] | None]

_PATH = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$"
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
    stamp = _now()
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": stamp,
        "lastUpdateTime": stamp,
    }


def _running(trials: int) -> dict[str, Any]:
    return {
        "startTime": _now(),
        "conditions": [
            _condition("Created", "True", "ExperimentCreated", "Experiment is created"),
            _condition("Running", "True", "ExperimentRunning", "Experiment is running"),
        ],
        "trials": trials,
        "trialsRunning": min(trials, 2),
        "trialsSucceeded": max(0, trials - 2),
    }


def midpoint_assignments(experiment: dict[str, Any]) -> list[dict[str, str]]:
    """What a suggestion service could have picked: the middle of each feasible space, as strings."""
    assignments = []
    for parameter in experiment["spec"]["parameters"]:
        space = parameter["feasibleSpace"]
        kind = parameter["parameterType"]
        if kind == "categorical":
            value = space["list"][-1]
        elif kind == "int":
            value = str((int(space["min"]) + int(space["max"])) // 2)
        elif space.get("distribution") == "logUniform":
            value = repr(math.sqrt(float(space["min"]) * float(space["max"])))
        else:
            value = repr((float(space["min"]) + float(space["max"])) / 2)
        assignments.append({"name": parameter["name"], "value": value})
    return assignments


def succeeds(
    after: int = 2,
    wape: float = 0.0842,
    assignments: Callable[[dict[str, Any]], list[dict[str, str]]] = midpoint_assignments,
) -> Scenario:
    """Running for ``after`` polls, then Succeeded with ``currentOptimalTrial``."""

    def scenario(experiment: dict[str, Any], poll: int) -> dict[str, Any]:
        max_trials = int(experiment["spec"].get("maxTrialCount", 1))
        if poll < after:
            return _running(trials=min(max_trials, poll + 1))
        name = experiment["metadata"]["name"]
        status = _running(trials=max_trials)
        status["conditions"][1]["status"] = "False"
        status["conditions"].append(
            _condition("Succeeded", "True", "ExperimentMaxTrialsReached", "Experiment has succeeded")
        )
        status.update(
            trialsRunning=0,
            trialsSucceeded=max_trials,
            completionTime=_now(),
            currentOptimalTrial={
                "bestTrialName": f"{name}-best0001",
                "parameterAssignments": assignments(experiment),
                "observation": {
                    "metrics": [
                        {"name": "wape", "min": str(wape), "max": str(wape * 1.5), "latest": str(wape * 1.1)}
                    ]
                },
            },
        )
        return status

    return scenario


def fails(
    after: int = 1, message: str = "Experiment has failed because max failed count has reached"
) -> Scenario:
    def scenario(experiment: dict[str, Any], poll: int) -> dict[str, Any]:
        status = _running(trials=1)
        if poll >= after:
            status["conditions"][1]["status"] = "False"
            status["conditions"].append(
                _condition("Failed", "True", "ExperimentMaxFailedTrialsReached", message)
            )
            status.update(trialsRunning=0, trialsSucceeded=0, trialsFailed=3)
        return status

    return scenario


def never_finishes() -> Scenario:
    return lambda experiment, poll: _running(trials=1)


class FakeKubernetes:
    """Threaded server on 127.0.0.1; use as a context manager. ``url`` goes into ``Configuration(host=)``."""

    group = "kubeflow.org"
    version = "v1beta1"
    plural = "experiments"

    def __init__(self, default: Scenario | None = None) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.polls: dict[tuple[str, str], int] = {}
        self.scenarios: dict[str, Scenario] = {}
        self.default = default or never_finishes()
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, name: str, scenario: Scenario) -> None:
        """Play ``scenario`` for the experiment called ``name`` (any namespace)."""
        self.scenarios[name] = scenario

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.requests if m == method)

    def __enter__(self) -> FakeKubernetes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- request handling ------------------------------------------------------------------------
    def _status(self, code: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
        return code, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure" if code >= 400 else "Success",
            "message": message,
            "reason": reason,
            "code": code,
        }

    def handle(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        match = _PATH.match(path.split("?", 1)[0])
        if not match or (match["group"], match["version"], match["plural"]) != (
            self.group,
            self.version,
            self.plural,
        ):
            return self._status(404, "NotFound", f"the server could not find the requested resource {path}")
        namespace, name = match["ns"], match["name"]
        with self._lock:
            if method == "POST" and name is None:
                return self._create(namespace, body)
            if method == "GET" and name is None:
                items = [self._observe(key) for key in sorted(self.objects) if key[0] == namespace]
                return 200, {
                    "apiVersion": f"{self.group}/{self.version}",
                    "kind": "ExperimentList",
                    "items": items,
                }
            if name is None:
                return self._status(405, "MethodNotAllowed", f"{method} not allowed on the collection")
            key = (namespace, name)
            if key not in self.objects:
                return self._status(404, "NotFound", f'experiments.kubeflow.org "{name}" not found')
            if method == "GET":
                return 200, self._observe(key)
            if method == "DELETE":
                del self.objects[key]
                self.polls.pop(key, None)
                return self._status(200, "", f'experiments.kubeflow.org "{name}" deleted')
        return self._status(405, "MethodNotAllowed", f"{method} not supported by the fake")

    def _create(self, namespace: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return self._status(400, "BadRequest", "body must be a JSON object")
        metadata = body.get("metadata") or {}
        name = metadata.get("name")
        problems = []
        if body.get("apiVersion") != f"{self.group}/{self.version}" or body.get("kind") != "Experiment":
            problems.append("apiVersion/kind must be kubeflow.org/v1beta1 Experiment")
        if not name:
            problems.append("metadata.name: Required value")
        if metadata.get("namespace", namespace) != namespace:
            problems.append("metadata.namespace does not match the request namespace")
        spec = body.get("spec") or {}
        for field in ("objective", "algorithm", "parameters", "trialTemplate"):
            if not spec.get(field):
                problems.append(f"spec.{field}: Required value")
        try:
            V1beta1Experiment.from_dict(body)
        except ValidationError as exc:
            problems.append(f"schema: {exc}")
        if problems:
            return self._status(422, "Invalid", f"Experiment {name!r} is invalid: {'; '.join(problems)}")
        key = (namespace, str(name))
        if key in self.objects:
            return self._status(409, "AlreadyExists", f'experiments.kubeflow.org "{name}" already exists')
        stored = json.loads(json.dumps(body))
        stored["metadata"].update(
            namespace=namespace,
            uid=str(uuid.uuid4()),
            resourceVersion="1",
            creationTimestamp=_now(),
            generation=1,
        )
        stored.pop("status", None)
        self.objects[key] = stored
        self.polls[key] = 0
        return 201, stored

    def _observe(self, key: tuple[str, str]) -> dict[str, Any]:
        experiment = self.objects[key]
        scenario = self.scenarios.get(key[1], self.default)
        status = scenario(experiment, self.polls[key])
        self.polls[key] += 1
        observed = dict(experiment)
        if status is not None:
            observed["status"] = status
            observed["metadata"] = {
                **experiment["metadata"],
                "resourceVersion": str(int(experiment["metadata"]["resourceVersion"]) + self.polls[key]),
            }
        return observed

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                fake.requests.append((method, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    code, answer = fake._status(400, "BadRequest", "body is not JSON")
                else:
                    code, answer = fake.handle(method, self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
