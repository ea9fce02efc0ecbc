"""``devtools.local_run``: a local run's emulator and MLflow reach the steps as task environment,
and this process's ``os.environ`` is never written (``local_storage``, ``task_env``); a run's summary
names what that run wrote or kept (``summarize``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components import layout
from components.settings import Settings
from components.storage import ObjectStore
from devtools.emulator import GcsEmulator
from devtools.local_run import LocalArtifact, local_storage, summarize, task_env


@pytest.fixture()
def no_emulator_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STORAGE_EMULATOR_HOST", "EF_STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_emulator_variable")
def test_local_storage_starts_an_emulator_and_leaves_os_environ_alone(tmp_path: Path) -> None:
    settings = Settings(bucket="local-storage", data_dir=tmp_path, mlflow_tracking_uri="sqlite:///x.db")
    assert settings.emulator_host is None
    before = dict(os.environ)
    with local_storage(settings) as local:
        assert dict(os.environ) == before
        assert local.emulator_host and local.emulator_host.startswith("http://127.0.0.1:")
        assert (local.bucket, local.data_dir) == (settings.bucket, settings.data_dir)
        store = ObjectStore.from_settings(local)
        store.ensure_bucket()
        store.create_json("probe.json", {"ok": True})
        assert (tmp_path / "gcs" / "local-storage").is_dir()  # the emulator's files under data_dir
        assert task_env(local) == {
            "STORAGE_EMULATOR_HOST": local.emulator_host,
            "EF_MLFLOW_TRACKING_URI": "sqlite:///x.db",
        }
        port = int(local.emulator_host.rsplit(":", 1)[1])
    assert dict(os.environ) == before
    assert not GcsEmulator(tmp_path / "gcs", port=port).is_up()  # stopped with the block


def test_local_storage_uses_the_emulator_the_settings_name(
    gcs_emulator: GcsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.url)
    settings = Settings(data_dir=tmp_path)
    with local_storage(settings) as local:
        assert local is settings
    assert not (tmp_path / "gcs").exists()  # nothing started


@pytest.mark.usefixtures("no_emulator_variable")
def test_task_env_without_an_emulator_makes_the_default_mlflow_uri_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EF_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=Path("relative"))
    expected = f"sqlite:///{tmp_path / 'relative' / 'mlflow.db'}"
    assert task_env(settings) == {"EF_MLFLOW_TRACKING_URI": expected}


def test_the_summary_names_this_runs_objects_not_the_newest_pointers(
    settings: Settings, store: ObjectStore
) -> None:
    """A backfill of an earlier hour over a bucket with later runs keeps the later pointers; its
    summary names its own snapshot, forecast and model version (here: kept, made with v1)."""
    early, late = "20230115T0000Z", "20230118T0000Z"
    store.create_json(layout.FORECAST_LATEST, {"forecast": layout.forecast_run(late), "model_version": "4"})
    store.create_json(layout.monitoring_summary(early), {"overall_wape": 0.08, "needs_attention": False})
    artifacts = [
        LocalArtifact("features", "snapshot", "system.Dataset", store.uri(f"features/{early}.parquet"), {}),
        LocalArtifact(
            "predict",
            "forecast",
            "system.Dataset",
            store.uri(layout.forecast_run(early)),
            {"model_version": "1", "created": False},
        ),
        LocalArtifact(
            "monitor",
            "summary",
            "system.HTML",
            "/kfp/monitor/summary",
            {"summary": store.uri(layout.monitoring_summary(early))},
        ),
    ]
    summary = summarize(settings, artifacts)
    assert summary["feature_snapshot"] == store.uri(f"features/{early}.parquet")
    assert summary["forecast"] == store.uri(layout.forecast_run(early))
    assert (summary["model_version"], summary["forecast_kept"]) == ("1", True)
    assert summary["monitoring"] == store.uri(layout.monitoring_summary(early))
    assert (summary["monitoring_overall_wape"], summary["monitoring_needs_attention"]) == (0.08, False)
