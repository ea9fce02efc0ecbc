"""The project image, built once per test session (or reused: ``devtools.image`` keys a build by its
inputs), and podman's Docker API. Without a usable container engine every test here is skipped
with one line saying why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import engine
from devtools.containers import podman_docker_api
from devtools.emulator import GcsEmulator
from devtools.image import build, describe, plan
from tests.image.pipeline_run import ContainerRun, run_in_containers


@pytest.fixture(scope="session")
def image() -> str:
    """The reference of the built image (``Settings().image_uri``, as ``make image`` tags it)."""
    from components.settings import Settings
    from components.version import __version__

    settings = Settings()
    try:
        engine.check_runs()
        build_plan = plan(settings.image_uri, __version__)
    except engine.EngineUnavailable as err:
        pytest.skip(f"container tests: {err}")
    reference = build(build_plan)
    print("\n".join(["", f"built {reference}", *describe(reference)]))
    return reference


@pytest.fixture(scope="session")
def docker_api(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``DOCKER_HOST`` of podman's Docker API (for ``kfp.local.DockerRunner``), for the session."""
    with podman_docker_api(tmp_path_factory.mktemp("podman")) as url:
        yield url


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` on the host's 127.0.0.1 (SQLite store, artifacts it serves); its URL."""
    import os
    import subprocess
    import sys
    import urllib.request

    from devtools.emulator import free_port
    from devtools.processes import stop_process
    from tests.api_fixtures import wait_for

    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--workers", "1"]
    command += ["--artifacts-destination", str(root / "artifacts"), "--serve-artifacts"]
    process = subprocess.Popen(
        command,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=subprocess.DEVNULL,
        stderr=(root / "server.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        wait_for(healthy, f"mlflow server at {url}", timeout_s=60, every_s=0.3)
        yield url
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def container_run(
    image: str,
    docker_api: str,
    gcs_emulator: GcsEmulator,
    mlflow_server: str,
    snapshot_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> ContainerRun:
    """The pipeline run once per session with every step in its own container of the image."""
    from tests.pipeline_fixtures import SECOND

    root = tmp_path_factory.mktemp("container-run")
    return run_in_containers(image, gcs_emulator.url, mlflow_server, snapshot_path, root, SECOND)
