"""upload / schedule / unschedule against a local server speaking the KFP v2beta1 REST API."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.emulator import free_port
from pipelines import cli
from pipelines.remote import (
    SCHEDULE_TIME_PLACEHOLDER,
    KfpApiError,
    KfpUnreachableError,
    RemoteError,
    schedule,
    unschedule,
    upload_pipeline,
)
from tests.fake_kfp import API, FakeKfp


def compile_package(path: Path, description: str) -> Path:
    """A real compiled KFP v2 pipeline package (the predict step wired into a pipeline)."""
    from kfp import compiler, dsl

    from components.steps.predict import predict

    @dsl.pipeline(name="energy-forecasting", description=description)
    def energy_forecasting(reference_time: str = "", feature_group_version: int = 1) -> None:
        predict(
            snapshot_run="",
            feature_group_version=feature_group_version,
            scheduled_time=reference_time,
            model_version="",
        )

    compiler.Compiler().compile(energy_forecasting, package_path=str(path))
    return path


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("packages")
    return (
        compile_package(folder / "pipeline.yaml", "first build"),
        compile_package(folder / "pipeline-2.yaml", "second build"),
    )


@pytest.fixture()
def kfp() -> Iterator[FakeKfp]:
    with FakeKfp() as server:
        yield server


def test_upload_creates_the_pipeline_then_new_versions(kfp: FakeKfp, packages: tuple[Path, Path]) -> None:
    first, second = packages
    pipeline_id, version_id = upload_pipeline(kfp.url, first)

    assert [(r.method, r.path) for r in kfp.requests] == [
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/pipelines"),
        ("POST", f"{API}/pipelines/upload"),
        ("GET", f"{API}/pipelines/{pipeline_id}/versions"),
    ]
    lookup = kfp.calls("GET", f"{API}/pipelines")[0]
    assert json.loads(lookup.query["filter"]) == {
        "predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": "energy-forecasting"}]
    }
    upload = kfp.calls("POST", f"{API}/pipelines/upload")[0]
    assert upload.query == {
        "name": "energy-forecasting",
        "display_name": "energy-forecasting",
        "description": "first build",
    }
    assert upload.file == first.read_bytes()
    assert version_id == kfp.state.versions[pipeline_id][0]["pipeline_version_id"]

    same_pipeline, new_version = upload_pipeline(kfp.url, second)
    assert same_pipeline == pipeline_id and new_version != version_id
    upload_version = kfp.calls("POST", f"{API}/pipelines/upload_version")[0]
    assert upload_version.query["pipelineid"] == pipeline_id
    assert upload_version.query["name"].startswith("energy-forecasting-v")
    assert upload_version.file == second.read_bytes()
    assert len(kfp.state.pipelines) == 1 and len(kfp.state.versions[pipeline_id]) == 2

    # the same package again: the stored version is reused, nothing is uploaded
    again = upload_pipeline(kfp.url, second)
    assert again == (pipeline_id, new_version)
    assert len(kfp.calls("POST", f"{API}/pipelines/upload_version")) == 1


def test_schedule_sends_the_exact_recurring_run_and_replaces_the_old_one(
    kfp: FakeKfp, packages: tuple[Path, Path]
) -> None:
    pipeline_id, version_id = upload_pipeline(kfp.url, packages[0])
    run_id, replaced = schedule(
        kfp.url,
        pipeline_id,
        version_id,
        cron="0 0 * * * *",
        experiment="energy-forecasting",
        job_name="energy-forecasting-hourly",
        params={"days_delay": 0, "run_tuning": False},
        service_account="energy-forecasting-pipelines",
    )

    assert replaced is None
    created_experiment = kfp.calls("POST", f"{API}/experiments")[0].body
    assert created_experiment["display_name"] == "energy-forecasting"
    experiment_id = next(iter(kfp.state.experiments))
    body = kfp.calls("POST", f"{API}/recurringruns")[0].body
    assert body == {
        "display_name": "energy-forecasting-hourly",
        "description": "",
        "experiment_id": experiment_id,
        "pipeline_version_reference": {"pipeline_id": pipeline_id, "pipeline_version_id": version_id},
        "runtime_config": {
            "parameters": {
                "days_delay": 0,
                "run_tuning": False,
                "reference_time": "{{$.pipeline_job_schedule_time_utc}}",
            }
        },
        "trigger": {"cron_schedule": {"cron": "0 0 * * * *"}},
        "max_concurrency": "1",
        "no_catchup": True,
        "mode": "ENABLE",
        "service_account": "energy-forecasting-pipelines",
    }
    assert SCHEDULE_TIME_PLACEHOLDER == "{{$.pipeline_job_schedule_time_utc}}"
    assert list(kfp.state.recurring_runs) == [run_id]

    # re-scheduling: the experiment is reused, a new run is created and the old one deleted
    new_id, replaced = schedule(
        kfp.url,
        pipeline_id,
        version_id,
        cron="0 30 * * * *",
        experiment="energy-forecasting",
        job_name="energy-forecasting-hourly",
        service_account="energy-forecasting-pipelines",
    )
    assert replaced == run_id and new_id != run_id
    assert len(kfp.calls("POST", f"{API}/experiments")) == 1
    assert [r.path for r in kfp.calls("DELETE", f"{API}/recurringruns/{run_id}")] == [
        f"{API}/recurringruns/{run_id}"
    ]
    assert list(kfp.state.recurring_runs) == [new_id]
    assert kfp.state.recurring_runs[new_id]["trigger"]["cron_schedule"]["cron"] == "0 30 * * * *"

    assert unschedule(kfp.url, "energy-forecasting-hourly") == new_id
    assert kfp.state.recurring_runs == {}
    assert unschedule(kfp.url, "energy-forecasting-hourly") is None


def test_a_failed_creation_keeps_the_previous_schedule(kfp: FakeKfp, packages: tuple[Path, Path]) -> None:
    pipeline_id, version_id = upload_pipeline(kfp.url, packages[0])
    old_id, _ = schedule(kfp.url, pipeline_id, version_id, job_name="hourly")
    kfp.fail_next(500, "POST", f"{API}/recurringruns", message="scheduler database is locked")

    with pytest.raises(KfpApiError, match="answered 500") as caught:
        schedule(kfp.url, pipeline_id, version_id, job_name="hourly")
    assert caught.value.status == 500
    assert "scheduler database is locked" in str(caught.value)
    assert f"POST {API}/recurringruns" in str(caught.value)
    assert list(kfp.state.recurring_runs) == [old_id]
    assert kfp.calls("DELETE", f"{API}/recurringruns/{old_id}") == []


def test_client_errors_are_reported_with_the_server_message(
    kfp: FakeKfp, packages: tuple[Path, Path]
) -> None:
    with pytest.raises(KfpApiError, match="answered 404") as caught:
        schedule(kfp.url, "pipeline-9999", "version-9999", job_name="hourly")
    assert caught.value.status == 404 and "not found" in str(caught.value)

    kfp.fail_next(403, "GET", f"{API}/healthz", message="RBAC: access denied")
    with pytest.raises(KfpApiError, match=r"403.*RBAC: access denied"):
        upload_pipeline(kfp.url, packages[0])
    assert kfp.calls("POST", f"{API}/pipelines/upload") == []


def test_unreachable_host_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(KfpUnreachableError, match=f"cannot reach Kubeflow Pipelines at {url}"):
        unschedule(url, "hourly")


def test_arguments_are_checked_before_any_request(
    kfp: FakeKfp, packages: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(RemoteError, match="six fields"):
        schedule(kfp.url, "p", "v", cron="0 * * * *")
    with pytest.raises(RemoteError, match="reference_time"):
        schedule(kfp.url, "p", "v", params={"reference_time": "2023-01-01T00:00:00Z"})
    with pytest.raises(RemoteError, match="does not exist; run `python -m pipelines compile`"):
        upload_pipeline(kfp.url, tmp_path / "missing.yaml")
    not_ir = tmp_path / "not-ir.yaml"
    not_ir.write_text("hello: world\n")
    with pytest.raises(RemoteError, match="not a compiled KFP v2 pipeline"):
        upload_pipeline(kfp.url, not_ir)
    with pytest.raises(RemoteError, match="must be an http"):
        upload_pipeline("localhost:8888", packages[0])
    assert [r.path for r in kfp.requests if r.method != "GET"] == []


def test_cli_commands(
    kfp: FakeKfp,
    packages: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EF_K8S_SERVICE_ACCOUNT", "forecast-sa")
    assert cli.main(["upload", "--host", kfp.url, "--package", str(packages[0])]) == 0
    assert "uploaded" in capsys.readouterr().out

    assert cli.main(["schedule", "--host", kfp.url, "--param", "days_export=14"]) == 0
    out = capsys.readouterr().out
    assert "recurring run 'energy-forecasting-hourly'" in out and "forecast-sa" in out
    body = kfp.calls("POST", f"{API}/recurringruns")[0].body
    assert body["service_account"] == "forecast-sa"
    assert body["runtime_config"]["parameters"] == {
        "days_export": 14,
        "reference_time": "{{$.pipeline_job_schedule_time_utc}}",
    }
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 * * * *"

    assert cli.main(["schedule", "--host", kfp.url, "--cron", "0 0 */2 * * *"]) == 0
    assert "replaced the previous recurring run" in capsys.readouterr().out

    assert cli.main(["unschedule", "--host", kfp.url]) == 0
    assert "removed recurring run" in capsys.readouterr().out

    # errors: one line on stderr, no stack trace, non-zero exit
    assert (
        cli.main(["upload", "--host", f"http://127.0.0.1:{free_port()}", "--package", str(packages[0])]) == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach Kubeflow Pipelines") and "Traceback" not in err


@pytest.mark.parametrize("command", ["upload", "schedule", "unschedule"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "--host" in capsys.readouterr().out


def test_the_fake_server_speaks_what_kfp_client_expects(kfp: FakeKfp, packages: tuple[Path, Path]) -> None:
    """kfp's own client reads what our commands created: the fake speaks the real wire format."""
    import warnings

    import kfp as kfp_sdk

    pipeline_id, version_id = upload_pipeline(kfp.url, packages[0])
    run_id, _ = schedule(kfp.url, pipeline_id, version_id, job_name="hourly", service_account="sa")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client = kfp_sdk.Client(host=kfp.url)
    assert client.get_pipeline_id("energy-forecasting") == pipeline_id
    experiment = client.get_experiment(experiment_name="energy-forecasting")
    listed = client.list_recurring_runs(experiment_id=experiment.experiment_id)
    assert [r.recurring_run_id for r in listed.recurring_runs] == [run_id]
    run = listed.recurring_runs[0]
    assert run.max_concurrency == "1" and run.no_catchup is True and run.service_account == "sa"
    assert run.trigger.cron_schedule.cron == "0 0 * * * *"
    assert run.runtime_config.parameters["reference_time"] == SCHEDULE_TIME_PLACEHOLDER
    versions = client.list_pipeline_versions(pipeline_id)
    assert [v.pipeline_version_id for v in versions.pipeline_versions] == [version_id]
