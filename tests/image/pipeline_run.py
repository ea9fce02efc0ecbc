"""The compiled pipeline under ``kfp.local.DockerRunner``, every step in the built image (fixture code)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from components.settings import Settings
from devtools.containers import confined_runner, exit_codes_kept, read_only_mounts
from devtools.local_run import RunResult, run_pipeline_locally
from tests.pipeline_fixtures import CHEAP

BUCKET = "container-run"
SNAPSHOT_IN_CONTAINER = Path("/snapshot") / "export.parquet"


@dataclass(frozen=True)
class ContainerRun:
    settings: Settings
    result: RunResult


def run_in_containers(
    image: str, emulator_url: str, tracking_uri: str, snapshot: Path, root: Path, reference: datetime
) -> ContainerRun:
    """One run without tuning for ``reference``, into bucket :data:`BUCKET` of the emulator and the
    MLflow server at ``tracking_uri``. The steps get their settings only as task environment (a
    container does not inherit this process's); the pipeline root is writable by the image's user,
    as a volume with the pod's ``fsGroup`` would be."""
    repository, _, tag = image.rpartition(":")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("EF_")]:
            patch.delenv(key)
        patch.setenv("STORAGE_EMULATOR_HOST", emulator_url)
        settings = Settings(
            bucket=BUCKET,
            data_dir=root / "data",
            mlflow_tracking_uri=tracking_uri,
            image=repository,
            image_tag=tag,
        )
    step_env = {
        "EF_BUCKET": BUCKET,
        "EF_DATASET": settings.dataset,
        "ENERGY_SNAPSHOT": str(SNAPSHOT_IN_CONTAINER),
        **CHEAP,
    }
    pipeline_root = root / "kfp"
    pipeline_root.mkdir()
    pipeline_root.chmod(0o777)
    runner = confined_runner(read_only_mounts({snapshot: SNAPSHOT_IN_CONTAINER}))
    params = {"reference_time": reference.isoformat(), "run_tuning": False}
    with exit_codes_kept():
        result = run_pipeline_locally(
            params, settings, pipeline_root, warm=False, env=step_env, runner=runner
        )
    return ContainerRun(settings, result)
