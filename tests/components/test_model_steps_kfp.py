"""The model the forecast is made with: ``resolve_model`` under KFP's own local runner names the
champion as a ``Model`` artifact, and ``predict`` loads exactly the version a ``Model`` names.

A registry of two tiny pyfunc versions stands in for trained forecasters (training itself is tested
in ``tests/components/test_train_step_kfp.py``): v1 holds alias ``champion``, v2 alias ``challenger``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.pyfunc import PythonModel

from components.settings import Settings
from components.steps.artifacts import model_ref, redact

pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")


class Constant(PythonModel):
    """A "model" that answers with its own version number."""

    def __init__(self, version: int) -> None:
        self.version = version

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return pd.DataFrame({"version": [self.version] * len(model_input)})


@pytest.fixture()
def registry(settings: Settings) -> Settings:
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    mlflow.set_experiment(settings.mlflow_experiment)
    for version in (1, 2):
        with mlflow.start_run():
            mlflow.set_tag("model_format", "test-format")
            mlflow.pyfunc.log_model(
                name="model",
                python_model=Constant(version),
                pip_requirements=[],
                registered_model_name=settings.model_name,
            )
    client = mlflow.MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.set_registered_model_alias(settings.model_name, "champion", "1")
    client.set_registered_model_alias(settings.model_name, "challenger", "2")
    return settings


@pytest.mark.slow
def test_resolve_model_under_kfp_local(registry: Settings, tmp_path: Path) -> None:
    from kfp import local

    from components.steps.train import resolve_model

    root = tmp_path / "kfp"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    task = resolve_model(trained_version="2")  # trained v2, not promoted: the forecast uses v1
    model = task.outputs["model"]
    assert model.uri == f"models:/{registry.model_name}/1"
    meta = model.metadata
    assert meta["version"] == "1" and meta["model_name"] == registry.model_name
    assert meta["alias"] == "champion" and meta["aliases"] == ["champion"]
    assert meta["trained_version"] == "2" and meta["is_trained_version"] is False
    assert meta["model_format"] == "test-format" and meta["framework"] == "mlflow.pyfunc"
    assert meta["tracking_uri"] == registry.tracking_uri
    run = mlflow.MlflowClient(registry.tracking_uri).get_model_version(registry.model_name, "1").run_id
    assert meta["mlflow_run_id"] == run
    # written like on the cluster: the executor output names the artifact, no file at its path
    (output,) = root.glob("*/resolve-model/executor_output.json")
    written = json.loads(output.read_text())["artifacts"]["model"]["artifacts"][0]
    assert written["uri"] == model.uri and written["metadata"]["version"] == "1"


def test_resolve_model_without_a_champion(settings: Settings) -> None:
    from components.steps.artifacts import champion_model

    with pytest.raises(LookupError, match="no model version has alias 'champion'"):
        champion_model(settings, "1")


def test_predict_loads_exactly_the_given_version(registry: Settings) -> None:
    """Whatever alias ``champion`` names, the prediction stage gets the version of the Model artifact."""
    from components import prediction

    rows = pd.DataFrame({"x": [1.0, 2.0]})
    champion, version = prediction.load_model(registry)
    assert version == "1" and list(champion.predict(rows)["version"]) == [1, 1]
    given = model_ref({"model_name": registry.model_name, "version": "2"}, registry)
    pinned, version = prediction.load_model(registry, given)
    assert version == "2" and list(pinned.predict(rows)["version"]) == [2, 2]


def test_model_ref_refuses_another_model(settings: Settings) -> None:
    with pytest.raises(ValueError, match="names 'other'"):
        model_ref({"model_name": "other", "version": "3"}, settings)
    with pytest.raises(ValueError, match="lacks model_name/version"):
        model_ref({}, settings)


def test_tracking_uri_without_credentials() -> None:
    assert redact("https://user:secret@mlflow.example:5000/path") == "https://mlflow.example:5000/path"
    assert redact("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"
