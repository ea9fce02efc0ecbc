"""Run the pipeline's steps in the project image on this machine: podman's Docker API for
``kfp.local.DockerRunner``, and a runner whose containers are confined as a pod of the chart is.

    with podman_docker_api(tmp), exit_codes_kept():        # DOCKER_HOST for the docker SDK
        run_pipeline_locally(params, settings, root, runner=confined_runner(mounts=[...]))
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools import engine
from devtools.processes import stop_process

log = logging.getLogger(__name__)

USER = "10001:10001"
"""The image's user, as the chart's and the MLflow manifest's ``securityContext`` run it."""
TMP_SIZE = "256m"
"""The chart's ``tmpSizeLimit``: ``/tmp`` is the one writable path of the read-only root filesystem."""


@contextmanager
def podman_docker_api(folder: Path, timeout_s: float = 30.0) -> Iterator[str]:
    """``podman system service`` on a socket in ``folder`` for the block; yields its ``DOCKER_HOST``
    (``unix://…``) and sets it in ``os.environ`` meanwhile (``docker.from_env()`` reads it there)."""
    import docker

    engine.check_runs()
    socket = folder / "podman.sock"
    url = f"unix://{socket}"
    process = subprocess.Popen(
        ["podman", "system", "service", "--time=0", url],
        env=engine.engine_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = url
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise engine.EngineUnavailable(f"podman system service exited with {process.returncode}")
            try:
                client = docker.DockerClient(base_url=url)
                client.ping()
                client.close()
                break
            except docker.errors.DockerException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        log.info("podman's Docker API at %s", url)
        yield url
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        stop_process(process)


def read_only_mounts(paths: Mapping[Path, Path]) -> list[Any]:
    """Bind mounts ``host path -> container path``, read-only (e.g. a snapshot file for ``extract``)."""
    from docker.types import Mount

    return [Mount(str(target), str(source), type="bind", read_only=True) for source, target in paths.items()]


def confined_runner(mounts: list[Any] | None = None) -> Any:
    """A ``kfp.local.DockerRunner`` whose containers run as the chart runs a pod: uid/gid 10001, a
    read-only root filesystem with a ``/tmp`` tmpfs, and the host's network (the emulator and MLflow
    listen on the host's 127.0.0.1). Podman adds a writable ``/var/tmp`` to a read-only container;
    a read-only one replaces it, so ``/tmp`` is the only writable path, as in the pod."""
    from kfp import local

    return local.DockerRunner(
        user=USER,
        read_only=True,
        tmpfs={"/tmp": f"size={TMP_SIZE},mode=1777", "/var/tmp": "ro,size=1m"},
        network_mode="host",
        mounts=mounts or [],
    )


def _run_and_keep_exit_code(
    client: Any, image: str, command: list[str], volumes: dict[str, Any], **run_args: Any
) -> int:
    """kfp's ``run_docker_container`` without ``auto_remove``: the container is removed after its
    exit code is read. (kfp 2.17 asks for ``auto_remove=True`` and, when the container is gone before
    ``wait()`` answers — as it always is with podman — reports exit code 0: a failed step passes.)"""
    container = client.containers.run(
        image=image, command=command, detach=True, stdout=True, stderr=True, volumes=volumes, **run_args
    )
    try:
        for line in container.logs(stream=True, follow=True):
            print(line.decode(), end="")  # kfp.local shows a step's output on stdout, as kfp does
        return int(container.wait()["StatusCode"])
    finally:
        container.remove(force=True)


@contextmanager
def exit_codes_kept() -> Iterator[None]:
    """For the block, ``kfp.local.DockerRunner`` reports a step's real exit code (see above)."""
    from kfp.local import docker_task_handler

    original = docker_task_handler.run_docker_container
    docker_task_handler.run_docker_container = _run_and_keep_exit_code
    try:
        yield
    finally:
        docker_task_handler.run_docker_container = original
