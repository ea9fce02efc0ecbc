"""Two whole pipeline runs for the same scheduled hour at the same time (e.g. the hourly recurring
run and a manual re-run): both finish, each immutable object is written once, the pointers end on
that hour, and the forecast that is published is complete.

Two real ``python -m devtools run`` processes against the session's GCS emulator (one
bucket) and one MLflow SQLite file; an earlier hour is run first so that both start from an
existing champion, as on the cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components import layout
from components.contracts import ForecastMetadata
from components.settings import Settings
from components.storage import ObjectStore
from tests import de35_schema as schemas
from tests.pipeline_fixtures import CHEAP

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
EARLIER = datetime(2023, 1, 16, tzinfo=UTC)
HOUR = datetime(2023, 1, 17, tzinfo=UTC)


def _env(root: Path, snapshot_path: Path, emulator_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "STORAGE_EMULATOR_HOST": emulator_url,
        "EF_BUCKET": "concurrent-runs",
        "EF_DATA_DIR": str(root / "data"),
        "EF_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "ENERGY_SNAPSHOT": str(snapshot_path),
        **CHEAP,
    }


def _start(env: dict[str, str], reference: datetime, root: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            *("-m", "devtools", "run", "--reference-time", reference.isoformat()),
            *("--pipeline-root", str(root / name)),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def concurrent_runs(
    tmp_path_factory: pytest.TempPathFactory, gcs_emulator: Any, snapshot_path: Path
) -> tuple[dict[str, str], list[str]]:
    root = tmp_path_factory.mktemp("concurrent")
    env = _env(root, snapshot_path, gcs_emulator.url)
    _finish(_start(env, EARLIER, root, "earlier"))
    both = [_start(env, HOUR, root, name) for name in ("one", "two")]
    return env, [_finish(process) for process in both]


def test_both_runs_finish_every_step(concurrent_runs: tuple[dict[str, str], list[str]]) -> None:
    _, outputs = concurrent_runs
    for output in outputs:
        steps = [line for line in output.splitlines() if line.startswith("==> step ")]
        assert len(steps) == 7 and all(" SUCCESS in " in line for line in steps), output[-4000:]


def test_the_published_objects_are_whole_and_on_that_hour(
    concurrent_runs: tuple[dict[str, str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, _ = concurrent_runs
    for key in ("EF_BUCKET", "EF_DATA_DIR", "EF_MLFLOW_TRACKING_URI"):
        monkeypatch.setenv(key, env[key])
    settings = Settings()
    store = ObjectStore.from_settings(settings)
    run = layout.run_id(HOUR)
    pointer = store.read_pointer(layout.FORECAST_LATEST)
    assert pointer is not None and pointer.body["run_id"] == run
    forecast = store.read_parquet(layout.forecast_run(run))
    assert len(forecast) == len(schemas.AREAS) * len(schemas.CONSUMER_TYPES) * settings.horizon
    assert not forecast[[schemas.AREA, schemas.CONSUMER_TYPE, "horizon"]].duplicated().any()
    metadata = ForecastMetadata.model_validate(store.read_json(layout.forecast_metadata(run)))
    assert metadata.rows == len(forecast)
    monitoring = store.read_pointer(layout.MONITORING_LATEST)
    assert monitoring is not None and monitoring.body["run_id"] == run
    snapshots = [name for name in store.list("features/") if name.endswith(".parquet")]
    assert len(snapshots) == 2  # the earlier hour's and this hour's: the second writer found it there

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    versions = {str(v.version) for v in client.search_model_versions(f"name = '{settings.model_name}'")}
    assert 2 <= len(versions) <= 3  # the earlier hour's model, and one or two trained concurrently
    champion = client.get_model_version_by_alias(settings.model_name, "champion")
    assert str(champion.version) in versions
    assert metadata.model_version in versions
