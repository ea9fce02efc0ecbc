"""infra/terraform parsed with python-hcl2: structure, least privilege, Workload Identity, the
environment example. checkov scans it (with the Dockerfile and the manifests) in test_deploy_checkov.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from components.settings import Settings
from tests.deploy.tools import REPO

TERRAFORM = REPO / "infra" / "terraform"
EXAMPLE_TFVARS = TERRAFORM / "environments" / "prod.example.tfvars"


def _clean(value: Any) -> Any:
    """python-hcl2 keeps string quotes and block markers: strip both."""
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items() if key != "__is_block__"}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return _clean(hcl2.load(handle))


@pytest.fixture(scope="module")
def tf() -> dict[str, dict[str, Any]]:
    """All blocks of the module: {"resource": {"type.name": body}, "variable": {name: body}, ...}."""
    blocks: dict[str, dict[str, Any]] = {"resource": {}, "variable": {}, "output": {}, "locals": {}}
    files = sorted(TERRAFORM.glob("*.tf"))
    assert {path.name for path in files} >= {"versions.tf", "variables.tf", "outputs.tf", "main.tf"}
    for path in files:
        parsed = _load(path)
        for resource in parsed.get("resource", []):
            for rtype, named in resource.items():
                for name, body in named.items():
                    blocks["resource"][f"{rtype}.{name}"] = body
        for kind in ("variable", "output"):
            for block in parsed.get(kind, []):
                blocks[kind].update(block)
        for block in parsed.get("locals", []):
            blocks["locals"].update(block)
        blocks.setdefault("terraform", {}).update({path.name: parsed.get("terraform", [])})
    return blocks


def _resources(tf: dict[str, dict[str, Any]], rtype: str) -> dict[str, Any]:
    return {key.split(".", 1)[1]: body for key, body in tf["resource"].items() if key.startswith(f"{rtype}.")}


def test_provider_pinned(tf: dict[str, dict[str, Any]]) -> None:
    (terraform,) = tf["terraform"]["versions.tf"]
    (providers,) = terraform["required_providers"]
    assert providers["google"]["source"] == "hashicorp/google"
    assert re.fullmatch(r"~> \d+\.\d+", providers["google"]["version"])
    assert "required_version" in terraform and "backend" in terraform


def test_gke_cluster_with_workload_identity(tf: dict[str, dict[str, Any]]) -> None:
    (cluster,) = _resources(tf, "google_container_cluster").values()
    assert cluster["workload_identity_config"][0]["workload_pool"] == "${local.workload_pool}"
    assert tf["locals"]["workload_pool"] == "${var.project_id}.svc.id.goog"
    assert cluster["remove_default_node_pool"] is True
    assert cluster["private_cluster_config"][0]["enable_private_nodes"] is True
    assert cluster["release_channel"][0]["channel"] == "${var.release_channel}"
    assert cluster["network_policy"][0]["enabled"] is True
    # CD reaches the private cluster through the IAM-authorised DNS endpoint (cd.yml --dns-endpoint)
    endpoints = cluster["control_plane_endpoints_config"][0]["dns_endpoint_config"][0]
    assert endpoints["allow_external_traffic"] is True
    assert "--dns-endpoint" in (REPO / ".github" / "workflows" / "cd.yml").read_text()
    assert cluster["master_auth"][0]["client_certificate_config"][0]["issue_client_certificate"] is False
    (pool,) = _resources(tf, "google_container_node_pool").values()
    node = pool["node_config"][0]
    assert node["workload_metadata_config"][0]["mode"] == "GKE_METADATA"
    assert node["service_account"] == "${google_service_account.nodes.email}"  # not the default compute SA
    assert pool["management"][0] == {"auto_repair": True, "auto_upgrade": True}


def test_forecasts_bucket(tf: dict[str, dict[str, Any]]) -> None:
    bucket = _resources(tf, "google_storage_bucket")["forecasts"]
    assert bucket["name"] == "${var.bucket_name}"
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["versioning"][0]["enabled"] is True
    rules = bucket["lifecycle_rule"]
    deletes = [rule["condition"][0] for rule in rules if rule["action"][0]["type"] == "Delete"]
    prefixes = [prefix for condition in deletes for prefix in condition.get("matches_prefix", [])]
    assert "${local.object_prefix}forecasts/runs/" in prefixes  # old runs expire...
    assert "${local.object_prefix}monitoring/runs/" in prefixes
    assert not any(prefix.endswith("latest.json") for prefix in prefixes)  # ...pointers never do
    assert any("days_since_noncurrent_time" in condition for condition in deletes)


def test_artifact_registry(tf: dict[str, dict[str, Any]]) -> None:
    (repo,) = _resources(tf, "google_artifact_registry_repository").values()
    assert repo["format"] == "DOCKER"
    assert repo["docker_config"][0]["immutable_tags"] is True
    image = tf["output"]["image"]["value"]
    assert image.endswith("/energy-forecasting") and "docker.pkg.dev" in image
    assert Settings.model_fields["image"].default.endswith("/energy-forecasting/energy-forecasting")


def test_least_privilege(tf: dict[str, dict[str, Any]]) -> None:
    bucket_roles = {
        body["member"]: body["role"]
        for body in _resources(tf, "google_storage_bucket_iam_member").values()
        if body["bucket"] == "${google_storage_bucket.forecasts.name}" and "condition" not in body
        and body["role"] != "roles/storage.legacyBucketReader"
    }  # fmt: skip
    assert bucket_roles == {
        "${google_service_account.pipelines.member}": "roles/storage.objectAdmin",
        "${google_service_account.api.member}": "roles/storage.objectViewer",
        "${google_service_account.dashboard.member}": "roles/storage.objectViewer",
    }
    mlflow = _resources(tf, "google_storage_bucket_iam_member")["mlflow_objects"]
    assert "mlflow/" in mlflow["condition"][0]["expression"]  # MLflow writes its artifact root only
    # Project-wide roles: node telemetry and CD's deploy role only; never basic or storage roles.
    project_roles: list[str] = []
    for body in _resources(tf, "google_project_iam_member").values():
        project_roles += re.findall(r"roles/[\w.]+", body.get("for_each", "")) or [body["role"]]
    assert project_roles
    for role in project_roles:
        assert role not in ("roles/owner", "roles/editor", "roles/viewer"), role
        assert not role.startswith(("roles/storage.", "roles/iam.")), role


def test_workload_identity_bindings_match_the_cluster_side(tf: dict[str, dict[str, Any]]) -> None:
    binding = _resources(tf, "google_service_account_iam_member")["workload_identity"]
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert (
        binding["member"]
        == "serviceAccount:${local.workload_pool}[${each.value.namespace}/${each.value.ksa}]"
    )
    bound = tf["locals"]["workload_identity"]
    assert set(bound) == {"pipelines", "mlflow", "api", "dashboard"}
    assert bound["api"]["ksa"] == "${var.api_ksa}" and bound["pipelines"]["ksa"] == "${var.pipelines_ksa}"
    defaults = {name: body.get("default") for name, body in tf["variable"].items()}
    settings = Settings()
    assert defaults["pipelines_ksa"] == settings.k8s_service_account
    assert defaults["kubeflow_namespace"] == settings.katib_namespace
    # Helm: release "energy-forecasting" of chart "energy-forecasting" names its SAs <release>-<component>.
    assert defaults["api_ksa"] == "energy-forecasting-api"
    assert defaults["dashboard_ksa"] == "energy-forecasting-dashboard"
    platform = REPO / "infra" / "kubeflow" / "platform"
    accounts = {
        doc["metadata"]["name"]
        for path in platform.glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "ServiceAccount"
    }
    assert {defaults["pipelines_ksa"], defaults["mlflow_ksa"]} <= accounts
    accounts_tf = {body["account_id"] for body in _resources(tf, "google_service_account").values()}
    values = yaml.safe_load((REPO / "charts" / "energy-forecasting" / "values.yaml").read_text())
    for component in ("api", "dashboard"):
        gsa = values[component]["serviceAccount"]["gcpServiceAccount"]
        assert gsa.split("@")[0] in accounts_tf


def test_github_federation_is_restricted(tf: dict[str, dict[str, Any]]) -> None:
    (provider,) = _resources(tf, "google_iam_workload_identity_pool_provider").values()
    assert provider["oidc"][0]["issuer_uri"] == "https://token.actions.githubusercontent.com"
    condition = provider["attribute_condition"]
    assert "assertion.repository ==" in condition and "assertion.sub ==" in condition
    roles = {
        body["role"] for body in _resources(tf, "google_artifact_registry_repository_iam_member").values()
    }
    assert roles == {"roles/artifactregistry.reader", "roles/artifactregistry.writer"}


def test_variables_and_outputs_are_documented(tf: dict[str, dict[str, Any]]) -> None:
    for name, body in tf["variable"].items():
        assert body.get("description"), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"
    for name, body in tf["output"].items():
        assert body.get("description"), f"output {name} has no description"
    assert {
        "bucket",
        "image",
        "api_gsa_email",
        "pipelines_gsa_email",
        "github_workload_identity_provider",
    } <= set(tf["output"])


def test_environment_example_sets_every_required_variable(tf: dict[str, dict[str, Any]]) -> None:
    example = {key: value for key, value in _load(EXAMPLE_TFVARS).items() if not key.startswith("__")}
    unknown = set(example) - set(tf["variable"])
    assert not unknown, f"{EXAMPLE_TFVARS.name} sets undeclared variables {unknown}"
    required = {name for name, body in tf["variable"].items() if "default" not in body}
    assert required <= set(example), required - set(example)
    assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", example["project_id"])
