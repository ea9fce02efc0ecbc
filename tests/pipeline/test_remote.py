"""upload / schedule / unschedule through kfp.Client against a local server speaking the KFP v2beta1
REST API (tests/fake_kfp.py): the requests kfp.Client really sends, tokens, namespaces, errors."""

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from devtools.emulator import free_port
from pipelines import cli
from pipelines.remote import (
    SCHEDULE_TIME_PLACEHOLDER,
    Kfp,
    KfpApiError,
    KfpUnreachableError,
    RemoteError,
    resolve_pipeline,
    schedule,
    unschedule,
    upload_pipeline,
)
from pipelines.remote_settings import KfpSettings
from tests.fake_kfp import API, FakeKfp

UPLOAD = f"{API}/pipelines/upload"
UPLOAD_VERSION = f"{API}/pipelines/upload_version"
EXPERIMENTS = f"{API}/experiments"
RECURRING = f"{API}/recurringruns"


def compile_package(path: Path, description: str) -> Path:
    """A real compiled KFP v2 pipeline package (the predict step wired into a pipeline)."""
    from kfp import compiler, dsl

    from components.steps.predict import predict

    @dsl.pipeline(name="energy-forecasting", description=description)
    def energy_forecasting(reference_time: str = "", feature_group_version: int = 1) -> None:
        snapshot = dsl.importer(
            artifact_uri="gs://bucket/features/snapshot.parquet",
            artifact_class=dsl.Dataset,
            metadata={"run_id": "20230110T0000Z", "feature_group_version": feature_group_version},
        )
        model = dsl.importer(artifact_uri="models:/energy-forecaster/1", artifact_class=dsl.Model)
        predict(snapshot=snapshot.output, model=model.output, scheduled_time=reference_time)

    compiler.Compiler().compile(energy_forecasting, package_path=str(path))
    return path


def name_filter(name: str) -> dict[str, object]:
    return {"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]}


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("packages")
    return (
        compile_package(folder / "pipeline.yaml", "first build"),
        compile_package(folder / "pipeline-2.yaml", "second build"),
    )


@pytest.fixture(autouse=True)
def _no_outside_kfp_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The machine's EF_KFP_* / KF_PIPELINES_* variables and kfp's context file stay out of the tests."""
    for name in list(os.environ):
        if name.startswith(("EF_KFP_", "KF_PIPELINES_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr("kfp.client.client.Client._LOCAL_KFP_CONTEXT", str(tmp_path / "kfp-context.json"))


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
        ("POST", UPLOAD),
        ("GET", f"{API}/pipelines/{pipeline_id}/versions"),
    ]
    lookup = kfp.calls("GET", f"{API}/pipelines")[0]
    assert json.loads(lookup.query["filter"]) == name_filter("energy-forecasting")
    upload = kfp.calls("POST", UPLOAD)[0]
    assert upload.query == {"name": "energy-forecasting", "description": "first build"}
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert upload.file == first.read_bytes()
    newest = kfp.calls("GET", f"{API}/pipelines/{pipeline_id}/versions")[0]
    assert newest.query["sort_by"] == "created_at desc" and newest.query["page_size"] == "1"
    assert version_id == kfp.state.versions[pipeline_id][0]["pipeline_version_id"]

    same_pipeline, new_version = upload_pipeline(kfp.url, second)
    assert same_pipeline == pipeline_id and new_version != version_id
    upload_version = kfp.calls("POST", UPLOAD_VERSION)[0]
    assert upload_version.query["pipelineid"] == pipeline_id
    assert upload_version.query["name"].startswith("energy-forecasting-v")
    assert upload_version.query["description"] == "second build"
    assert upload_version.file == second.read_bytes()
    assert len(kfp.state.pipelines) == 1 and len(kfp.state.versions[pipeline_id]) == 2

    # the same package again: the stored version is found by name and reused, nothing is uploaded
    again = upload_pipeline(kfp.url, second)
    assert again == (pipeline_id, new_version)
    version_lookup = kfp.calls("GET", f"{API}/pipelines/{pipeline_id}/versions")[-1]
    assert json.loads(version_lookup.query["filter"]) == name_filter(upload_version.query["name"])
    assert len(kfp.calls("POST", UPLOAD_VERSION)) == 1


def test_schedule_sends_the_exact_recurring_run_and_replaces_the_old_one(
    kfp: FakeKfp, packages: tuple[Path, Path], caplog: pytest.LogCaptureFixture
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
    created_experiment = kfp.calls("POST", EXPERIMENTS)[0].body
    assert created_experiment["display_name"] == "energy-forecasting"
    experiment_id = next(iter(kfp.state.experiments))
    body = kfp.calls("POST", RECURRING)[0].body
    assert body == {
        "display_name": "energy-forecasting-hourly",
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
        "max_concurrency": 1,
        "no_catchup": True,
        "mode": "ENABLE",
        "service_account": "energy-forecasting-pipelines",
    }
    assert SCHEDULE_TIME_PLACEHOLDER == "{{$.pipeline_job_schedule_time_utc}}"
    assert list(kfp.state.recurring_runs) == [run_id]

    # re-scheduling: the experiment is reused, a new run is created, the old one deleted and logged
    with caplog.at_level(logging.INFO, logger="pipelines.remote"):
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
    assert f"replaced recurring run 'energy-forecasting-hourly': deleted {run_id}" in caplog.text
    assert len(kfp.calls("POST", EXPERIMENTS)) == 1
    previous_lookup = kfp.calls("GET", RECURRING)[-1]
    assert previous_lookup.query["experiment_id"] == experiment_id
    assert json.loads(previous_lookup.query["filter"]) == name_filter("energy-forecasting-hourly")
    assert [r.path for r in kfp.calls("DELETE", f"{RECURRING}/{run_id}")] == [f"{RECURRING}/{run_id}"]
    assert list(kfp.state.recurring_runs) == [new_id]
    assert kfp.state.recurring_runs[new_id]["trigger"]["cron_schedule"]["cron"] == "0 30 * * * *"
    # the new run is created before the old one is deleted
    order = [(r.method, r.path) for r in kfp.requests]
    created_second = len(order) - 1 - order[::-1].index(("POST", RECURRING))
    assert created_second < order.index(("DELETE", f"{RECURRING}/{run_id}"))

    assert unschedule(kfp.url, "energy-forecasting-hourly") == new_id
    assert kfp.state.recurring_runs == {}
    assert unschedule(kfp.url, "energy-forecasting-hourly") is None
    assert unschedule(kfp.url, "energy-forecasting-hourly", experiment="no-such-experiment") is None


def test_resolve_pipeline_gives_the_newest_or_the_named_version(
    kfp: FakeKfp, packages: tuple[Path, Path]
) -> None:
    with pytest.raises(RemoteError, match=r"no pipeline named 'energy-forecasting'.*upload` first"):
        resolve_pipeline(kfp.url, "energy-forecasting")
    pipeline_id, first = upload_pipeline(kfp.url, packages[0])
    _, second = upload_pipeline(kfp.url, packages[1])
    assert resolve_pipeline(kfp.url, "energy-forecasting") == (pipeline_id, second)
    assert resolve_pipeline(kfp.url, "energy-forecasting", first) == (pipeline_id, first)
    with pytest.raises(KfpApiError, match=r"404.*version 'version-9999'") as caught:
        resolve_pipeline(kfp.url, "energy-forecasting", "version-9999")
    assert caught.value.status == 404


def test_a_failed_creation_keeps_the_previous_schedule(kfp: FakeKfp, packages: tuple[Path, Path]) -> None:
    pipeline_id, version_id = upload_pipeline(kfp.url, packages[0])
    old_id, _ = schedule(kfp.url, pipeline_id, version_id, job_name="hourly")
    kfp.fail_next(500, "POST", RECURRING, message="scheduler database is locked")

    with pytest.raises(KfpApiError, match="answered 500") as caught:
        schedule(kfp.url, pipeline_id, version_id, job_name="hourly")
    assert caught.value.status == 500
    assert "scheduler database is locked" in str(caught.value)
    assert "create recurring run 'hourly'" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert list(kfp.state.recurring_runs) == [old_id]
    assert kfp.calls("DELETE", f"{RECURRING}/{old_id}") == []


def test_client_errors_are_reported_at_once_with_the_server_message(
    kfp: FakeKfp, packages: tuple[Path, Path]
) -> None:
    with pytest.raises(KfpApiError, match="answered 404") as caught:
        schedule(kfp.url, "pipeline-9999", "version-9999", job_name="hourly")
    assert caught.value.status == 404 and "not found" in str(caught.value)

    # kfp.Client alone would ask /healthz five times, 5 s apart: ours asks once and reports
    kfp.fail_next(403, "GET", f"{API}/healthz", message="RBAC: access denied")
    before = len(kfp.calls("GET", f"{API}/healthz"))
    started = time.monotonic()
    with pytest.raises(KfpApiError, match=r"403.*RBAC: access denied"):
        upload_pipeline(kfp.url, packages[0])
    assert time.monotonic() - started < 3
    assert len(kfp.calls("GET", f"{API}/healthz")) == before + 1
    assert kfp.calls("POST", UPLOAD) == []


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
    with pytest.raises(RemoteError, match="no token file"):
        upload_pipeline(KfpSettings(host=kfp.url, sa_token_path=tmp_path / "nothing"), packages[0])
    assert kfp.requests == []


def test_a_token_is_required_when_configured_and_sent_on_every_request(packages: tuple[Path, Path]) -> None:
    with FakeKfp(token="s3cret") as kfp:
        with pytest.raises(KfpApiError, match="answered 401") as caught:
            upload_pipeline(kfp.url, packages[0])
        assert caught.value.status == 401 and "no valid bearer token" in str(caught.value)
        assert "EF_KFP_EXISTING_TOKEN" in str(caught.value)  # where a token is set
        assert [r.headers.get("authorization") for r in kfp.requests] == [None]

        settings = KfpSettings(host=kfp.url, existing_token="s3cret")
        pipeline_id, version_id = upload_pipeline(settings, packages[0])
        upload_pipeline(settings, packages[1])
        run_id, _ = schedule(settings, pipeline_id, version_id, job_name="hourly")
        assert unschedule(settings, "hourly") == run_id

        authorized = kfp.requests[1:]
        assert {(r.method, r.path) for r in authorized} >= {
            ("GET", f"{API}/healthz"),
            ("POST", UPLOAD),
            ("POST", UPLOAD_VERSION),
            ("POST", EXPERIMENTS),
            ("POST", RECURRING),
            ("DELETE", f"{RECURRING}/{run_id}"),
        }
        assert {r.headers.get("authorization") for r in authorized} == {"Bearer s3cret"}
        assert "s3cret" not in repr(settings)


def test_a_service_account_token_file_is_read_for_every_request(
    tmp_path: Path, packages: tuple[Path, Path]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    with FakeKfp(token="first-token") as kfp:
        connection = Kfp(KfpSettings(host=kfp.url, sa_token_path=token_file))
        pipeline_id, version_id = upload_pipeline(connection, packages[0])
        seen = len(kfp.requests)
        # the kubelet rotates the projected token: the same client sends the new one from now on
        token_file.write_text("second-token\n")
        kfp.token = "second-token"
        schedule(connection, pipeline_id, version_id, job_name="hourly")
    tokens = [r.headers.get("authorization") for r in kfp.requests]
    assert set(tokens[:seen]) == {"Bearer first-token"}
    assert set(tokens[seen:]) == {"Bearer second-token"}
    assert len(kfp.state.recurring_runs) == 1


# "kubeflow" too: kfp.Client takes namespace="kubeflow" for its default and drops it
@pytest.mark.parametrize("namespace", ["team-a", "kubeflow"])
def test_multi_user_needs_a_namespace_and_every_call_carries_it(
    namespace: str, packages: tuple[Path, Path]
) -> None:
    with FakeKfp(multi_user=True) as kfp:
        with pytest.raises(RemoteError, match="multi-user: set EF_KFP_NAMESPACE"):
            upload_pipeline(kfp.url, packages[0])
        assert [r.path for r in kfp.requests] == [f"{API}/healthz"]

        team = Kfp(KfpSettings(host=kfp.url, namespace=namespace))
        pipeline_id, version_id = upload_pipeline(team, packages[0])
        assert kfp.calls("GET", f"{API}/pipelines")[0].query["namespace"] == namespace
        assert kfp.calls("POST", UPLOAD)[0].query["namespace"] == namespace
        assert kfp.state.pipelines[pipeline_id]["namespace"] == namespace

        run_id, _ = schedule(team, pipeline_id, version_id, job_name="hourly")
        assert kfp.calls("POST", EXPERIMENTS)[0].body["namespace"] == namespace
        assert {r.query.get("namespace") for r in kfp.calls("GET", EXPERIMENTS)} == {namespace}
        (experiment,) = kfp.state.experiments.values()
        assert experiment["namespace"] == namespace
        assert kfp.state.recurring_runs[run_id]["namespace"] == namespace

        # another profile sees neither the pipeline nor the recurring run
        other = KfpSettings(host=kfp.url, namespace="team-b")
        with pytest.raises(RemoteError, match="no pipeline named"):
            resolve_pipeline(other, "energy-forecasting")
        assert unschedule(other, "hourly") is None
        assert list(kfp.state.recurring_runs) == [run_id]

        # without an experiment, unschedule lists the namespace's recurring runs
        assert unschedule(team, "hourly") == run_id
        assert kfp.calls("GET", RECURRING)[-1].query["namespace"] == namespace
        assert kfp.state.recurring_runs == {}


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KF_PIPELINES_ENDPOINT", "http://kfp.example:8888")
    monkeypatch.setenv("EF_KFP_TOKEN", "legacy-token")  # the name used before the settings class
    monkeypatch.setenv("EF_KFP_NAMESPACE", "team-a")
    settings = KfpSettings()
    assert (settings.host, settings.token, settings.namespace) == (
        "http://kfp.example:8888",
        "legacy-token",
        "team-a",
    )
    monkeypatch.setenv("EF_KFP_HOST", " http://kfp.internal:8888 ")
    monkeypatch.setenv("EF_KFP_EXISTING_TOKEN", "new-token")
    settings = KfpSettings()
    assert (settings.host, settings.token) == ("http://kfp.internal:8888", "new-token")
    assert KfpSettings(host="http://override:1").host == "http://override:1"

    monkeypatch.setenv("EF_KFP_SA_TOKEN_PATH", str(tmp_path / "token"))
    with pytest.raises(ValidationError, match="one way to authenticate"):
        KfpSettings()
    monkeypatch.setenv("EF_KFP_SA_TOKEN_PATH", "")  # empty = unset
    assert KfpSettings().sa_token_path is None
    with pytest.raises(ValidationError, match="namespace"):
        KfpSettings(namespace="Team_A")


def test_cli_commands(
    kfp: FakeKfp,
    packages: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EF_K8S_SERVICE_ACCOUNT", "forecast-sa")
    assert cli.main(["upload", "--host", kfp.url, "--package", str(packages[0])]) == 0
    (pipeline_id,) = kfp.state.pipelines
    version_id = kfp.state.versions[pipeline_id][0]["pipeline_version_id"]
    # only our line: the links kfp.Client prints go to the log
    assert capsys.readouterr().out.splitlines() == [
        f"pipeline {pipeline_id} version {version_id} uploaded from {packages[0]} to {kfp.url}"
    ]

    assert cli.main(["schedule", "--host", kfp.url, "--param", "days_export=14"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("recurring run 'energy-forecasting-hourly'") and "forecast-sa" in out
    assert len(out.splitlines()) == 1
    body = kfp.calls("POST", RECURRING)[0].body
    assert body["service_account"] == "forecast-sa"
    assert body["pipeline_version_reference"] == {
        "pipeline_id": pipeline_id,
        "pipeline_version_id": version_id,
    }
    assert body["runtime_config"]["parameters"] == {
        "days_export": 14,
        "reference_time": "{{$.pipeline_job_schedule_time_utc}}",
    }
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 * * * *"

    assert cli.main(["schedule", "--host", kfp.url, "--cron", "0 0 */2 * * *"]) == 0
    assert "replaced the previous recurring run" in capsys.readouterr().out

    # the host from EF_KFP_HOST; --host, when given, wins over it
    monkeypatch.setenv("EF_KFP_HOST", kfp.url)
    assert cli.main(["unschedule"]) == 0
    assert "removed recurring run" in capsys.readouterr().out
    monkeypatch.setenv("EF_KFP_HOST", f"http://127.0.0.1:{free_port()}")
    assert cli.main(["unschedule", "--host", kfp.url]) == 0
    assert "nothing removed" in capsys.readouterr().out

    # errors: one line on stderr, no stack trace, non-zero exit
    assert cli.main(["upload", "--package", str(packages[0])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach Kubeflow Pipelines") and "Traceback" not in err
    monkeypatch.delenv("EF_KFP_HOST")
    assert cli.main(["unschedule"]) == 1
    assert capsys.readouterr().err.startswith("error: no Kubeflow Pipelines host: pass --host")
    monkeypatch.setenv("EF_KFP_EXISTING_TOKEN", "a")
    monkeypatch.setenv("EF_KFP_CLIENT_ID", "b")
    with pytest.raises(SystemExit) as done:
        cli.main(["unschedule", "--host", kfp.url])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m pipelines: error: invalid setting EF_KFP_*: ") and err.count("\n") == 1
    assert "one way to authenticate" in err
    assert cli.main(["schedule", "--host", kfp.url, "--cron", "0 * * * *"]) == 1
    assert "six fields" in capsys.readouterr().err


def test_cli_token_and_namespace(
    packages: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EF_KFP_EXISTING_TOKEN", "s3cret")
    monkeypatch.setenv("EF_KFP_NAMESPACE", "team-b")
    with FakeKfp(token="s3cret", multi_user=True) as kfp:
        assert (
            cli.main(["upload", "--host", kfp.url, "--namespace", "team-a", "--package", str(packages[0])])
            == 0
        )
        assert cli.main(["schedule", "--host", kfp.url, "--namespace", "team-a"]) == 0
        assert cli.main(["unschedule", "--host", kfp.url]) == 0  # team-b's: nothing there
        out = capsys.readouterr().out
    assert "nothing removed" in out
    assert {r.headers.get("authorization") for r in kfp.requests} == {"Bearer s3cret"}
    assert [p["namespace"] for p in kfp.state.pipelines.values()] == ["team-a"]
    assert [r["namespace"] for r in kfp.state.recurring_runs.values()] == ["team-a"]
    assert kfp.calls("GET", RECURRING)[-1].query["namespace"] == "team-b"


@pytest.mark.parametrize("command", ["upload", "schedule", "unschedule"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--host" in out and "--namespace" in out


def test_what_we_create_reads_back_through_a_plain_kfp_client(
    kfp: FakeKfp, packages: tuple[Path, Path]
) -> None:
    """kfp's own client, as a user would make it, reads what our commands created."""
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
