"""Create, watch and read back Katib Experiments with the ``kubernetes`` client's ``CustomObjectsApi``.

Create policy (decided here): the Experiment name carries a hash of its spec
(``components.tuning.katib.experiment.experiment_name``), and the hash is also stored as an
annotation. Creating an Experiment that already exists with the SAME spec hash adopts it and watches
it (a retried pipeline step does not start a second search); one with a DIFFERENT hash under the same
name is an error (:class:`ExperimentConflictError`) unless ``replace=True``, which deletes the old one
first. Nothing is ever replaced silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeflow_katib_api.models import V1beta1Experiment
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from components.tuning.backend import TuningError
from components.tuning.katib.experiment import (
    GROUP,
    PLURAL,
    SPEC_HASH_ANNOTATION,
    VERSION,
    spec_hash,
)
from components.tuning.space import (
    OBJECTIVE_METRIC,
    SearchSpaceError,
    Space,
    coerce_params,
    ensure_space,
)

log = logging.getLogger(__name__)

TRIAL_COUNTS = ("trials", "trialsSucceeded", "trialsRunning", "trialsFailed", "trialsPruned")
"""The trial counters of an Experiment's status, kept in :attr:`KatibResult.trials`."""


class TuningTimeoutError(TuningError):
    """The Experiment did not finish within the timeout."""


class ExperimentFailedError(TuningError):
    """Katib marked the Experiment ``Failed``."""


class ExperimentConflictError(TuningError):
    """An Experiment of that name exists with a different spec."""


@dataclass(frozen=True)
class KatibResult:
    """The best trial of a finished Experiment, typed back by the search space, and its trial counts."""

    experiment: str
    namespace: str
    best_trial: str
    params: dict[str, Any]
    wape: float
    trials: dict[str, int] = field(default_factory=dict)


def kube_api_client() -> k8s.ApiClient:
    """An API client from the in-cluster service account, else from the local kubeconfig."""
    from kubernetes import config

    try:
        config.load_incluster_config()
        log.info("kubernetes: in-cluster configuration")
    except config.ConfigException:
        config.load_kube_config()
        log.info("kubernetes: kubeconfig configuration")
    return k8s.ApiClient()


def _conditions(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    status = body.get("status") or {}
    conditions = status.get("conditions") or []
    return [c for c in conditions if isinstance(c, dict)]


def _true(conditions: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind and c.get("status") == "True"), None)


def _describe(condition: Mapping[str, Any] | None) -> str:
    if not condition:
        return "no condition reported yet"
    parts = [f"{condition.get('type')}={condition.get('status')}"]
    for key in ("reason", "message"):
        if condition.get(key):
            parts.append(f"{key}: {condition[key]}")
    return ", ".join(parts)


class KatibRunner:
    """Create, watch and read back Katib Experiments through the Kubernetes custom-objects API."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        poll_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_s <= 0:
            raise ValueError(f"poll interval must be > 0, got {poll_s}")
        self.api = k8s.CustomObjectsApi(api_client)
        self.poll_s = poll_s
        self._sleep = sleep
        self._clock = clock

    # -- raw objects -------------------------------------------------------------------------
    def get(self, name: str, namespace: str) -> dict[str, Any]:
        body = self.api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        if not isinstance(body, dict):
            raise TuningError(f"experiment {namespace}/{name}: unexpected answer {type(body).__name__}")
        return body

    def delete(self, name: str, namespace: str) -> None:
        self.api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        log.info("deleted experiment %s/%s", namespace, name)

    # -- create --------------------------------------------------------------------------------
    def create(self, experiment: V1beta1Experiment, *, replace: bool = False) -> dict[str, Any]:
        """Create the Experiment; adopt an existing one with the same spec hash (see module docs)."""
        metadata = experiment.metadata
        if metadata is None or not metadata.name or not metadata.namespace:
            raise ValueError("experiment needs metadata.name and metadata.namespace")
        name, namespace = metadata.name, metadata.namespace
        body = experiment.to_dict()
        digest = (metadata.annotations or {}).get(SPEC_HASH_ANNOTATION) or spec_hash(experiment)
        body.setdefault("metadata", {}).setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = digest
        try:
            created = self.api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
            log.info("created experiment %s/%s (spec %s)", namespace, name, digest[:12])
            return dict(created)
        except ApiException as exc:
            if exc.status != 409:
                raise TuningError(
                    f"creating experiment {namespace}/{name} failed: "
                    f"HTTP {exc.status} {exc.reason}: {exc.body}"
                ) from exc
        existing = self.get(name, namespace)
        existing_digest = ((existing.get("metadata") or {}).get("annotations") or {}).get(
            SPEC_HASH_ANNOTATION
        )
        if existing_digest == digest:
            log.info("experiment %s/%s already exists with the same spec: watching it", namespace, name)
            return existing
        if not replace:
            raise ExperimentConflictError(
                f"experiment {namespace}/{name} exists with another spec "
                f"({str(existing_digest)[:12]} != {digest[:12]}); pass replace=True to delete it"
            )
        log.warning("experiment %s/%s exists with another spec: deleting and re-creating it", namespace, name)
        self.delete(name, namespace)
        self._wait_gone(name, namespace)
        return dict(self.api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body))

    def _wait_gone(self, name: str, namespace: str, timeout_s: float = 120.0) -> None:
        deadline = self._clock() + timeout_s
        while self._clock() < deadline:
            try:
                self.get(name, namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return
                raise
            self._sleep(self.poll_s)
        raise TuningTimeoutError(f"experiment {namespace}/{name} still exists {timeout_s:.0f} s after delete")

    # -- watch ---------------------------------------------------------------------------------
    def wait(self, name: str, namespace: str, timeout_s: float) -> dict[str, Any]:
        """Poll until ``Succeeded`` (returned) or ``Failed`` (raised); raise on timeout."""
        if timeout_s <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout_s}")
        deadline = self._clock() + timeout_s
        last: dict[str, Any] | None = None
        polls = 0
        while True:
            try:
                body = self.get(name, namespace)
            except ApiException as exc:
                if exc.status == 404:
                    raise TuningError(
                        f"experiment {namespace}/{name} disappeared while being watched"
                    ) from exc
                raise TuningError(
                    f"watching experiment {namespace}/{name} failed: HTTP {exc.status} {exc.reason}"
                ) from exc
            polls += 1
            conditions = _conditions(body)
            failed = _true(conditions, "Failed")
            if failed:
                raise ExperimentFailedError(
                    f"experiment {namespace}/{name} failed: {failed.get('reason', '')}: "
                    f"{failed.get('message', 'no message')}"
                )
            if _true(conditions, "Succeeded"):
                log.info("experiment %s/%s succeeded after %d poll(s)", namespace, name, polls)
                return body
            if conditions and conditions[-1] != last:
                last = conditions[-1]
                status = body.get("status") or {}
                log.info(
                    "experiment %s/%s: %s (trials %s, succeeded %s, running %s, failed %s)",
                    namespace,
                    name,
                    _describe(last),
                    status.get("trials", 0),
                    status.get("trialsSucceeded", 0),
                    status.get("trialsRunning", 0),
                    status.get("trialsFailed", 0),
                )
            if self._clock() + self.poll_s > deadline:
                raise TuningTimeoutError(
                    f"experiment {namespace}/{name} did not finish within {timeout_s:g} s "
                    f"({polls} polls); last condition: {_describe(conditions[-1] if conditions else None)}"
                )
            self._sleep(self.poll_s)

    # -- read back -----------------------------------------------------------------------------
    @staticmethod
    def best(body: Mapping[str, Any], space: Mapping[str, Mapping[str, Any]] | Space) -> KatibResult:
        """``status.currentOptimalTrial`` typed back by the search space."""
        typed = ensure_space(space)
        metadata = body.get("metadata") or {}
        name, namespace = metadata.get("name", "?"), metadata.get("namespace", "?")
        optimal = (body.get("status") or {}).get("currentOptimalTrial") or {}
        assignments = optimal.get("parameterAssignments") or []
        if not assignments:
            raise TuningError(
                f"experiment {namespace}/{name} has no currentOptimalTrial.parameterAssignments"
            )
        raw = {str(a.get("name")): a.get("value") for a in assignments if isinstance(a, dict)}
        missing = sorted(set(typed) - set(raw))
        if missing:
            raise TuningError(f"experiment {namespace}/{name}: optimal trial lacks parameter(s) {missing}")
        try:
            params = coerce_params(raw, typed, f"experiment {namespace}/{name} optimal trial")
        except SearchSpaceError as exc:
            raise TuningError(str(exc)) from exc
        metrics = (optimal.get("observation") or {}).get("metrics") or []
        metric = next((m for m in metrics if isinstance(m, dict) and m.get("name") == OBJECTIVE_METRIC), None)
        value = None if metric is None else metric.get("min", metric.get("latest"))
        try:
            wape = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise TuningError(
                f"experiment {namespace}/{name}: optimal trial has no usable "
                f"{OBJECTIVE_METRIC!r} metric ({metric})"
            ) from exc
        status = body.get("status") or {}
        return KatibResult(
            experiment=name,
            namespace=namespace,
            best_trial=str(optimal.get("bestTrialName", "")),
            params=params,
            wape=wape,
            trials={key: int(status[key]) for key in TRIAL_COUNTS if isinstance(status.get(key), int)},
        )

    def run(
        self,
        experiment: V1beta1Experiment,
        space: Mapping[str, Mapping[str, Any]] | Space,
        timeout_s: float,
        *,
        replace: bool = False,
    ) -> KatibResult:
        """Create (or adopt), wait, read back."""
        self.create(experiment, replace=replace)
        assert experiment.metadata is not None and experiment.metadata.name and experiment.metadata.namespace
        body = self.wait(experiment.metadata.name, experiment.metadata.namespace, timeout_s)
        result = self.best(body, space)
        log.info(
            "experiment %s/%s best trial %s: wape %.5f with %s",
            result.namespace,
            result.experiment,
            result.best_trial,
            result.wape,
            result.params,
        )
        return result
