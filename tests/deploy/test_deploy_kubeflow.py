"""infra/kubeflow: the local kustomizations render offline with the real `kubectl kustomize`
(kustomize v5 inside kubectl) and validate with kubernetes-validate --strict; the KFP and Katib
remote bases are pinned to the releases matching uv.lock (they are fetched at install time only).
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.datasets import LIVE_DEFAULT_DATASET
from components.settings import Settings
from tests.deploy.tools import REPO, tool

KUBEFLOW = REPO / "infra" / "kubeflow"
RENDERED = REPO / "test-artifacts" / "rendered"
LOCAL_KUSTOMIZATIONS = {"platform": KUBEFLOW / "platform", "kind": KUBEFLOW / "overlays" / "kind"}
REMOTE_KUSTOMIZATIONS = [
    KUBEFLOW / "kfp" / "cluster-scoped",
    KUBEFLOW / "kfp" / "install",
    KUBEFLOW / "katib",
]
KUBERNETES_VERSIONS = ("1.35.0", "1.37.0")
CHART_VALUES = REPO / "charts" / "energy-forecasting" / "values.yaml"

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    RENDERED.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, path in LOCAL_KUSTOMIZATIONS.items():
        result = subprocess.run(
            [tool("kubectl"), "kustomize", str(path)], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{path}: {result.stderr}"
        (RENDERED / f"kubeflow-{name}.yaml").write_text(result.stdout)
        out[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


def _find(docs: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def _locked_version(package: str) -> str:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    (version,) = [entry["version"] for entry in lock["package"] if entry["name"] == package]
    return str(version)


@pytest.mark.parametrize("name", sorted(LOCAL_KUSTOMIZATIONS))
def test_local_kustomizations_render_valid_manifests(name: str, rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered[name]
    assert len(docs) >= 10
    for doc in docs:
        assert doc["metadata"].get("namespace") == Settings().katib_namespace, doc["metadata"]
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as err:  # pragma: no cover - the failure message
                pytest.fail(f"{name}: {doc['kind']}/{doc['metadata']['name']} invalid for {version}: {err}")


def test_remote_bases_are_pinned_to_the_locked_releases() -> None:
    """KFP and Katib come from their release tags, matching the SDKs in uv.lock."""
    expected = {
        "kubeflow/pipelines": _locked_version("kfp-server-api"),
        "kubeflow/katib": "v" + _locked_version("kubeflow-katib-api"),
    }
    seen = set()
    for path in REMOTE_KUSTOMIZATIONS:
        kustomization = yaml.safe_load((path / "kustomization.yaml").read_text())
        for resource in kustomization["resources"]:
            match = re.fullmatch(
                r"github\.com/(kubeflow/[a-z]+)(?:\.git)?/manifests/\S+\?ref=(\S+)", resource
            )
            assert match, f"{path}: {resource} is not a pinned kubeflow release"
            repo, ref = match.groups()
            assert ref == expected[repo], f"{resource}: pinned to {ref}, uv.lock has {expected[repo]}"
            seen.add(repo)
    assert seen == set(expected)
    for name, path in LOCAL_KUSTOMIZATIONS.items():  # the offline ones reference local files only
        kustomization = yaml.safe_load((path / "kustomization.yaml").read_text())
        for resource in kustomization["resources"]:
            assert "github.com" not in resource and "://" not in resource, f"{name}: remote {resource}"
            assert (path / resource).exists(), f"{name}: {resource} missing"


def test_pipelines_service_account_can_create_katib_experiments(rendered: dict[str, list[Manifest]]) -> None:
    settings = Settings()
    docs = rendered["platform"]
    account = _find(docs, "ServiceAccount", settings.k8s_service_account)
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].startswith("ef-pipelines@")
    role = _find(docs, "Role", "energy-forecasting-katib")
    rules = {
        (tuple(rule["apiGroups"]), resource): set(rule["verbs"])
        for rule in role["rules"]
        for resource in rule["resources"]
    }
    assert {"create", "get", "watch", "delete"} <= rules[(("kubeflow.org",), "experiments")]
    assert {"get", "list", "watch"} <= rules[(("kubeflow.org",), "trials")]
    binding = _find(docs, "RoleBinding", "energy-forecasting-katib")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": settings.k8s_service_account,
            "namespace": settings.katib_namespace,
        }
    ]
    # The KFP runtime needs in the step pod (Argo executor results, launcher config).
    runtime = _find(docs, "Role", "energy-forecasting-pipeline-runtime")
    resources = {resource for rule in runtime["rules"] for resource in rule["resources"]}
    assert {"pods", "workflowtaskresults", "configmaps"} <= resources
    for rule in runtime["rules"]:  # least privilege: secrets by name only, nothing cluster-wide
        if "secrets" in rule["resources"]:
            assert rule.get("resourceNames") == ["mlpipeline-minio-artifact"]


def test_settings_configmap_has_only_real_settings(rendered: dict[str, list[Manifest]]) -> None:
    """Every key is an EF_* field of Settings (what the pipeline maps into each step's env)."""
    settings = Settings()
    known = {f"EF_{name.upper()}" for name in Settings.model_fields}
    for name, docs in rendered.items():
        data = _find(docs, "ConfigMap", settings.k8s_settings_configmap)["data"]
        extra = {"STORAGE_EMULATOR_HOST"} if name == "kind" else set()
        assert set(data) - known <= extra, set(data) - known
        Settings.model_validate({key[3:].lower(): value for key, value in data.items() if key in known})
    platform = _find(rendered["platform"], "ConfigMap", settings.k8s_settings_configmap)["data"]
    assert platform["EF_K8S_SERVICE_ACCOUNT"] == settings.k8s_service_account
    assert platform["EF_MLFLOW_TRACKING_URI"] == "http://mlflow.kubeflow.svc.cluster.local:5000"


@pytest.mark.parametrize("name", sorted(LOCAL_KUSTOMIZATIONS))
def test_pipeline_writes_the_dataset_the_chart_reads(name: str, rendered: dict[str, list[Manifest]]) -> None:
    """The hourly recurring run forecasts the live default; the API and the dashboard (Helm values)
    read the same dataset, since both sides store under <prefix>/<dataset>."""
    data = _find(rendered[name], "ConfigMap", Settings().k8s_settings_configmap)["data"]
    assert data["EF_DATASET"] == LIVE_DEFAULT_DATASET == "ElectricityBalanceNonv"
    chart = yaml.safe_load(CHART_VALUES.read_text())["config"]
    assert chart["EF_DATASET"] == data["EF_DATASET"]


def test_mlflow_server(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["platform"]
    settings = Settings()
    deployment = _find(docs, "Deployment", "mlflow")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == settings.image_uri  # the project image (mlflow + google-cloud-storage)
    assert container["command"] == ["mlflow", "server"]
    assert "--backend-store-uri=$(MLFLOW_BACKEND_STORE_URI)" in container["args"]
    assert "--artifacts-destination=$(MLFLOW_ARTIFACTS_DESTINATION)" in container["args"]
    assert "--serve-artifacts" in container["args"]
    config = _find(docs, "ConfigMap", "mlflow")["data"]
    assert config["MLFLOW_ARTIFACTS_DESTINATION"].startswith("gs://")
    store = config["MLFLOW_BACKEND_STORE_URI"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert store.startswith("sqlite:////") and store.removeprefix("sqlite:///").startswith(mounts["store"])
    claim = next(volume for volume in pod["volumes"] if volume["name"] == "store")["persistentVolumeClaim"]
    assert _find(docs, "PersistentVolumeClaim", claim["claimName"])
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # one SQLite writer
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["serviceAccountName"] == "mlflow"
    service = _find(docs, "Service", "mlflow")
    assert service["spec"]["ports"][0]["port"] == 5000


def test_kind_overlay_uses_the_emulator_and_the_local_image(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["kind"]
    settings = _find(docs, "ConfigMap", Settings().k8s_settings_configmap)["data"]
    emulator = _find(docs, "Service", "gcs-emulator")
    port = emulator["spec"]["ports"][0]["port"]
    assert settings["STORAGE_EMULATOR_HOST"] == f"http://gcs-emulator.kubeflow.svc.cluster.local:{port}"
    images = {
        container["image"]
        for doc in docs
        if doc["kind"] == "Deployment"
        for container in doc["spec"]["template"]["spec"]["containers"]
    }
    assert "energy-forecasting:e2e" in images
    assert _find(docs, "PersistentVolumeClaim", "mlflow-store")["spec"]["storageClassName"] == "standard"
    bucket_dir = _find(docs, "Deployment", "gcs-emulator")["spec"]["template"]["spec"]["initContainers"][0]
    assert bucket_dir["command"][-1].endswith("/" + settings["EF_BUCKET"])


GKE_ARGS = {
    "--project": "ef-prod-123456",
    "--bucket": "ef-prod-123456-forecasts",
    "--prefix": "prod",
    "--image": "europe-west1-docker.pkg.dev/ef-prod-123456/energy-forecasting/energy-forecasting",
    "--tag": "0.1.0",
    "--pipelines-gsa": "ef-pipelines@ef-prod-123456.iam.gserviceaccount.com",
    "--mlflow-gsa": "ef-mlflow@ef-prod-123456.iam.gserviceaccount.com",
}
OVERLAY_SCRIPT = REPO / "infra" / "scripts" / "gke-overlay.sh"


def test_gke_overlay_script_writes_a_valid_environment(tmp_path: Path) -> None:
    """`make cluster-up` turns Terraform outputs into an overlay of the platform with this script."""
    shellcheck = subprocess.run([tool("shellcheck"), str(OVERLAY_SCRIPT)], capture_output=True, text=True)
    assert shellcheck.returncode == 0, shellcheck.stdout
    out = tmp_path / "gke"
    args = [item for pair in GKE_ARGS.items() for item in pair]
    subprocess.run(["bash", str(OVERLAY_SCRIPT), "--out", str(out), *args], check=True, capture_output=True)
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(out)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)
    settings = _find(docs, "ConfigMap", Settings().k8s_settings_configmap)["data"]
    assert settings["EF_BUCKET"] == GKE_ARGS["--bucket"] and settings["EF_PREFIX"] == "prod"
    assert settings["EF_IMAGE"] == GKE_ARGS["--image"] and settings["EF_IMAGE_TAG"] == GKE_ARGS["--tag"]
    assert settings["EF_DATASET"] == LIVE_DEFAULT_DATASET  # from the platform base
    annotation = "iam.gke.io/gcp-service-account"
    account = _find(docs, "ServiceAccount", Settings().k8s_service_account)
    assert account["metadata"]["annotations"][annotation] == GKE_ARGS["--pipelines-gsa"]
    assert (
        _find(docs, "ServiceAccount", "mlflow")["metadata"]["annotations"][annotation]
        == GKE_ARGS["--mlflow-gsa"]
    )
    mlflow = _find(docs, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]
    assert mlflow["image"] == f"{GKE_ARGS['--image']}:{GKE_ARGS['--tag']}"
    # the IAM condition of Terraform's MLflow binding: <prefix>/mlflow/ of the bucket
    artifacts = _find(docs, "ConfigMap", "mlflow")["data"]["MLFLOW_ARTIFACTS_DESTINATION"]
    assert artifacts == "gs://ef-prod-123456-forecasts/prod/mlflow"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--bucket", "Bad_Bucket"), ("--pipelines-gsa", "someone@example.com"), ("--tag", "has space")],
)
def test_gke_overlay_script_rejects_bad_input(tmp_path: Path, flag: str, value: str) -> None:
    args = [item for pair in {**GKE_ARGS, flag: value}.items() for item in pair]
    result = subprocess.run(
        ["bash", str(OVERLAY_SCRIPT), "--out", str(tmp_path / "x"), *args], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert flag in result.stderr and value in result.stderr
    assert not (tmp_path / "x").exists()
