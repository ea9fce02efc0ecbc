"""The compiled pipeline IR: tasks, dependencies, the artifacts every step takes and gives, the image
(from the settings the pipeline is built with), parameters, retries, caching, Kubernetes config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import Settings
from components.storage import ObjectStore
from components.version import __version__
from pipelines.pipeline import build_pipeline, settings_env_names

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_EMULATOR = "http://127.0.0.1:4443"

DATASET, MODEL, METRICS = "system.Dataset", "system.Model", "system.Metrics"
HTML, MARKDOWN, ARTIFACT = "system.HTML", "system.Markdown", "system.Artifact"
TRAIN_IO = ({"snapshot": DATASET}, {"model": MODEL, "metrics": METRICS, "backtest": HTML})
ARTIFACT_TYPES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # task: (input artifacts, output artifacts), name -> schema title
    "extract": ({}, {"raw": DATASET}),
    "validate": ({"raw": DATASET}, {"clean": DATASET, "report": ARTIFACT, "contract": MARKDOWN}),
    "features": ({"clean": DATASET, "report": ARTIFACT}, {"snapshot": DATASET}),
    "tune": ({"snapshot": DATASET}, {}),
    "train": TRAIN_IO,
    "train-2": TRAIN_IO,
    "resolve-model": ({}, {"model": MODEL}),
    "predict": ({"snapshot": DATASET, "model": MODEL}, {"forecast": DATASET}),
    "monitor": ({"snapshot": DATASET}, {"metrics": METRICS, "summary": HTML}),
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Compile through the real CLI, as CI and `make compile` do."""
    output = tmp_path_factory.mktemp("compiled") / "pipeline.yaml"
    env = {
        "EF_TRAIN_NODE_SELECTOR": "cloud.google.com/gke-nodepool=training",
        "PATH": "/usr/bin:/bin",
        "STORAGE_EMULATOR_HOST": LOCAL_EMULATOR,  # a developer's shell: must not reach the package
    }
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


def _component(spec: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    return dict(spec["components"][task["componentRef"]["name"]])


def _types(definitions: dict[str, Any]) -> dict[str, str]:
    return {name: a["artifactType"]["schemaTitle"] for name, a in definitions.get("artifacts", {}).items()}


def test_artifact_types_of_every_step(compiled: dict[str, Any]) -> None:
    spec = compiled["spec"]
    steps = {name: t for name, t in _all_tasks(spec).items() if "dag" not in _component(spec, t)}
    assert set(steps) == set(ARTIFACT_TYPES)
    for name, task in steps.items():
        component = _component(spec, task)
        found = (
            _types(component.get("inputDefinitions", {})),
            _types(component.get("outputDefinitions", {})),
        )
        assert found == ARTIFACT_TYPES[name], name
    # no figure travels as an output parameter any more: train gives only the version it registered
    outputs = {
        n: set(_component(spec, t).get("outputDefinitions", {}).get("parameters", {}))
        for n, t in steps.items()
    }
    assert outputs["train"] == outputs["train-2"] == {"model_version"}
    assert (
        outputs["predict"] == outputs["monitor"] == outputs["features"] == outputs["resolve-model"] == set()
    )


def _producer(spec: dict[str, Any], task: dict[str, Any], artifact: str) -> tuple[str, str]:
    """The task and output that an input artifact comes from, followed through condition DAGs."""
    source = task["inputs"]["artifacts"][artifact]
    if "taskOutputArtifact" in source:
        out = source["taskOutputArtifact"]
        return out["producerTask"], out["outputArtifactKey"]
    channel = source["componentInputArtifact"]  # pipelinechannel--<task>-<output> of an enclosing DAG
    for outer in _all_tasks(spec).values():
        if (
            channel in outer.get("inputs", {}).get("artifacts", {})
            and "taskOutputArtifact" in outer["inputs"]["artifacts"][channel]
        ):
            return _producer(spec, outer, channel)
    raise AssertionError(f"no producer of {channel}")


def test_artifacts_flow_from_the_step_that_makes_them(compiled: dict[str, Any]) -> None:
    spec = compiled["spec"]
    tasks = _all_tasks(spec)
    # the forecast is made with the model resolve_model names, on the features step's snapshot
    assert _producer(spec, tasks["predict"], "model") == ("resolve-model", "model")
    for consumer in ("tune", "train", "train-2", "predict", "monitor"):
        assert _producer(spec, tasks[consumer], "snapshot") == ("features", "snapshot"), consumer
    assert _producer(spec, tasks["features"], "clean") == ("validate", "clean")
    # resolve_model runs after either training branch (dsl.OneOf over the trained version)
    resolve = tasks["resolve-model"]
    assert resolve["dependentTasks"] == ["condition-branches-1"]
    oneof = resolve["inputs"]["parameters"]["trained_version"]["taskOutputParameter"]
    assert oneof["producerTask"] == "condition-branches-1"
    # monitor waits for predict but reads no artifact of it (it evaluates the stored forecasts)
    assert "predict" in tasks["monitor"]["dependentTasks"]
    assert set(tasks["monitor"]["inputs"]["artifacts"]) == {"snapshot"}


def test_pipeline_root_holds_the_stored_objects(compiled: dict[str, Any], gcs_emulator: Any) -> None:
    """The launcher accepts a gs:// output URI only under the pipeline root: the snapshot and forecast
    artifacts point at objects of the data bucket, so the root is the bucket (and prefix)."""
    settings = Settings()
    root = compiled["spec"]["defaultPipelineRoot"]
    assert root == f"gs://{settings.bucket}"
    assert ObjectStore.from_settings(settings).uri("features/x.parquet").startswith(root + "/")


def test_the_pipeline_is_built_from_the_settings_it_is_given(tmp_path: Path) -> None:
    """Two pipelines built in one process from two settings: each runs its own image (the steps'
    module-level components read no setting at import)."""
    from kfp import compiler

    images = {}
    for tag in ("a", "b"):
        settings = Settings(
            image=f"registry.example/{tag}/energy", image_tag=f"v-{tag}", bucket=f"bucket-{tag}", prefix="p"
        )
        package = tmp_path / f"{tag}.yaml"
        compiler.Compiler().compile(build_pipeline(settings), package_path=str(package))
        spec = next(iter(yaml.safe_load_all(package.read_text())))
        images[tag] = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
        assert spec["defaultPipelineRoot"] == f"gs://bucket-{tag}/p"
    assert images == {"a": {"registry.example/a/energy:v-a"}, "b": {"registry.example/b/energy:v-b"}}


def test_the_cluster_pipeline_sets_no_environment_of_its_own(compiled: dict[str, Any]) -> None:
    """Compiled for the cluster (``env=None``), no task sets an environment variable (a local run's
    emulator URL or MLflow URI); steps get their settings from the ConfigMap only."""
    for name, executor in compiled["spec"]["deploymentSpec"]["executors"].items():
        assert "env" not in executor["container"], (name, executor["container"].get("env"))
    for doc in compiled.values():
        assert LOCAL_EMULATOR not in yaml.safe_dump(doc)


def test_a_local_pipeline_gives_every_task_its_environment(tmp_path: Path) -> None:
    """``build_pipeline(settings, env)``: what a local run passes to its steps, on every task."""
    from kfp import compiler

    env = {"STORAGE_EMULATOR_HOST": LOCAL_EMULATOR, "EF_MLFLOW_TRACKING_URI": "sqlite:////tmp/mlflow.db"}
    package = tmp_path / "local.yaml"
    compiler.Compiler().compile(build_pipeline(Settings(), env=env), package_path=str(package))
    spec = next(iter(yaml.safe_load_all(package.read_text())))
    executors = spec["deploymentSpec"]["executors"]
    assert len(executors) == len(ARTIFACT_TYPES)
    for name, executor in executors.items():
        given = {item["name"]: item["value"] for item in executor["container"]["env"]}
        assert given == env, name


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
    assert params["days_export"]["defaultValue"] == 0  # the running step's dataset decides
    assert params["run_tuning"]["defaultValue"] is False
    assert params["tuning_backend"]["defaultValue"] == "optuna"
    assert params["run_tuning"]["parameterType"] == "BOOLEAN"


def test_no_task_is_retried_or_cached(compiled: dict[str, Any]) -> None:
    """A deterministic failure (missing snapshot, bad setting, broken contract) must fail once: KFP
    cannot tell it from a transient one, so no task has a retry policy; the clients retry
    transient faults themselves."""
    checked = []
    for name, task in _all_tasks(compiled["spec"]).items():
        if "componentRef" not in task or name.startswith("condition"):
            continue
        assert task.get("cachingOptions", {}).get("enableCache", False) is False, name
        assert "retryPolicy" not in task, name
        checked.append(name.rsplit("-", 1)[0] if name[-1].isdigit() else name)
    assert {"extract", "validate", "features", "train", "predict", "monitor"} <= set(checked)


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
