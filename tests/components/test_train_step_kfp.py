"""The train step on a short real window: its logic directly, and the KFP component under kfp.local."""

import json
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pytest
from kfp import dsl

from components import layout
from components.extract import extract_snapshot
from components.feature_store import write_snapshot
from components.model.registry import champion_info
from components.model.training import parse_config_json, train_snapshot
from components.reports.names import TRAIN_METRICS
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
    raw = extract_snapshot(snapshot_path, train_settings.spec, REFERENCE, 0, DAYS)
    outcome = check_contract(raw.frame, raw.window, train_settings.spec)
    written = write_snapshot(store, train_settings, enforce(outcome), raw.window, outcome.report, raw.source)
    return written.run_id


@dsl.pipeline(name="train-step")
def train_step(uri: str, run: str) -> None:
    """The snapshot Dataset as the features step outputs it (imported), then train."""
    from components.steps.train import train

    snapshot = dsl.importer(
        artifact_uri=uri,
        artifact_class=dsl.Dataset,
        metadata={"run_id": run, "feature_group_version": 1},
    )
    train(snapshot=snapshot.output, config_json="")


def test_config_json_empty_means_best_config(train_settings: Settings) -> None:
    assert parse_config_json("", train_settings)["objective"] == "l1"  # the default before any tuning
    assert parse_config_json('{"num_leaves": 31}', train_settings)["num_leaves"] == 31
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_config_json("{nope", train_settings)
    with pytest.raises(ValueError, match="unknown keys"):
        parse_config_json('{"num_leafs": 31}', train_settings)


@pytest.mark.slow
def test_train_component_under_kfp_local(
    train_settings: Settings, store: ObjectStore, snapshot_run: str, tmp_path: Path
) -> None:
    from kfp import local

    root = tmp_path / "pipeline-root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    uri = store.uri(layout.feature_snapshot(train_settings.feature_group, 1, snapshot_run))
    train_step(uri=uri, run=snapshot_run)
    (output,) = root.glob("*/train/executor_output.json")
    written = json.loads(output.read_text())
    assert written["parameterValues"] == {"model_version": "1"}
    artifacts = {name: value["artifacts"][0] for name, value in written["artifacts"].items()}

    info = champion_info(train_settings)
    assert info is not None and info.version == "1"
    assert info.config["n_estimators"] == 20  # Settings.train_n_estimators reached the subprocess
    client = mlflow.MlflowClient(train_settings.tracking_uri)
    run = client.get_run(info.run_id)
    assert run.inputs is not None
    assert snapshot_run in run.inputs.dataset_inputs[0].dataset.name

    model = artifacts["model"]
    assert model["uri"] == f"models:/{train_settings.model_name}/1"
    assert model["metadata"]["mlflow_run_id"] == info.run_id and model["metadata"]["version"] == "1"
    assert model["metadata"]["promoted"] is True and model["metadata"]["alias"] == "champion"
    assert model["metadata"]["model_format"] == info.model_format
    assert "first model" in model["metadata"]["reason"]
    # Metrics: the MLflow run's values under the same names; no champion yet, so no champion_wape
    metrics = artifacts["metrics"]["metadata"]
    assert metrics == {k: v for k, v in run.data.metrics.items() if k in TRAIN_METRICS}
    band = {"coverage_80", "pinball"}  # logged only when the model has a band (this short fit has none)
    assert set(metrics) - band == set(TRAIN_METRICS) - {"champion_wape"} - band
    assert set(metrics) <= set(TRAIN_METRICS)
    assert metrics["promoted"] == 1.0 and 0 < metrics["wape"] < 1 and 0 < metrics["wape_naive_24"] < 1
    page = Path(artifacts["backtest"]["uri"]).read_text()
    assert "Backtest of" in page and 'data-label="model forecast"' in page and "<script" not in page

    # the same config on the same snapshot again: nothing is retrained or registered
    again = train_snapshot(train_settings, store, snapshot_run, "")
    assert again.model_version == "1" and again.promoted and again.model is None
    assert again.wape == pytest.approx(metrics["wape"])
    assert "nothing retrained" in again.reason
    versions = mlflow.MlflowClient(train_settings.tracking_uri).search_model_versions(
        f"name = '{train_settings.model_name}'"
    )
    assert [str(v.version) for v in versions] == ["1"]
