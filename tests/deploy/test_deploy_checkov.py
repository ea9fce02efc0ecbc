"""checkov (pinned in .tools/, offline with --skip-download) over Terraform, Dockerfile.base and the
Kubernetes manifests that get deployed (the chart with CD's production values, the Kubeflow platform),
in one run: no failed check, and every skipped check carries a written reason next to the code
(`# checkov:skip=<ID>: <reason>` in .tf/Dockerfile, `checkov.io/skipN: <ID>=<reason>` annotations).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.deploy.tools import REPO, tool

pytestmark = pytest.mark.slow

CHART = REPO / "charts" / "energy-forecasting"
EXPECTED_SKIPS = {
    "terraform": {"CKV_GCP_62", "CKV_GCP_65", "CKV_GCP_84"},
    "dockerfile": {"CKV_DOCKER_2", "CKV_DOCKER_7"},
    "kubernetes": {"CKV_K8S_8", "CKV_K8S_9", "CKV2_K8S_6", "CKV_K8S_43"},
}


def _json_documents(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    docs, index = [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        doc, index = decoder.raw_decode(text, index)
        docs.extend(doc if isinstance(doc, list) else [doc])
    return docs


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """{framework: {"passed": [...], "failed": [...], "skipped": [...], "version": str}}."""
    scan = tmp_path_factory.mktemp("checkov")
    shutil.copy(REPO / "Dockerfile.base", scan / "Dockerfile.base")
    helm = subprocess.run(
        [tool("helm"), "template", "energy-forecasting", str(CHART), "--namespace", "energy-forecasting",
         "--values", str(CHART / "ci" / "production-values.yaml")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (scan / "chart-production.yaml").write_text(helm.stdout)
    platform = subprocess.run(
        [tool("kubectl"), "kustomize", str(REPO / "infra" / "kubeflow" / "platform")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (scan / "kubeflow-platform.yaml").write_text(platform.stdout)
    result = subprocess.run(
        [tool("checkov"), "--directory", str(REPO / "infra" / "terraform"), "--directory", str(scan),
         "--framework", "terraform", "dockerfile", "kubernetes", "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert result.stdout, result.stderr[-2000:]
    out: dict[str, dict[str, Any]] = {}
    for doc in _json_documents(result.stdout):
        framework = out.setdefault(doc["check_type"], {"passed": {}, "failed": {}, "skipped": {}})
        framework["version"] = doc["summary"]["checkov_version"]
        assert doc["summary"]["parsing_errors"] == 0, doc["check_type"]
        for state in ("passed", "failed", "skipped"):
            for check in doc["results"].get(f"{state}_checks", []):
                key = (check["check_id"], check["resource"], check["file_path"])
                framework[state][key] = check  # one result per check, resource and file
    out["returncode"] = {"value": result.returncode}
    return out


@pytest.mark.parametrize("framework", sorted(EXPECTED_SKIPS))
def test_checkov_finds_nothing(framework: str, reports: dict[str, dict[str, Any]]) -> None:
    report = reports[framework]
    failed = sorted(f"{check_id} {resource} ({path})" for check_id, resource, path in report["failed"])
    print(
        f"checkov {report['version']} {framework}: {len(report['passed'])} passed, "
        f"{len(report['failed'])} failed, {len(report['skipped'])} skipped"
    )
    assert failed == [], failed
    assert len(report["passed"]) >= 20


def test_checkov_exit_code(reports: dict[str, dict[str, Any]]) -> None:
    assert reports["returncode"]["value"] == 0


@pytest.mark.parametrize("framework", sorted(EXPECTED_SKIPS))
def test_checkov_skips_are_justified(framework: str, reports: dict[str, dict[str, Any]]) -> None:
    skipped = reports[framework]["skipped"].values()
    assert {check["check_id"] for check in skipped} == EXPECTED_SKIPS[framework]
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.split()) >= 8, f"{check['check_id']} on {check['resource']}: reason {reason!r}"
