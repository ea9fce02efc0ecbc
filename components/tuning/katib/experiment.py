"""The Katib ``Experiment`` of a search, built from the search space with the ``kubeflow-katib-api``
pydantic models (the old ``kubeflow-katib`` client pins protobuf < 5 and cannot live beside kfp 2.17).

Each trial is a ``batch/v1`` Job on the project image running ``python -m components.tuning.trial``,
which prints ``wape=<value>`` for Katib's StdOut metrics collector. The Experiment's name carries a
hash of its spec (:func:`experiment_name`), also stored as an annotation: the create policy of
``components.tuning.katib.runner`` adopts an existing Experiment only if the hashes match.
This module talks to no cluster and reads no settings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

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

from components.layout import check_run_id
from components.tuning.space import OBJECTIVE_METRIC, FloatParam, IntParam, Space, ensure_space

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
