"""MLflow registry on a temporary SQLite: champion, challenger, and the champion loads as pyfunc."""

from __future__ import annotations

import json
import logging
from importlib.metadata import version as dist_version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from components.model.config import DEFAULT_CONFIG
from components.model.core import IncompatibleModelError
from components.model.registry import (
    FORMAT_TAG,
    champion_info,
    champion_uri,
    load_best_config,
    load_champion,
    requirement_mismatches,
    save_best_config,
    training_dataset,
)
from components.model.training import train_and_register
from components.settings import Settings
from tests import de35_schema as schemas
from tests.de35_schema import short_frame

GOOD = {"n_estimators": 100, "learning_rate": 0.1, "origin_stride": 6, "quantile_n_estimators": 20}
WORSE = {**GOOD, "learning_rate": 0.01, "num_leaves": 15}


@pytest.fixture()
def registry_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("EF_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("EF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EF_TRAIN_BACKTEST_ORIGINS", "2")
    monkeypatch.setenv("EF_TRAIN_N_ESTIMATORS", "30")
    return Settings()


@pytest.mark.slow
def test_champion_then_challenger_and_pyfunc_roundtrip(
    snapshot_path: Path, registry_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    frame = short_frame(snapshot_path)
    uri = "gs://bucket/features/energy_consumption/v1/snapshots/20230117T2300Z.parquet"

    first = train_and_register(frame, registry_settings, GOOD, uri)
    assert first.promoted and first.model_version == "1"
    assert first.champion_wape is None
    assert 0 < first.wape < 0.3 and 0 < first.baseline_wape < 0.3  # 30 trees, 10 days: sane, not tuned

    with caplog.at_level(logging.WARNING, logger="components.model.registry"):
        second = train_and_register(frame, registry_settings, WORSE, uri)
    assert not second.promoted and second.model_version == "2"
    assert second.champion_wape == pytest.approx(first.wape)
    assert second.wape > first.wape
    assert "worse than champion v1" in caplog.text

    client = mlflow.MlflowClient(registry_settings.tracking_uri)
    name = registry_settings.model_name
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "2"
    info = champion_info(registry_settings)
    assert info is not None and info.version == "1" and info.config["learning_rate"] == 0.1

    # the run: lineage, artifacts, metrics
    run = client.get_run(first.run_id)
    assert run.inputs is not None
    lineage = run.inputs.dataset_inputs[0].dataset
    assert uri in lineage.source and lineage.name == uri
    assert lineage.digest == training_dataset(frame, uri).digest
    assert lineage.digest != training_dataset(frame.iloc[1:], uri).digest
    assert [c["name"] for c in json.loads(lineage.schema)["mlflow_colspec"]] == [
        schemas.DATETIME,
        "area",
        "consumer_type",
        schemas.TARGET,
    ]
    assert json.loads(lineage.profile) == {"num_rows": len(frame)}
    assert run.data.metrics["snapshot_rows"] == len(frame)
    assert run.data.metrics["wape"] == pytest.approx(first.wape)
    artifacts = {a.path for a in client.list_artifacts(first.run_id, "backtest")}
    assert "backtest/model_per_horizon.csv" in artifacts and "backtest/model_per_series.csv" in artifacts
    assert {a.path for a in client.list_artifacts(first.run_id, "plots")} == {
        "plots/backtest_total.png",
        "plots/wape_per_horizon_and_origin.png",
    }

    # the champion as the prediction step loads it gives the in-memory model's forecast
    loaded = mlflow.pyfunc.load_model(champion_uri(registry_settings))
    # MLflow's schema enforcement wants naive datetimes: the prediction step passes naive UTC
    naive = frame.assign(**{schemas.DATETIME: frame[schemas.DATETIME].dt.tz_localize(None)})
    served = loaded.predict(naive)
    expected = first.model.forecast(frame)
    assert list(served.columns) == ["area", "consumer_type", *schemas.FORECAST_VALUE_COLUMNS]
    assert len(served) == 76 * registry_settings.horizon
    pd.testing.assert_frame_equal(served.reset_index(drop=True), expected.reset_index(drop=True))
    assert served[schemas.DATETIME].min() == frame[schemas.DATETIME].max() + pd.Timedelta(hours=1)
    assert np.isfinite(served["forecast"]).all()
    assert (served["forecast_lower"] <= served["forecast"]).all()
    champion, version = load_champion(registry_settings)
    assert version == "1"
    pd.testing.assert_frame_equal(
        champion.predict(naive).reset_index(drop=True), expected.reset_index(drop=True)
    )


def test_requirement_mismatches_name_each_unsatisfied_pin() -> None:
    here = f"pandas=={dist_version('pandas')}"
    assert requirement_mismatches([here, "# a comment", "-c constraints.txt"]) == []
    problems = requirement_mismatches(["pandas==0.0.1", "no-such-distribution-xyz==1.0"])
    assert problems == [
        f"pandas==0.0.1 is required but {dist_version('pandas')} is installed",
        "no-such-distribution-xyz==1.0 is required but not installed",
    ]


def test_best_config_roundtrip(registry_settings: Settings) -> None:
    assert load_best_config(registry_settings) == DEFAULT_CONFIG
    tuned = {**DEFAULT_CONFIG, "num_leaves": 31, "learning_rate": 0.07}
    save_best_config(registry_settings, tuned, 0.061, "optuna:test")
    assert load_best_config(registry_settings) == tuned


def test_no_champion_is_a_lookup_error(registry_settings: Settings) -> None:
    with pytest.raises(LookupError, match="no champion"):
        load_champion(registry_settings)


@pytest.mark.slow
def test_a_champion_of_an_older_model_format_is_replaced_not_compared(
    snapshot_path: Path, registry_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A champion registered by an older version of the model code cannot serve: its fitted model
    refuses to predict with a clear error, and the next training replaces it even if it scores worse."""
    frame = short_frame(snapshot_path)
    uri = "gs://bucket/features/x/v1/snapshots/20230117T0000Z.parquet"
    first = train_and_register(frame, registry_settings, GOOD, uri)
    client = mlflow.MlflowClient(registry_settings.tracking_uri)
    client.set_tag(first.run_id, FORMAT_TAG, "1-old")  # as if registered by earlier code
    assert first.model is not None
    first.model.model_format = "1-old"
    with pytest.raises(IncompatibleModelError, match="retrain it"):
        first.model.forecast(frame)

    with caplog.at_level(logging.WARNING, logger="components.model.training"):
        second = train_and_register(frame, registry_settings, WORSE, uri)
    assert second.promoted and second.champion_wape is None
    assert "replaces champion v1, which cannot serve" in second.reason
    assert "cannot serve" in caplog.text
    assert str(client.get_model_version_by_alias(registry_settings.model_name, "champion").version) == "2"
    # the same config on the same snapshot is reused only when the model format matches
    client.set_tag(second.run_id, FORMAT_TAG, "1-old")
    third = train_and_register(frame, registry_settings, WORSE, uri)
    assert third.model_version == "3" and third.model is not None
