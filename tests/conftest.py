"""Shared fixtures: one real GCS emulator per test session, a fresh bucket per test, the shared data,
and real pipeline output made once per session (``real_pipeline``, in ``tests/pipeline_fixtures.py``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.datasets import get_spec, sample_path
from components.settings import Settings
from components.storage import ObjectStore
from devtools.emulator import GcsEmulator

pytest_plugins = ["tests.pipeline_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPORTS = REPO_ROOT / "tests" / "data" / "energidataservice"
"""The real Energi Data Service exports the tests read, carried in the repository (see its README)."""
EBN_2019 = EXPORTS / "ElectricityBalanceNonv_DK1DK2_2019-01-01T00_2019-10-31T23.csv"
"""The ElectricityBalanceNonv export of 2019 with its real gaps and faults (see the README beside it)."""
EBN_2024 = EXPORTS / "ElectricityBalanceNonv_DK2_2024-08-28T22_2024-11-06T22.csv"
SNAPSHOT_PATH = sample_path(get_spec("ConsumptionDE35Hour"))
"""The DE35 export: byte-identical to the sample the package ships, so it is read from there."""
API_PAGE_SAMPLE = EXPORTS / "api_page_sample.json"


@pytest.fixture(scope="session")
def snapshot_path() -> Path:
    if not SNAPSHOT_PATH.exists():
        pytest.fail(f"the packaged DE35 sample is missing at {SNAPSHOT_PATH}")
    return SNAPSHOT_PATH


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    """The real fake-gcs-server binary, started once for the whole test session."""
    emulator = GcsEmulator(tmp_path_factory.mktemp("gcs") / "root").start()
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = emulator.url
    yield emulator
    emulator.stop()
    if previous is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = previous


@pytest.fixture()
def bucket_name(gcs_emulator: GcsEmulator) -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def settings(bucket_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test: its own bucket and data folder, also exported as EF_* variables
    so that KFP components run under ``kfp.local`` see the same values."""
    monkeypatch.setenv("EF_BUCKET", bucket_name)
    monkeypatch.setenv("EF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EF_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return Settings()


@pytest.fixture()
def store(settings: Settings) -> ObjectStore:
    object_store = ObjectStore.from_settings(settings)
    object_store.ensure_bucket()
    return object_store


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser test is a slow test (``make test-fast`` skips it), wherever it is marked."""
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
