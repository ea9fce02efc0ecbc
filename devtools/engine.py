"""The container engine of this machine (podman, or buildah to build only), run with the project's
settings: ``CONTAINERS_CONF`` = ``.ci/containers.conf`` (runtime, ulimits), never the system's file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = REPO / ".ci" / "containers.conf"


class EngineUnavailable(RuntimeError):
    """No container engine can be used here; the message says why in one line."""


def engine_env() -> dict[str, str]:
    """This process's environment with the project's containers.conf."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def builder() -> str:
    """``podman`` if installed, else ``buildah``; raises :class:`EngineUnavailable` if neither is."""
    for name in ("podman", "buildah"):
        if shutil.which(name):
            return name
    raise EngineUnavailable("neither podman nor buildah is installed (make setup installs them with apt-get)")


def run(args: Sequence[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run an engine command with the project's settings, capturing its text output."""
    return subprocess.run(
        list(args), env=engine_env(), capture_output=True, text=True, check=False, timeout=timeout
    )


def image_exists(reference: str) -> bool:
    engine = builder()
    command = [engine, "image", "exists", reference] if engine == "podman" else [engine, "inspect", reference]
    return run(command).returncode == 0


def check_runs() -> None:
    """Raise :class:`EngineUnavailable` unless podman can run a container here (the tests need it)."""
    if not shutil.which("podman"):
        raise EngineUnavailable("podman is not installed (make setup installs it with apt-get)")
    done = run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"], timeout=60)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineUnavailable(f"podman cannot run here: {last}")
