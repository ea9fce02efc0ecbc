"""The Helm chart, checked offline by the real helm CLI (v4, from the npm kubectl layer) and
kubernetes-validate --strict: lint and render every values variant, validate every manifest,
reject bad values through values.schema.json, and assert what the issue asks of the objects.

The rendered default manifests are kept at test-artifacts/rendered/energy-forecasting-default.yaml.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.datasets import LIVE_DEFAULT_DATASET, SPECS
from components.settings import Settings
from tests.deploy.tools import REPO, tool

CHART = REPO / "charts" / "energy-forecasting"
RENDERED = REPO / "test-artifacts" / "rendered"
RELEASE = "energy-forecasting"
# The Kubernetes versions the manifests must be valid for: GKE's REGULAR channel and the newest
# schema kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.35.0", "1.37.0")
VARIANTS = [
    "default",
    *sorted(path.stem.removesuffix("-values") for path in (CHART / "ci").glob("*-values.yaml")),
]

Manifest = dict[str, Any]


def _values_args(variant: str) -> list[str]:
    return [] if variant == "default" else ["--values", str(CHART / "ci" / f"{variant}-values.yaml")]


def _helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("helm"), *args], capture_output=True, text=True, timeout=120)


def _template(*args: str) -> list[Manifest]:
    result = _helm("template", RELEASE, str(CHART), "--namespace", "energy-forecasting", *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _by_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    """Every variant rendered once; the YAML is written to test-artifacts/rendered/."""
    RENDERED.mkdir(parents=True, exist_ok=True)
    out = {}
    for variant in VARIANTS:
        result = _helm(
            "template", RELEASE, str(CHART), "--namespace", "energy-forecasting", *_values_args(variant)
        )
        assert result.returncode == 0, f"{variant}: {result.stderr}"
        (RENDERED / f"energy-forecasting-{variant}.yaml").write_text(result.stdout)
        out[variant] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


def test_variants_exist() -> None:
    assert {"default", "hpa", "ingress", "api-only", "production"} <= set(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_lint_strict(variant: str) -> None:
    result = _helm("lint", "--strict", str(CHART), *_values_args(variant))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rendered_manifest_is_valid_kubernetes(
    variant: str, rendered: dict[str, list[Manifest]]
) -> None:
    docs = rendered[variant]
    assert docs
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as err:  # pragma: no cover - the failure message
                pytest.fail(
                    f"{variant}: {doc['kind']}/{doc['metadata']['name']} invalid for {version}: {err}"
                )


def test_default_manifests_pass_the_kubernetes_validate_cli(rendered: dict[str, list[Manifest]]) -> None:
    """The acceptance line, literally: the saved default render through `kubernetes-validate --strict`."""
    path = RENDERED / "energy-forecasting-default.yaml"
    assert path.exists() and rendered["default"]
    cli = tool("kubernetes-validate")
    for version in KUBERNETES_VERSIONS:
        result = subprocess.run(
            [cli, "--strict", "--kubernetes-version", version, str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        passed = [line for line in result.stdout.splitlines() if line.startswith("INFO") and "passed" in line]
        assert len(passed) == len(rendered["default"]), result.stdout
    print(f"kubernetes-validate {kubernetes_validate.version.__version__} --strict: {path.relative_to(REPO)}")


def test_default_objects(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["default"]
    kinds = Counter(doc["kind"] for doc in docs)
    assert kinds == Counter(
        {
            "ServiceAccount": 2,
            "ConfigMap": 2,
            "Service": 2,
            "Deployment": 2,
            "PodDisruptionBudget": 2,
            "Pod": 1,
        }
    ), kinds
    accounts = _by_kind(docs, "ServiceAccount")
    assert set(accounts) == {f"{RELEASE}-api", f"{RELEASE}-dashboard"}  # = Terraform's WI bindings
    for account in accounts.values():
        email = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
        assert email.endswith(".iam.gserviceaccount.com")


def test_deployments_are_hardened_and_probed(rendered: dict[str, list[Manifest]]) -> None:
    deployments = _by_kind(rendered["default"], "Deployment")
    probes = {"api": ("/api/v1/health", "/api/v1/ready"), "dashboard": ("/_stcore/health", "/_stcore/health")}
    commands = {"api": ["python", "-m", "serving"], "dashboard": ["python", "-m", "dashboard"]}
    for component in ("api", "dashboard"):
        spec = deployments[f"{RELEASE}-{component}"]["spec"]
        assert isinstance(spec["replicas"], int) and spec["replicas"] >= 1
        pod = spec["template"]["spec"]
        assert pod["serviceAccountName"] == f"{RELEASE}-{component}"
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        assert container["command"] == commands[component]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert {"mountPath": "/tmp", "name": "tmp"} in container["volumeMounts"]
        tmp = next(volume for volume in pod["volumes"] if volume["name"] == "tmp")
        assert "emptyDir" in tmp
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}
        liveness, readiness = probes[component]
        assert container["livenessProbe"]["httpGet"]["path"] == liveness
        assert container["readinessProbe"]["httpGet"]["path"] == readiness
        assert container["image"].endswith(":0.1.0") or "@sha256:" in container["image"]


def test_configmaps_carry_the_settings(rendered: dict[str, list[Manifest]]) -> None:
    maps = _by_kind(rendered["default"], "ConfigMap")
    api = maps[f"{RELEASE}-api"]["data"]
    dashboard = maps[f"{RELEASE}-dashboard"]["data"]
    assert api["EF_API_HOST"] == "0.0.0.0" and api["EF_API_PORT"] == "8000"
    assert api["EF_BUCKET"] and api["HOME"] == "/tmp"
    assert dashboard["EF_API_URL"] == f"http://{RELEASE}-api:80"  # the API Service of this release
    assert dashboard["EF_DASHBOARD_PORT"] == "8501"
    deployments = _by_kind(rendered["default"], "Deployment")
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": name}}]
        assert "checksum/config" in deployment["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_api_and_dashboard_read_the_live_default_dataset(
    variant: str, rendered: dict[str, list[Manifest]]
) -> None:
    """The hourly recurring run writes ElectricityBalanceNonv by default; both components read it."""
    maps = _by_kind(rendered[variant], "ConfigMap")
    assert maps
    for name, configmap in maps.items():
        data = configmap["data"]
        assert data["EF_DATASET"] == LIVE_DEFAULT_DATASET == "ElectricityBalanceNonv", name
        # the settings the pod builds from it: storage under <prefix>/<dataset>, the dataset's model
        settings = Settings(dataset=data["EF_DATASET"], prefix=data["EF_PREFIX"])
        assert settings.model_name == "energy-forecaster-electricitybalancenonv"
        assert settings.feature_group == SPECS[LIVE_DEFAULT_DATASET].feature_group


def test_dataset_is_chosen_by_the_values() -> None:
    """`--set config.EF_DATASET=...` reaches the API's and the dashboard's ConfigMaps alike."""
    chosen = "ConsumptionDK3619IndustryHour"
    maps = _by_kind(_template("--set", f"config.EF_DATASET={chosen}"), "ConfigMap")
    assert set(maps) == {f"{RELEASE}-api", f"{RELEASE}-dashboard"}
    assert {configmap["data"]["EF_DATASET"] for configmap in maps.values()} == {chosen}


def test_schema_enum_is_the_supported_datasets() -> None:
    """Adding a dataset spec without adding it to the chart's schema fails here."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["definitions"]["dataset"]["enum"] == sorted(SPECS)
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["config"]["EF_DATASET"] == LIVE_DEFAULT_DATASET


def test_lint_rejects_an_unknown_dataset() -> None:
    result = _helm("lint", "--strict", str(CHART), "--set", "config.EF_DATASET=ConsumptionDE36Hour")
    assert result.returncode != 0, result.stdout
    output = result.stdout + result.stderr
    assert "/config/EF_DATASET" in output and "value must be one of" in output, output


def test_hpa_variant_leaves_replicas_unset(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["hpa"]
    hpas = _by_kind(docs, "HorizontalPodAutoscaler")
    deployments = _by_kind(docs, "Deployment")
    assert set(hpas) == set(deployments)
    for name, deployment in deployments.items():
        assert "replicas" not in deployment["spec"], name
        target = hpas[name]["spec"]["scaleTargetRef"]
        assert target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpas[name]["spec"]["minReplicas"] <= hpas[name]["spec"]["maxReplicas"]
    assert not _by_kind(rendered["default"], "HorizontalPodAutoscaler")


def test_ingress_variant_routes_api_and_dashboard(rendered: dict[str, list[Manifest]]) -> None:
    (ingress,) = _by_kind(rendered["ingress"], "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    routes = {path["path"]: path["backend"]["service"]["name"] for path in rule["http"]["paths"]}
    assert routes == {"/api": f"{RELEASE}-api", "/": f"{RELEASE}-dashboard"}
    assert ingress["spec"]["tls"][0]["secretName"] == "forecasts-tls"
    assert _by_kind(rendered["ingress"], "NetworkPolicy")
    assert not _by_kind(rendered["default"], "Ingress")


def test_api_only_variant(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["api-only"]
    assert not [doc for doc in docs if doc["metadata"]["name"].endswith("-dashboard")]
    assert not _by_kind(docs, "PodDisruptionBudget")
    (test_pod,) = _by_kind(docs, "Pod").values()
    assert test_pod["spec"]["containers"][0]["args"] == [f"http://{RELEASE}-api:80/api/v1/health"]


def test_production_variant_pins_the_digest(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["production"]
    for deployment in _by_kind(docs, "Deployment").values():
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert "@sha256:" in image and image.startswith("europe-west1-docker.pkg.dev/ef-prod-123456/")
    pdb = _by_kind(docs, "PodDisruptionBudget")[f"{RELEASE}-api"]
    assert pdb["spec"] == {
        "minAvailable": 2,
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "energy-forecasting",
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/component": "api",
            }
        },
    }


def test_helm_test_pod_checks_both_health_routes(rendered: dict[str, list[Manifest]]) -> None:
    (pod,) = _by_kind(rendered["default"], "Pod").values()
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    (container,) = pod["spec"]["containers"]
    assert container["args"] == [
        f"http://{RELEASE}-api:80/api/v1/health",
        f"http://{RELEASE}-dashboard:80/_stcore/health",
    ]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_notes_tell_how_to_reach_test_and_roll_back() -> None:
    result = _helm("install", RELEASE, str(CHART), "--dry-run=client", "--namespace", "energy-forecasting")
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert f"port-forward svc/{RELEASE}-api" in notes
    assert f"helm test {RELEASE}" in notes and f"helm rollback {RELEASE}" in notes


BAD_VALUES = {
    "zero replicas": (["--set", "api.replicaCount=0"], "/api/replicaCount"),
    "writable root filesystem": (
        ["--set", "containerSecurityContext.readOnlyRootFilesystem=false"],
        "readOnlyRootFilesystem",
    ),
    "root allowed": (["--set", "podSecurityContext.runAsNonRoot=false"], "runAsNonRoot"),
    "not a GSA email": (
        ["--set", "api.serviceAccount.gcpServiceAccount=api@example.com"],
        "gcpServiceAccount",
    ),
    "setting without EF_ prefix": (["--set", "config.BUCKET=x"], "BUCKET"),
    "unknown key": (["--set", "api.replica=3"], "replica"),
    "bad pull policy": (["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
    "cpu is not a quantity": (["--set", "api.resources.limits.cpu=lots"], "cpu"),
    "bad digest": (["--set", "image.digest=latest"], "digest"),
    "unknown dataset": (["--set", "config.EF_DATASET=ConsumptionDE36Hour"], "/config/EF_DATASET"),
    "no dataset": (["--set", "config.EF_DATASET=null"], "EF_DATASET"),
    # one dataset for both components: EF_DATASET is set in the shared config only
    "dataset of the API alone": (
        ["--set", "api.config.EF_DATASET=ConsumptionDE35Hour"],
        "/api/config/EF_DATASET",
    ),
    "dataset of the dashboard alone": (
        ["--set", "dashboard.config.EF_DATASET=ConsumptionDE35Hour"],
        "/dashboard/config/EF_DATASET",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(case: str) -> None:
    args, where = BAD_VALUES[case]
    result = _helm("template", RELEASE, str(CHART), *args)
    assert result.returncode != 0, f"{case}: accepted"
    assert where in result.stderr, result.stderr


def test_hpa_bounds_are_checked() -> None:
    result = _helm(
        "template", RELEASE, str(CHART),
        "--set", "api.autoscaling.enabled=true",
        "--set", "api.autoscaling.minReplicas=5",
        "--set", "api.autoscaling.maxReplicas=2",
    )  # fmt: skip
    assert result.returncode != 0
    assert "maxReplicas (2) must be >= minReplicas (5)" in result.stderr


def test_image_override_as_cd_does_it() -> None:
    docs = _template("--set-string", "image.tag=0.1.0-abc1234")
    images = {
        doc["spec"]["template"]["spec"]["containers"][0]["image"]
        for doc in docs
        if doc["kind"] == "Deployment"
    }
    assert images == {
        "europe-west1-docker.pkg.dev/my-project/energy-forecasting/energy-forecasting:0.1.0-abc1234"
    }
