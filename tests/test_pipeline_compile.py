"""The compiled pipeline IR: tasks, dependencies, image, parameters, retries, caching, Kubernetes config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import Settings
from components.version import __version__
from pipelines.pipeline import IO_STEPS, settings_env_names

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Compile through the real CLI, as CI and `make compile` do."""
    output = tmp_path_factory.mktemp("compiled") / "pipeline.yaml"
    env = {"EF_TRAIN_NODE_SELECTOR": "cloud.google.com/gke-nodepool=training", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "compile", "--output", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert str(output) in result.stdout
    docs = list(yaml.safe_load_all(output.read_text()))
    assert len(docs) == 2, "expected the pipeline spec and the platform spec"
    return {"spec": docs[0], "platform": docs[1]}


def _tasks(dag: dict[str, Any]) -> dict[str, Any]:
    return dict(dag["dag"]["tasks"])


def _all_tasks(spec: dict[str, Any]) -> dict[str, Any]:
    """Every task of the root DAG and of its nested condition DAGs, by task name."""
    found = dict(_tasks(spec["root"]))
    for component in spec["components"].values():
        if "dag" in component:
            found.update(_tasks(component))
    return found


def test_tasks_and_dependencies(compiled: dict[str, Any]) -> None:
    spec = compiled["spec"]
    root = _tasks(spec["root"])
    assert {"extract", "validate", "features", "predict", "monitor"} <= set(root)
    deps = {name: set(task.get("dependentTasks", [])) for name, task in _all_tasks(spec).items()}
    assert deps["validate"] == {"extract"}
    assert deps["features"] >= {"extract", "validate"}
    assert "features" in deps["predict"] or any("condition" in d for d in deps["predict"])
    assert "predict" in deps["monitor"]
    all_tasks = _all_tasks(spec)
    assert {"tune", "train", "train-2"} <= set(all_tasks), sorted(all_tasks)
    assert deps["train"] >= {"tune"}
    # the tuning branch is a real condition on the run_tuning parameter
    conditions = [t["triggerPolicy"]["condition"] for t in all_tasks.values() if "triggerPolicy" in t]
    assert any("run_tuning" in c and "true" in c for c in conditions), conditions


def test_every_task_runs_the_one_project_image(compiled: dict[str, Any]) -> None:
    executors = compiled["spec"]["deploymentSpec"]["executors"]
    images = {executor["container"]["image"] for executor in executors.values()}
    assert images == {Settings().image_uri}
    assert Settings().image_uri.endswith(f":{__version__}")
    for executor in executors.values():
        command = " ".join(executor["container"]["command"])
        assert "pip install" not in command, "the image already has kfp and the package"


def test_parameters_and_defaults(compiled: dict[str, Any]) -> None:
    params = compiled["spec"]["root"]["inputDefinitions"]["parameters"]
    expected = {
        "reference_time",
        "days_delay",
        "days_export",
        "feature_group_version",
        "run_tuning",
        "tuning_backend",
        "n_trials",
    }
    assert set(params) == expected
    defaults = Settings()
    assert params["reference_time"]["defaultValue"] == ""
    assert params["days_delay"]["defaultValue"] == defaults.days_delay
    assert params["days_export"]["defaultValue"] == defaults.days_export
    assert params["run_tuning"]["defaultValue"] is False
    assert params["tuning_backend"]["defaultValue"] == "optuna"
    assert params["run_tuning"]["parameterType"] == "BOOLEAN"


def test_retries_and_caching(compiled: dict[str, Any]) -> None:
    for name, task in _all_tasks(compiled["spec"]).items():
        if "componentRef" not in task or name.startswith("condition"):
            continue
        assert task.get("cachingOptions", {}).get("enableCache", False) is False, name
        base = name.rsplit("-", 1)[0] if name[-1].isdigit() else name
        if base in IO_STEPS:
            assert task["retryPolicy"]["maxRetryCount"] == 3, name
        else:
            assert "retryPolicy" not in task, name


def test_resources_are_set_per_step(compiled: dict[str, Any]) -> None:
    executors = compiled["spec"]["deploymentSpec"]["executors"]
    for name, executor in executors.items():
        resources = executor["container"].get("resources", {})
        assert resources.get("cpuLimit") and resources.get("memoryLimit"), name


def test_kubernetes_platform_config(compiled: dict[str, Any]) -> None:
    executors = compiled["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    settings = Settings()
    assert set(executors) == set(compiled["spec"]["deploymentSpec"]["executors"])
    for name, config in executors.items():
        (config_map,) = config["configMapAsEnv"]
        assert config_map["configMapName"] == settings.k8s_settings_configmap
        assert config_map["optional"] is True
        keys = {item["configMapKey"] for item in config_map["keyToEnv"]}
        assert keys == set(settings_env_names())
        if "train" in name or "tune" in name:
            assert config["nodeSelector"]["labels"] == {"cloud.google.com/gke-nodepool": "training"}
        else:
            assert "nodeSelector" not in config, name
