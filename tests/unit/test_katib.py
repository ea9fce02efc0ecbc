"""Katib: the Experiment rendered from the one search space, and create/watch/read-back against a
local HTTP server speaking the Kubernetes custom-objects API (``tests.fake_k8s``)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
from kubeflow_katib_api.models import V1beta1Experiment
from kubernetes import client as k8s

from components.model.config import DEFAULT_CONFIG, SEARCH_SPACE, validate_config
from components.settings import Settings
from components.tuning.backend import TuningError
from components.tuning.katib.experiment import PRIMARY_CONTAINER, build_experiment, from_yaml, to_yaml
from components.tuning.katib.runner import (
    ExperimentConflictError,
    ExperimentFailedError,
    KatibRunner,
    TuningTimeoutError,
)
from components.tuning.space import OBJECTIVE_METRIC, is_inside, parse_space
from tests.fake_k8s import FakeKubernetes, fails, never_finishes, succeeds

NAMESPACE = "kubeflow-user"
RUN = "20230117T0000Z"
KATIB_TYPES = {"int": "int", "float": "double", "categorical": "categorical"}


def _experiment(name: str = "", **overrides: Any) -> V1beta1Experiment:
    settings = Settings()
    arguments: dict[str, Any] = {
        "space": SEARCH_SPACE,
        "name": name,
        "namespace": NAMESPACE,
        "image": settings.image_uri,
        "snapshot_run": RUN,
        "max_trials": 12,
        "parallel": 3,
        "service_account": "energy-forecasting-pipelines",
        "env": {"EF_BUCKET": "energy-forecasting", "EF_TUNE_FIXED": "{}"},
        "env_from_configmap": "energy-forecasting-settings",
    }
    arguments.update(overrides)
    return build_experiment(**arguments)


@pytest.fixture()
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes() as server:
        yield server


@pytest.fixture()
def runner(fake: FakeKubernetes) -> KatibRunner:
    configuration = k8s.Configuration(host=fake.url)
    return KatibRunner(k8s.ApiClient(configuration), poll_s=0.01)


def test_experiment_is_a_valid_katib_object_rendered_from_the_search_space() -> None:
    experiment = _experiment()
    body = experiment.to_dict()
    assert body["apiVersion"] == "kubeflow.org/v1beta1" and body["kind"] == "Experiment"
    assert re.fullmatch(r"tune-20230117t0000z-[0-9a-f]{8}", body["metadata"]["name"])
    # the models accept their own output: a valid kubeflow-katib-api object
    assert V1beta1Experiment.from_dict(body) == experiment
    spec = body["spec"]
    assert spec["objective"] == {"type": "minimize", "objectiveMetricName": OBJECTIVE_METRIC}
    assert spec["algorithm"]["algorithmName"] == "tpe"
    assert spec["metricsCollectorSpec"]["collector"]["kind"] == "StdOut"
    assert (spec["maxTrialCount"], spec["parallelTrialCount"]) == (12, 3)

    # every parameter of the one search space, with its type and feasible space
    parameters = {p["name"]: p for p in spec["parameters"]}
    assert set(parameters) == set(SEARCH_SPACE)
    for name, declared in SEARCH_SPACE.items():
        rendered = parameters[name]
        assert rendered["parameterType"] == KATIB_TYPES[declared["type"]], name
        feasible = rendered["feasibleSpace"]
        if declared["type"] == "categorical":
            assert feasible["list"] == [str(c) for c in declared["choices"]]
        else:
            assert float(feasible["min"]) == declared["low"] and float(feasible["max"]) == declared["high"]
            assert feasible["distribution"] == ("logUniform" if declared["log"] else "uniform")
            if declared["type"] == "int":
                assert feasible["min"] == str(declared["low"]) and feasible["max"] == str(declared["high"])

    # the trial template: a batch Job on the project image running the trial entry point
    template = spec["trialTemplate"]
    assert template["primaryContainerName"] == PRIMARY_CONTAINER
    assert {(p["name"], p["reference"]) for p in template["trialParameters"]} == {
        (n, n) for n in SEARCH_SPACE
    }
    job = template["trialSpec"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["name"] == PRIMARY_CONTAINER
    assert container["image"] == Settings().image_uri
    command = container["command"]
    assert command[:3] == ["python", "-m", "components.tuning.trial"]
    assert command[command.index("--snapshot-run") + 1] == RUN
    for name in SEARCH_SPACE:
        assert f"{name}=${{trialParameters.{name}}}" in command
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "energy-forecasting-pipelines"
    assert container["envFrom"] == [
        {"configMapRef": {"name": "energy-forecasting-settings", "optional": True}}
    ]

    # with the placeholders filled in, the Job is a valid Kubernetes object (strict schema)
    filled = copy.deepcopy(job)
    filled["metadata"] = {"name": "trial-0001", "namespace": NAMESPACE}
    filled_container = filled["spec"]["template"]["spec"]["containers"][0]
    filled_container["command"] = [re.sub(r"\$\{trialParameters\.\w+\}", "1", c) for c in command]
    kubernetes_validate.validate(filled, "1.30.0", strict=True)


def test_experiment_yaml_round_trips() -> None:
    experiment = _experiment(algorithm="random", seed=7)
    text = to_yaml(experiment)
    again = from_yaml(text)
    assert again == experiment
    assert again.to_dict() == experiment.to_dict()
    assert to_yaml(again) == text
    assert "algorithmName: random" in text and "value: '7'" in text
    with pytest.raises(ValueError, match="Experiment"):
        from_yaml("apiVersion: v1\nkind: Pod\n")


def test_the_name_follows_the_spec() -> None:
    assert _experiment().metadata.name == _experiment().metadata.name
    assert _experiment().metadata.name != _experiment(max_trials=5).metadata.name


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namespace": "Not_A_Namespace"}, "namespace"),
        ({"name": "x" * 41}, "experiment name"),
        ({"parallel": 20}, "parallel"),
        ({"image": ""}, "image"),
        ({"snapshot_run": "latest"}, "invalid run id 'latest'"),
        ({"algorithm": "grid"}, "algorithm"),
        ({"env": {"BAD NAME": "x"}}, "BAD NAME"),
        ({"space": {"n_estimators": {"type": "int", "low": 10, "high": 1}}}, "n_estimators"),
        ({"space": {"lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}}, "lr"),
        ({"space": {"x": {"type": "categorical", "choices": []}}}, "'x'"),
    ],
)
def test_invalid_inputs_are_rejected_naming_what(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _experiment(**overrides)


def test_create_watch_read_back(fake: FakeKubernetes, runner: KatibRunner) -> None:
    experiment = _experiment()
    name = experiment.metadata.name
    fake.script(name, succeeds(after=3, wape=0.0731))
    result = runner.run(experiment, SEARCH_SPACE, timeout_s=30)

    assert (result.experiment, result.namespace) == (name, NAMESPACE)
    assert result.wape == pytest.approx(0.0731)
    assert result.best_trial == f"{name}-best0001"
    # values come back typed by the search space and inside it
    space = parse_space(SEARCH_SPACE)
    assert set(result.params) == set(SEARCH_SPACE)
    assert is_inside(result.params, space)
    for pname, declared in SEARCH_SPACE.items():
        value = result.params[pname]
        if declared["type"] == "int":
            assert type(value) is int
        elif declared["type"] == "float":
            assert type(value) is float
        else:
            assert value in declared["choices"]
    assert validate_config({**DEFAULT_CONFIG, **result.params}) is not None
    # one create, then polls until Succeeded (3 running + 1 succeeded)
    assert fake.count("POST") == 1 and fake.count("GET") == 4
    assert (NAMESPACE, name) in fake.objects


def test_failed_experiment_raises_with_its_message(fake: FakeKubernetes, runner: KatibRunner) -> None:
    experiment = _experiment()
    name = experiment.metadata.name
    fake.script(name, fails(after=2, message="Experiment has failed because max failed count has reached"))
    with pytest.raises(ExperimentFailedError, match=rf"{name} failed: .*max failed count has reached"):
        runner.run(experiment, SEARCH_SPACE, timeout_s=30)


def test_watch_timeout_fails_loudly(fake: FakeKubernetes, runner: KatibRunner) -> None:
    experiment = _experiment()
    name = experiment.metadata.name
    fake.script(name, never_finishes())
    with pytest.raises(TuningTimeoutError) as caught:
        runner.run(experiment, SEARCH_SPACE, timeout_s=0.2)
    message = str(caught.value)
    assert name in message and NAMESPACE in message
    assert "Running=True" in message and "Experiment is running" in message


def test_existing_experiment_same_spec_is_adopted_other_spec_conflicts(
    fake: FakeKubernetes, runner: KatibRunner
) -> None:
    experiment = _experiment(name="tune-fixed-name")
    fake.script("tune-fixed-name", succeeds(after=0))
    first = runner.run(experiment, SEARCH_SPACE, timeout_s=30)
    again = runner.run(experiment, SEARCH_SPACE, timeout_s=30)  # a retried step: watch, no second search
    assert again == first
    assert fake.count("POST") == 2 and len(fake.objects) == 1

    other = _experiment(name="tune-fixed-name", max_trials=4, parallel=2)
    with pytest.raises(ExperimentConflictError, match="tune-fixed-name exists with another spec"):
        runner.create(other)
    runner.create(other, replace=True)
    assert fake.count("DELETE") == 1
    stored = fake.objects[(NAMESPACE, "tune-fixed-name")]
    assert stored["spec"]["maxTrialCount"] == 4


def test_read_back_rejects_values_outside_the_space(fake: FakeKubernetes, runner: KatibRunner) -> None:
    experiment = _experiment()
    name = experiment.metadata.name

    def outside(body: dict[str, Any]) -> list[dict[str, str]]:
        return [{"name": n, "value": "100000"} for n in SEARCH_SPACE]

    fake.script(name, succeeds(after=0, assignments=outside))
    with pytest.raises(TuningError, match=rf"{name} optimal trial: parameter .* outside"):
        runner.run(experiment, SEARCH_SPACE, timeout_s=30)


def test_invalid_experiment_is_refused_by_the_server(runner: KatibRunner) -> None:
    experiment = _experiment()
    experiment.spec.parameters = []
    with pytest.raises(TuningError, match=r"HTTP 422.*spec.parameters"):
        runner.create(experiment)


def test_tune_stage_with_katib_backend_stores_the_best_config(
    fake: FakeKubernetes, store: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components.model.registry import load_best_config
    from components.tuning.run import tune_snapshot

    monkeypatch.setenv("EF_KATIB_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("EF_TUNE_FIXED", json.dumps({"n_estimators": 30, "n_jobs": 1}))
    settings = Settings()
    fake.default = succeeds(after=1, wape=0.0655)
    api = k8s.ApiClient(k8s.Configuration(host=fake.url))
    settings = settings.model_copy(update={"katib_poll_s": 0.01, "katib_timeout_s": 30.0})

    outcome = tune_snapshot(settings, store, RUN, "katib", 6, api_client=api)

    assert outcome.wape == pytest.approx(0.0655)
    assert outcome.config["n_estimators"] == 30  # pinned (outside the range), so not searched by Katib
    assert validate_config(outcome.config, check_ranges=False) == outcome.config
    searched = {k: v for k, v in parse_space(SEARCH_SPACE).items() if k != "n_estimators"}
    assert is_inside(outcome.config, searched)
    ((namespace, name),) = fake.objects
    assert namespace == NAMESPACE and outcome.source == f"katib:{NAMESPACE}/{name}"
    submitted = fake.objects[(namespace, name)]["spec"]
    assert "n_estimators" not in {p["name"] for p in submitted["parameters"]}
    (container,) = submitted["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["EF_BUCKET"] == settings.bucket and json.loads(env["EF_TUNE_FIXED"]) == {
        "n_estimators": 30,
        "n_jobs": 1,
    }
    assert container["image"] == settings.image_uri
    assert submitted["maxTrialCount"] == 6
    assert load_best_config(settings) == outcome.config
    # the study summary: the experiment, its best trial and the trial counts of its status
    assert outcome.summary == {
        "backend": "katib",
        "namespace": NAMESPACE,
        "experiment": name,
        "best_trial": f"{name}-best0001",
        "trials": 6,
        "trialsRunning": 0,
        "trialsSucceeded": 6,
    }
    json.dumps(outcome.summary)


def test_render_cli_prints_the_experiment_of_the_tune_step(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from components.tuning.katib.cli import main

    monkeypatch.setenv("EF_KATIB_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("EF_TUNE_FIXED", '{"n_estimators": 100}')
    assert main(["--snapshot-run", RUN, "--max-trials", "8"]) == 0
    experiment = from_yaml(capsys.readouterr().out)
    assert experiment.metadata.namespace == NAMESPACE
    assert experiment.spec.max_trial_count == 8
    assert {p.name for p in experiment.spec.parameters} == set(SEARCH_SPACE) - {"n_estimators"}
    with pytest.raises(SystemExit) as exited:
        main(["--snapshot-run", "yesterday"])
    assert exited.value.code == 2 and "invalid run id 'yesterday'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0 and "--snapshot-run" in capsys.readouterr().out
