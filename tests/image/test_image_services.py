"""The services run from the image exactly as rendered: the API and the dashboard from ``helm
template`` of the chart, MLflow from ``kubectl kustomize infra/kubeflow/platform`` — command,
arguments, environment, user and read-only root filesystem (its volumes as the only writable
paths) come from the manifests, so the chart and the image cannot drift apart.

The API and the dashboard use the host's network (the API reads the pipeline's container run from
the GCS emulator on 127.0.0.1); the rendered values choose free ports and that bucket. MLflow's
port is fixed in its manifest, so it gets its own network namespace and a published port."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from devtools import engine
from devtools.emulator import GcsEmulator, free_port
from tests.api_fixtures import wait_for
from tests.deploy.tools import REPO, tool
from tests.image.pipeline_run import BUCKET, ContainerRun
from tests.image.workloads import Workload, workload

pytestmark = [pytest.mark.slow, pytest.mark.container]

RELEASE = "ef"


def _render(command: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except OSError:
        return 0, b""


def _answers(url: str) -> bool:
    return _get(url)[0] == 200


def _logs(name: str) -> str:
    done = engine.run(["podman", "logs", "--tail", "30", name])
    return done.stdout + done.stderr


@pytest.fixture()
def started(image: str) -> Iterator[Any]:
    """``start(workload, network)`` runs a workload detached; every one is removed after the test."""
    names: list[str] = []

    def start(item: Workload, network: list[str]) -> Workload:
        engine.run(["podman", "rm", "--force", item.name])
        done = engine.run(item.podman_run(image, network), timeout=60)
        assert done.returncode == 0, done.stderr
        names.append(item.name)
        return item

    yield start
    for name in names:
        engine.run(["podman", "rm", "--force", "--time", "2", name])


@pytest.fixture(scope="module")
def chart(image: str, gcs_emulator: GcsEmulator) -> list[dict[str, Any]]:
    """The chart rendered for this machine: the built image, free ports, the container run's bucket
    and dataset, and the emulator for both services (``extraEnv``, as the e2e cluster sets it)."""
    from components.datasets import DEFAULT_DATASET

    repository, _, tag = image.rpartition(":")
    api_port, dashboard_port = free_port(), free_port()
    values = {
        "image.repository": repository,
        "image.tag": tag,
        "config.EF_BUCKET": BUCKET,
        "config.EF_DATASET": DEFAULT_DATASET,
        "dashboard.config.EF_API_URL": f"http://127.0.0.1:{api_port}",
        "api.extraEnv[0].name": "STORAGE_EMULATOR_HOST",
        "api.extraEnv[0].value": gcs_emulator.url,
    }
    sets = [arg for key, value in values.items() for arg in ("--set-string", f"{key}={value}")]
    sets += ["--set", f"api.port={api_port}", "--set", f"dashboard.port={dashboard_port}"]
    chart_dir = REPO / "charts" / "energy-forecasting"
    return _render([tool("helm"), "template", RELEASE, str(chart_dir), *sets])


def test_the_api_serves_the_container_run(
    chart: list[dict[str, Any]], started: Any, container_run: ContainerRun
) -> None:
    api = started(workload(chart, f"{RELEASE}-energy-forecasting-api", "ef-test-api"), ["--network", "host"])
    base = f"http://127.0.0.1:{api.port}/api/v1"
    try:
        wait_for(lambda: _answers(f"{base}/ready"), "the API to be ready", timeout_s=90, every_s=0.5)
    except AssertionError:
        pytest.fail(f"the API did not get ready; its log:\n{_logs(api.name)}")
    assert _answers(f"{base}/health")
    status, body = _get(f"{base}/forecasts")
    assert status == 200, _logs(api.name)
    forecasts = json.loads(body)
    assert forecasts, forecasts


def test_the_dashboard_answers(chart: list[dict[str, Any]], started: Any) -> None:
    dashboard = started(
        workload(chart, f"{RELEASE}-energy-forecasting-dashboard", "ef-test-dashboard"), ["--network", "host"]
    )
    url = f"http://127.0.0.1:{dashboard.port}/_stcore/health"
    try:
        wait_for(lambda: _answers(url), "the dashboard's health route", timeout_s=90, every_s=0.5)
    except AssertionError:
        pytest.fail(f"the dashboard did not answer; its log:\n{_logs(dashboard.name)}")


def test_the_mlflow_role_starts_and_answers(image: str, started: Any) -> None:
    repository = image.rpartition(":")[0]
    platform = _render([tool("kubectl"), "kustomize", str(REPO / "infra" / "kubeflow" / "platform")])
    for manifest in platform:
        for container in manifest.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            if container["image"].startswith(repository):
                container["image"] = image
    mlflow = workload(platform, "mlflow", "ef-test-mlflow")
    host_port = free_port()
    started(mlflow, ["--publish", f"127.0.0.1:{host_port}:{mlflow.port}"])
    url = f"http://127.0.0.1:{host_port}"
    try:
        wait_for(lambda: _answers(f"{url}/health"), "MLflow's /health", timeout_s=90, every_s=0.5)
    except AssertionError:
        pytest.fail(f"MLflow did not answer; its log:\n{_logs(mlflow.name)}")
    status, body = _get(f"{url}/api/2.0/mlflow/experiments/search?max_results=5")
    assert status == 200, _logs(mlflow.name)
    assert "experiments" in json.loads(body)
