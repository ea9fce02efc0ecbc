"""The compiled pipeline under ``kfp.local.DockerRunner`` (podman's Docker API): every step in its own
container of the built image, as uid 10001 with a read-only root filesystem and a ``/tmp`` tmpfs,
reaching the GCS emulator and MLflow on the host's network. It ends as the subprocess run does: a
forecast in the bucket and a registered model."""

from __future__ import annotations

import pytest

from components import layout
from components.storage import ObjectStore
from devtools.containers import confined_runner
from tests.image.pipeline_run import ContainerRun
from tests.pipeline_fixtures import SECOND, STEPS

pytestmark = [pytest.mark.slow, pytest.mark.container]


def test_every_step_succeeds_in_its_container(container_run: ContainerRun) -> None:
    status = container_run.result.steps.status
    assert set(status) == STEPS | {"train-2"}, status
    assert set(status.values()) == {"SUCCESS"}, status


def test_a_forecast_in_the_bucket_and_a_registered_model(container_run: ContainerRun) -> None:
    import mlflow

    settings = container_run.settings
    store = ObjectStore.from_settings(settings)
    pointer = store.read_pointer(layout.FORECAST_LATEST)
    assert pointer is not None and pointer.body["run_id"] == layout.run_id(SECOND)
    forecast = store.read_parquet(pointer.body["forecast"])
    assert len(forecast) > 0 and forecast["forecast"].notna().all()
    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    champion = client.get_model_version_by_alias(settings.model_name, "champion")
    assert str(pointer.body["model_version"]) == str(champion.version)
    assert container_run.result.summary["champion_version"] == champion.version


def test_a_step_container_is_confined_as_a_pod(image: str, docker_api: str) -> None:
    """What the runner gives each step: uid/gid 10001, and ``/tmp`` the only writable path."""
    import docker

    probe = "import os; print(os.getuid(), os.getgid(), *[p for p in PATHS if os.access(p, os.W_OK)])"
    paths = ["/tmp", "/var/tmp", "/run", "/home/app", "/opt/venv", "/"]
    client = docker.DockerClient(base_url=docker_api)
    try:
        out = client.containers.run(
            image,
            ["python", "-c", probe.replace("PATHS", repr(paths))],
            remove=True,
            **confined_runner().container_run_args,
        )
    finally:
        client.close()
    assert out.decode().split() == ["10001", "10001", "/tmp"]
