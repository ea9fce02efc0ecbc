"""Hyper-parameter search on the cluster: a Katib ``Experiment`` built from the one search space.

The Experiment is built with the ``kubeflow-katib-api`` pydantic models (the old ``kubeflow-katib``
client pins protobuf < 5 and cannot live beside kfp 2.17) and created, watched and read back with the
``kubernetes`` client's ``CustomObjectsApi``. Each trial is a ``batch/v1`` Job on the project image
running ``python -m components.tuning.trial``, which prints ``wape=<value>`` for Katib's StdOut
metrics collector.

Create policy (decided here): the Experiment name carries a hash of its spec
(:func:`experiment_name`), and the hash is also stored as an annotation. Creating an Experiment that
already exists with the SAME spec hash adopts it and watches it (a retried pipeline step does not
start a second search); one with a DIFFERENT hash under the same name is an error
(:class:`ExperimentConflictError`) unless ``replace=True``, which deletes the old one first.
Nothing is ever replaced silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import yaml
from kubeflow_katib_api.models import (
    IoK8sApimachineryPkgApisMetaV1ObjectMeta,
    V1beta1AlgorithmSetting,
    V1beta1AlgorithmSpec,
    V1beta1CollectorSpec,
    V1beta1Experiment,
    V1beta1ExperimentSpec,
    V1beta1FeasibleSpace,
    V1beta1MetricsCollectorSpec,
    V1beta1ObjectiveSpec,
    V1beta1ParameterSpec,
    V1beta1TrialParameterSpec,
    V1beta1TrialTemplate,
)
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from components.layout import check_run_id
from components.tuning.space import (
    OBJECTIVE_METRIC,
    FloatParam,
    IntParam,
    SearchSpaceError,
    Space,
    coerce_params,
    ensure_space,
)

if TYPE_CHECKING:
    from components.settings import Settings

log = logging.getLogger(__name__)

GROUP = "kubeflow.org"
VERSION = "v1beta1"
PLURAL = "experiments"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Experiment"
PRIMARY_CONTAINER = "trial"
SPEC_HASH_ANNOTATION = "energy-forecasting.io/spec-sha256"
TRIAL_MODULE = "components.tuning.trial"

Algorithm = Literal["tpe", "random"]
_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_MAX_NAME = 40  # Katib appends suffixes to trial and job names; stay well under 63
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TuningError(RuntimeError):
    """Hyper-parameter search failed; the message names the experiment."""


class TuningTimeoutError(TuningError):
    """The Experiment did not finish within the timeout."""


class ExperimentFailedError(TuningError):
    """Katib marked the Experiment ``Failed``."""


class ExperimentConflictError(TuningError):
    """An Experiment of that name exists with a different spec."""


@dataclass(frozen=True)
class KatibResult:
    """The best trial of a finished Experiment, typed back by the search space."""

    experiment: str
    namespace: str
    best_trial: str
    params: dict[str, Any]
    wape: float


def _check_name(name: str, what: str) -> str:
    if len(name) > _MAX_NAME or not _NAME.match(name):
        raise ValueError(
            f"{what} {name!r} must be a DNS-1035 label of at most {_MAX_NAME} characters "
            "(lowercase letters, digits, '-', starting with a letter)"
        )
    return name


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def parameter_specs(space: Space) -> list[V1beta1ParameterSpec]:
    """Katib parameters (``int``/``double``/``categorical`` with a ``feasibleSpace``) from the space."""
    specs: list[V1beta1ParameterSpec] = []
    for name, spec in space.items():
        if isinstance(spec, IntParam | FloatParam):
            feasible = V1beta1FeasibleSpace(
                min=_number(spec.low),
                max=_number(spec.high),
                distribution="logUniform" if spec.log else "uniform",
            )
            kind = "int" if isinstance(spec, IntParam) else "double"
        else:
            feasible = V1beta1FeasibleSpace(list=[str(choice) for choice in spec.choices])
            kind = "categorical"
        specs.append(V1beta1ParameterSpec(name=name, parameterType=kind, feasibleSpace=feasible))
    return specs


def trial_command(
    snapshot_run: str, feature_group_version: int, origins: int, seed: int, names: Sequence[str]
) -> list[str]:
    """The trial container's command; ``${trialParameters.<name>}`` is filled in by Katib."""
    command = [
        "python",
        "-m",
        TRIAL_MODULE,
        "--snapshot-run",
        snapshot_run,
        "--feature-group-version",
        str(feature_group_version),
        "--origins",
        str(origins),
        "--seed",
        str(seed),
    ]
    for name in names:
        command += ["--param", f"{name}=${{trialParameters.{name}}}"]
    return command


def spec_hash(experiment: V1beta1Experiment) -> str:
    """sha256 of the Experiment's spec (canonical JSON), the identity used by the create policy."""
    spec = experiment.spec.to_dict() if experiment.spec else {}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def experiment_name(prefix: str, snapshot_run: str, digest: str) -> str:
    """``<prefix>-<snapshot run>-<8 hex of the spec hash>``, lower-cased, a valid Katib name."""
    name = f"{prefix}-{snapshot_run.lower()}-{digest[:8]}"
    return _check_name(name, "experiment name")


def build_experiment(
    space: Mapping[str, Mapping[str, Any]] | Space,
    name: str,
    namespace: str,
    image: str,
    snapshot_run: str,
    max_trials: int,
    parallel: int,
    *,
    feature_group_version: int = 1,
    origins: int = 3,
    seed: int = 0,
    algorithm: Algorithm = "tpe",
    max_failed_trials: int | None = None,
    service_account: str = "",
    env: Mapping[str, str] | None = None,
    env_from_configmap: str = "",
    cpu: str = "1",
    memory: str = "2Gi",
) -> V1beta1Experiment:
    """The Katib Experiment that minimises ``wape`` over the space with trials on ``image``.

    ``name`` may be ``""``: it is then derived from the spec (:func:`experiment_name`). ``env`` is
    passed to the trial container (the ``EF_*`` settings it needs to read the snapshot) on top of
    the keys of ``env_from_configmap`` (the pipeline's settings ConfigMap), if given; the ConfigMap
    is optional, so trials in a namespace without it still run from the explicit ``env``.
    """
    typed = ensure_space(space)
    check_run_id(snapshot_run)
    if len(namespace) > 63 or not _NAMESPACE.match(namespace):
        raise ValueError(f"namespace {namespace!r} must be a DNS-1123 label")
    if not image or any(ch.isspace() for ch in image):
        raise ValueError(f"trial image {image!r} must be a non-empty image reference")
    if max_trials < 1 or parallel < 1 or parallel > max_trials:
        raise ValueError(f"need 1 <= parallel ({parallel}) <= max_trials ({max_trials})")
    if origins < 1:
        raise ValueError(f"origins must be >= 1, got {origins}")
    if algorithm not in ("tpe", "random"):
        raise ValueError(f"algorithm must be 'tpe' or 'random', got {algorithm!r}")
    for key in env or {}:
        if not _ENV_NAME.match(key):
            raise ValueError(f"trial environment variable name {key!r} is invalid")

    names = list(typed)
    container: dict[str, Any] = {
        "name": PRIMARY_CONTAINER,
        "image": image,
        "command": trial_command(snapshot_run, feature_group_version, origins, seed, names),
        "env": [{"name": key, "value": value} for key, value in sorted((env or {}).items())],
        **(
            {"envFrom": [{"configMapRef": {"name": env_from_configmap, "optional": True}}]}
            if env_from_configmap
            else {}
        ),
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
    }
    pod_spec: dict[str, Any] = {"containers": [container], "restartPolicy": "Never"}
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": pod_spec,
            },
        },
    }
    spec = V1beta1ExperimentSpec(
        objective=V1beta1ObjectiveSpec(type="minimize", objectiveMetricName=OBJECTIVE_METRIC),
        algorithm=V1beta1AlgorithmSpec(
            algorithmName=algorithm,
            algorithmSettings=[V1beta1AlgorithmSetting(name="random_state", value=str(seed))],
        ),
        parameters=parameter_specs(typed),
        maxTrialCount=max_trials,
        parallelTrialCount=parallel,
        maxFailedTrialCount=max_failed_trials if max_failed_trials is not None else max(1, max_trials // 4),
        metricsCollectorSpec=V1beta1MetricsCollectorSpec(collector=V1beta1CollectorSpec(kind="StdOut")),
        trialTemplate=V1beta1TrialTemplate(
            primaryContainerName=PRIMARY_CONTAINER,
            trialParameters=[
                V1beta1TrialParameterSpec(name=n, reference=n, description=f"search-space parameter {n}")
                for n in names
            ],
            trialSpec=job,
        ),
        resumePolicy="Never",
    )
    experiment = V1beta1Experiment(
        apiVersion=API_VERSION,
        kind=KIND,
        metadata=IoK8sApimachineryPkgApisMetaV1ObjectMeta(namespace=namespace),
        spec=spec,
    )
    digest = spec_hash(experiment)
    assert experiment.metadata is not None
    experiment.metadata.name = (
        _check_name(name, "experiment name") if name else experiment_name("tune", snapshot_run, digest)
    )
    experiment.metadata.labels = {"app.kubernetes.io/part-of": "energy-forecasting"}
    experiment.metadata.annotations = {SPEC_HASH_ANNOTATION: digest}
    return experiment


def to_dict(experiment: V1beta1Experiment) -> dict[str, Any]:
    return experiment.to_dict()


def to_yaml(experiment: V1beta1Experiment) -> str:
    return yaml.safe_dump(experiment.to_dict(), sort_keys=False)


def from_yaml(text: str) -> V1beta1Experiment:
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or data.get("kind") != KIND or data.get("apiVersion") != API_VERSION:
        raise ValueError(f"not a {API_VERSION} {KIND} document")
    experiment = V1beta1Experiment.from_dict(data)
    assert experiment is not None
    return experiment


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
        return KatibResult(
            experiment=name,
            namespace=namespace,
            best_trial=str(optimal.get("bestTrialName", "")),
            params=params,
            wape=wape,
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


def experiment_from_settings(
    settings: Settings,
    snapshot_run: str,
    max_trials: int,
    fixed: Mapping[str, Any] | None = None,
    name: str = "",
) -> V1beta1Experiment:
    """The Experiment the ``tune`` step creates: search space minus pinned names, everything else
    (namespace, image, service account, trial resources, trial environment) from ``settings``."""
    from components.model.config import SEARCH_SPACE
    from components.tuning.run import trial_env

    space = ensure_space(SEARCH_SPACE)
    searched = {key: spec for key, spec in space.items() if key not in (fixed or {})}
    return build_experiment(
        searched,
        name,
        settings.katib_namespace,
        settings.image_uri,
        snapshot_run,
        max_trials=max_trials,
        parallel=min(settings.katib_parallel_trials, max_trials),
        feature_group_version=settings.feature_group_version,
        origins=settings.tune_origins,
        seed=settings.tune_seed,
        algorithm=settings.katib_algorithm,
        max_failed_trials=settings.katib_max_failed_trials,
        service_account=settings.katib_service_account or settings.k8s_service_account,
        env=trial_env(settings),
        env_from_configmap=settings.k8s_settings_configmap,
        cpu=settings.katib_trial_cpu,
        memory=settings.katib_trial_memory,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m components.tuning.katib --snapshot-run RUN``: print the Experiment as YAML."""
    import argparse
    import sys

    from components.settings import Settings

    cli = argparse.ArgumentParser(
        prog="python -m components.tuning.katib",
        description="Render the Katib Experiment of the tune step as YAML (settings from EF_* variables), "
        "e.g. for `kubectl apply -f -` or a manifest check.",
    )
    cli.add_argument("--snapshot-run", required=True, help="feature snapshot run id, YYYYMMDDTHHMMZ")
    cli.add_argument(
        "--max-trials", type=int, default=20, help="maximum number of trials (default %(default)s)"
    )
    cli.add_argument("--name", default="", help="experiment name (default: derived from the spec)")
    args = cli.parse_args(argv)
    settings = Settings()
    try:
        check_run_id(args.snapshot_run)
        from components.model.config import DEFAULT_CONFIG, SEARCH_SPACE
        from components.tuning.space import pin

        fixed = pin(settings.tune_fixed, ensure_space(SEARCH_SPACE), DEFAULT_CONFIG, "EF_TUNE_FIXED")
        experiment = experiment_from_settings(settings, args.snapshot_run, args.max_trials, fixed, args.name)
    except ValueError as exc:
        cli.error(str(exc))
    sys.stdout.write(to_yaml(experiment))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
