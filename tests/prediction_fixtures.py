"""The prediction tests' champion and feature snapshots, shared with the monitoring tests.

The champion is a seasonal-naive (24 h) ``mlflow.pyfunc.PythonModel`` registered in one SQLite
registry per test session: a real MLflow model with the forecaster's predict contract. Feature
snapshots are cuts of the shared DE35 weeks stored with the feature store's own writer.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema

from components.settings import Settings
from components.storage import ObjectStore
from tests import de35_schema as schemas

# ship the model class by value so kfp.local subprocesses can unpickle it without this module
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class SeasonalNaive24(PythonModel):
    """Forecast hour ``last + h`` with the value observed at ``last + h - 24`` (h = 1..24)."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        keys = [schemas.AREA, schemas.CONSUMER_TYPE]
        frame = model_input.copy()
        times = pd.to_datetime(frame[schemas.DATETIME])
        if times.dt.tz is None:  # MLflow's schema enforcement hands datetimes over naive (UTC)
            frame[schemas.DATETIME] = times.dt.tz_localize("UTC")
        last = frame.groupby(keys)[schemas.DATETIME].transform("max")
        window = frame[frame[schemas.DATETIME] > last - pd.Timedelta(hours=24)].copy()
        offset = last[window.index] - pd.Timedelta(hours=24)
        window["horizon"] = ((window[schemas.DATETIME] - offset) / pd.Timedelta(hours=1)).astype("int64")
        window[schemas.DATETIME] = window[schemas.DATETIME] + pd.Timedelta(hours=24)
        window["forecast"] = window[schemas.TARGET].astype("float64")
        window["forecast_lower"] = np.nan
        window["forecast_upper"] = np.nan
        return window.loc[:, list(schemas.FORECAST_COLUMNS)].reset_index(drop=True)


def clean_frame(snapshot_path: Path, end: datetime, hours: int) -> pd.DataFrame:
    """The shared snapshot's ``hours`` hours before ``end`` as a clean feature frame."""
    raw = pd.read_parquet(snapshot_path, columns=["HourUTC", "PriceArea", "ConsumerType_DE35", "TotalCon"])
    frame = pd.DataFrame(
        {
            schemas.DATETIME: pd.to_datetime(raw["HourUTC"], utc=True).astype("datetime64[ns, UTC]"),
            schemas.AREA: raw["PriceArea"].astype("string"),
            schemas.CONSUMER_TYPE: raw["ConsumerType_DE35"].astype("string"),
            schemas.TARGET: raw["TotalCon"].astype("float64"),
        }
    )
    start = end - timedelta(hours=hours)
    frame = frame[(frame[schemas.DATETIME] >= start) & (frame[schemas.DATETIME] < end)]
    return frame.sort_values([schemas.AREA, schemas.CONSUMER_TYPE, schemas.DATETIME], ignore_index=True)


def store_cut_snapshot(
    store: ObjectStore, settings: Settings, frame: pd.DataFrame, **report_facts: Any
) -> str:
    """Store a feature snapshot with the feature store's own writer; returns its run id.

    ``report_facts`` replace fields of its validation report (e.g. ``filled_gaps``)."""
    from components.extract import Window
    from components.feature_store import write_snapshot as store_snapshot
    from tests.api_fixtures import validation_report

    start = frame[schemas.DATETIME].min().to_pydatetime()
    end = frame[schemas.DATETIME].max().to_pydatetime() + timedelta(hours=1)
    series = int(frame[list(settings.spec.key_names)].drop_duplicates().shape[0])
    report = validation_report(settings.spec, start, end, len(frame), series).model_copy(update=report_facts)
    return store_snapshot(store, settings, frame, Window(start, end), report, source="test").run_id


SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("datetime", schemas.DATETIME),
            ColSpec("string", schemas.AREA),
            ColSpec("string", schemas.CONSUMER_TYPE),
            ColSpec("double", schemas.TARGET),
        ]
    )
)
"""The forecaster's input signature: MLflow then enforces it on ``predict`` as it does for the real model."""


def register_champion(tracking_uri: str, model_name: str) -> str:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    mlflow.set_experiment("prediction-tests")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=SeasonalNaive24(),
            pip_requirements=["mlflow", "pandas", "numpy"],
            signature=SIGNATURE,
            registered_model_name=model_name,
        )
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_registered_model_alias(model_name, "champion", version)
    return version


_REGISTRY: dict[str, tuple[str, str]] = {}


@pytest.fixture(scope="session")
def champion_registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One SQLite registry per test session holding the champion; returns (tracking URI, version).

    Cached at module level too, so test modules that import this fixture share the one registry.
    """
    if "champion" not in _REGISTRY:
        uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
        _REGISTRY["champion"] = (uri, register_champion(uri, Settings().model_name))
    return _REGISTRY["champion"]


@pytest.fixture()
def model_settings(
    settings: Settings, champion_registry: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("EF_MLFLOW_TRACKING_URI", champion_registry[0])
    return settings.model_copy(update={"mlflow_tracking_uri": champion_registry[0]})


T = TypeVar("T")


def run_at_once(task: Callable[[], T], writers: int = 2) -> list[T]:
    """``task`` in ``writers`` threads released together (a barrier); their results, in finishing
    order. An exception in any thread fails the caller with every error."""
    barrier = threading.Barrier(writers)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(task())
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results
