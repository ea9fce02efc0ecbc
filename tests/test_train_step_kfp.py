"""The train step on a short real window: its logic directly, and the KFP component under kfp.local."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pytest

from components.extract import extract_snapshot
from components.features import write_snapshot
from components.model.registry import champion_info
from components.model.training import parse_config_json, train_snapshot
from components.settings import Settings
from components.storage import ObjectStore
from components.validation import check_contract, enforce

REFERENCE = datetime(2023, 1, 18, tzinfo=UTC)
DAYS = 10


@pytest.fixture()
def train_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("EF_TRAIN_BACKTEST_ORIGINS", "1")
    monkeypatch.setenv("EF_TRAIN_N_ESTIMATORS", "20")
    return Settings()


@pytest.fixture()
def snapshot_run(train_settings: Settings, store: ObjectStore, snapshot_path: Path) -> str:
    raw = extract_snapshot(snapshot_path, REFERENCE, 0, DAYS)
    outcome = check_contract(raw.frame, raw.window)
    written = write_snapshot(store, train_settings, enforce(outcome), raw.window, outcome.result, raw.source)
    return written.run_id


def test_config_json_empty_means_best_config(train_settings: Settings) -> None:
    assert parse_config_json("", train_settings)["objective"] == "l1"  # the default before any tuning
    assert parse_config_json('{"num_leaves": 31}', train_settings)["num_leaves"] == 31
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_config_json("{nope", train_settings)
    with pytest.raises(ValueError, match="unknown keys"):
        parse_config_json('{"num_leafs": 31}', train_settings)


def test_train_component_under_kfp_local(
    train_settings: Settings, store: ObjectStore, snapshot_run: str, tmp_path: Path
) -> None:
    from kfp import local

    from components.steps.train import train

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "pipeline-root"))
    task = train(snapshot_run=snapshot_run, feature_group_version=1, config_json="")
    assert task.outputs["model_version"] == "1"
    assert task.outputs["promoted"] is True
    assert 0 < task.outputs["wape"] < 1 and 0 < task.outputs["baseline_wape"] < 1

    info = champion_info(train_settings)
    assert info is not None and info.version == "1"
    assert info.config["n_estimators"] == 20  # Settings.train_n_estimators reached the subprocess
    run = mlflow.MlflowClient(train_settings.tracking_uri).get_run(info.run_id)
    assert run.inputs is not None
    assert snapshot_run in run.inputs.dataset_inputs[0].dataset.name

    # the same config on the same snapshot again: nothing is retrained or registered
    again = train_snapshot(train_settings, store, snapshot_run, "")
    assert again.model_version == "1" and again.promoted and again.model is None
    assert again.wape == pytest.approx(task.outputs["wape"])
    assert "nothing retrained" in again.reason
    versions = mlflow.MlflowClient(train_settings.tracking_uri).search_model_versions(
        f"name = '{train_settings.model_name}'"
    )
    assert [str(v.version) for v in versions] == ["1"]
