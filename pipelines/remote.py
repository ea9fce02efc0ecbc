"""Upload the compiled pipeline to Kubeflow Pipelines and (un)schedule it as a recurring run.

Speaks the KFP v2beta1 REST API directly with ``requests`` (the same calls ``kfp.Client`` makes):

- every command first calls ``GET /apis/v2beta1/healthz`` (as ``kfp.Client(host=...)`` does), so an
  unreachable or wrong host fails fast with a clear message;
- ``upload``: a new pipeline, or a new version of the pipeline with the same display name;
- ``schedule``: finds or creates the experiment, creates the recurring run (six-field cron,
  ``max_concurrency=1``, ``no_catchup=True``, ``reference_time`` = KFP's scheduled-time placeholder,
  the Kubernetes service account), then deletes the previous recurring run of the same name —
  KFP cannot update a recurring run in place, so re-scheduling replaces it and says so;
- ``unschedule``: deletes the recurring run(s) of that name.

Errors (unreachable host, 4xx/5xx answers, bad arguments) are raised as ``RemoteError`` with a
one-line message; the CLI prints it without a stack trace.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger(__name__)

API = "/apis/v2beta1"
SCHEDULE_TIME_PLACEHOLDER = "{{$.pipeline_job_schedule_time_utc}}"
"""Resolved by KFP to the RFC 3339 scheduled time of each recurring-run execution."""
DEFAULT_PACKAGE = Path("build/pipeline.yaml")
DEFAULT_CRON = "0 0 * * * *"
DEFAULT_PIPELINE = "energy-forecasting"
DEFAULT_EXPERIMENT = "energy-forecasting"
DEFAULT_JOB = "energy-forecasting-hourly"
TOKEN_ENV = "EF_KFP_TOKEN"
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")


class RemoteError(RuntimeError):
    """Talking to Kubeflow Pipelines failed; the message says what, where and why."""


class KfpUnreachableError(RemoteError):
    """No answer from the host (connection refused, DNS, timeout, TLS)."""


class KfpApiError(RemoteError):
    """The API answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class KfpRest:
    """A minimal KFP v2beta1 REST client. Creating it checks ``/healthz``."""

    def __init__(self, host: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        host = host.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", host):
            raise RemoteError(f"--host must be an http(s) URL like http://localhost:8888, got {host!r}")
        self.host = host
        self.timeout_s = timeout_s
        self.session = requests.Session()
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        health = self.request("GET", "/healthz")
        log.debug("KFP at %s is healthy: %s", host, health)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        upload: bytes | None = None,
        filename: str = "pipeline.yaml",
    ) -> dict[str, Any]:
        url = f"{self.host}{API}{path}"
        files = {"uploadfile": (filename, upload, "application/x-yaml")} if upload is not None else None
        try:
            response = self.session.request(
                method, url, params=params, json=body, files=files, timeout=self.timeout_s
            )
        except requests.RequestException as err:
            raise KfpUnreachableError(
                f"cannot reach Kubeflow Pipelines at {self.host} ({method} {API}{path}): "
                f"{type(err).__name__}: {_first_line(err)}"
            ) from err
        if response.status_code >= 400:
            raise KfpApiError(
                f"Kubeflow Pipelines at {self.host} answered {response.status_code} "
                f"{response.reason} to {method} {API}{path}: {_error_message(response)}",
                response.status_code,
            )
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError as err:
            raise KfpApiError(
                f"Kubeflow Pipelines at {self.host} sent a non-JSON answer to {method} {API}{path}: "
                f"{response.text[:200]!r}",
                response.status_code,
            ) from err
        if not isinstance(data, dict):
            raise KfpApiError(
                f"unexpected answer to {method} {API}{path}: {data!r:.200}", response.status_code
            )
        return data

    # --- look-ups by display name -------------------------------------------------------------------
    def find(self, path: str, key: str, name: str, **params: Any) -> list[dict[str, Any]]:
        """Items of a list endpoint whose ``display_name`` equals ``name`` (server-side filter)."""
        query = {"filter": _name_filter(name), "page_size": 100, **params}
        data = self.request("GET", path, params=query)
        items = data.get(key) or data.get(_snake(key)) or []
        # the server filters already; check again so a server ignoring the filter can't mislead us
        return [item for item in items if item.get("display_name") == name]

    def pipeline_id(self, name: str) -> str | None:
        found = self.find("/pipelines", "pipelines", name)
        if len(found) > 1:
            raise RemoteError(f"{len(found)} pipelines are named {name!r} at {self.host}; expected one")
        return str(found[0]["pipeline_id"]) if found else None

    def versions(self, pipeline_id: str) -> list[dict[str, Any]]:
        """The pipeline's versions, newest first."""
        data = self.request(
            "GET",
            f"/pipelines/{pipeline_id}/versions",
            params={"sort_by": "created_at desc", "page_size": 100},
        )
        versions: list[dict[str, Any]] = data.get("pipeline_versions") or data.get("pipelineVersions") or []
        return versions


def _snake(camel: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)


def _name_filter(name: str) -> str:
    return json.dumps({"predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": name}]})


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or "(empty body)"
    if isinstance(body, dict):
        for key in ("message", "error_message", "error"):
            if body.get(key):
                return str(body[key])[:500]
    return json.dumps(body)[:300]


# --- upload ---------------------------------------------------------------------------------------------
def read_package(package_path: Path) -> tuple[bytes, dict[str, Any]]:
    """The compiled pipeline's bytes and parsed IR; a clear error if it is missing or not a KFP IR."""
    import yaml

    if not package_path.is_file():
        raise RemoteError(
            f"pipeline package {package_path} does not exist; run `python -m pipelines compile` first"
        )
    data = package_path.read_bytes()
    try:
        spec = yaml.safe_load(data)
    except yaml.YAMLError as err:
        raise RemoteError(f"pipeline package {package_path} is not valid YAML: {err}") from err
    if not isinstance(spec, dict) or "pipelineInfo" not in spec or "root" not in spec:
        raise RemoteError(f"{package_path} is not a compiled KFP v2 pipeline (no pipelineInfo/root)")
    return data, spec


def upload_pipeline(
    host: str,
    package_path: Path | str,
    name: str | None = None,
    description: str = "",
    *,
    token: str | None = None,
) -> tuple[str, str]:
    """Upload the package as a new pipeline, or as a new version of the pipeline named ``name``.

    ``name`` defaults to the package's ``pipelineInfo.name``. The version is named after the
    package version and the package's sha256, so uploading the same package twice reuses the stored
    version instead of failing. Returns ``(pipeline_id, version_id)``.
    """
    from components.version import __version__

    path = Path(package_path)
    data, spec = read_package(path)
    name = name or str(spec["pipelineInfo"].get("name") or "")
    if not name:
        raise RemoteError(f"{path} has no pipelineInfo.name; pass --name")
    description = description or str(spec["pipelineInfo"].get("description") or "")
    version_name = f"{name}-v{__version__}-{hashlib.sha256(data).hexdigest()[:12]}"
    client = KfpRest(host, token)

    pipeline_id = client.pipeline_id(name)
    if pipeline_id is None:
        created = client.request(
            "POST",
            "/pipelines/upload",
            params={"name": name, "display_name": name, "description": description},
            upload=data,
            filename=path.name,
        )
        pipeline_id = str(created["pipeline_id"])
        versions = client.versions(pipeline_id)
        if not versions:
            raise RemoteError(f"pipeline {name!r} ({pipeline_id}) was created without a version")
        version_id = str(versions[0]["pipeline_version_id"])
        log.info("uploaded new pipeline %r: pipeline %s, version %s", name, pipeline_id, version_id)
        return pipeline_id, version_id

    for version in client.versions(pipeline_id):
        if version.get("display_name") == version_name or version.get("name") == version_name:
            version_id = str(version["pipeline_version_id"])
            log.info(
                "pipeline %r already has this package as version %r (%s)", name, version_name, version_id
            )
            return pipeline_id, version_id
    created = client.request(
        "POST",
        "/pipelines/upload_version",
        params={
            "pipelineid": pipeline_id,
            "name": version_name,
            "display_name": version_name,
            "description": description,
        },
        upload=data,
        filename=path.name,
    )
    version_id = str(created["pipeline_version_id"])
    log.info("uploaded version %r of pipeline %r (%s): %s", version_name, name, pipeline_id, version_id)
    return pipeline_id, version_id


def resolve_pipeline(
    host: str, name: str, version_id: str | None = None, *, token: str | None = None
) -> tuple[str, str]:
    """``(pipeline_id, version_id)`` of the pipeline named ``name``: the given or the newest version."""
    client = KfpRest(host, token)
    pipeline_id = client.pipeline_id(name)
    if pipeline_id is None:
        raise RemoteError(
            f"no pipeline named {name!r} at {client.host}; run `python -m pipelines upload` first"
        )
    versions = client.versions(pipeline_id)
    if version_id is not None:
        if not any(str(v.get("pipeline_version_id")) == version_id for v in versions):
            raise RemoteError(f"pipeline {name!r} ({pipeline_id}) has no version {version_id!r}")
        return pipeline_id, version_id
    if not versions:
        raise RemoteError(f"pipeline {name!r} ({pipeline_id}) has no versions")
    return pipeline_id, str(versions[0]["pipeline_version_id"])


# --- schedule -------------------------------------------------------------------------------------------
def check_cron(cron: str) -> str:
    """A six-field cron expression (seconds first), as KFP's scheduler expects."""
    fields = cron.split()
    if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
        raise RemoteError(
            f"cron {cron!r} must have six fields, seconds first (KFP's format), e.g. '0 0 * * * *' "
            "for every hour on the hour"
        )
    return " ".join(fields)


def _check_params(params: Mapping[str, Any]) -> None:
    if "reference_time" in params:
        raise RemoteError(
            "reference_time is filled by KFP's scheduled-time placeholder in a recurring run; "
            "don't pass it as a parameter"
        )


def recurring_run_body(
    *,
    pipeline_id: str,
    version_id: str,
    experiment_id: str,
    job_name: str,
    cron: str,
    params: Mapping[str, Any],
    service_account: str,
    description: str = "",
) -> dict[str, Any]:
    """The ``POST /apis/v2beta1/recurringruns`` body (proto JSON names; int64 as a string)."""
    _check_params(params)
    body: dict[str, Any] = {
        "display_name": job_name,
        "description": description,
        "experiment_id": experiment_id,
        "pipeline_version_reference": {"pipeline_id": pipeline_id, "pipeline_version_id": version_id},
        "runtime_config": {"parameters": {**params, "reference_time": SCHEDULE_TIME_PLACEHOLDER}},
        "trigger": {"cron_schedule": {"cron": check_cron(cron)}},
        "max_concurrency": "1",
        "no_catchup": True,
        "mode": "ENABLE",
    }
    if service_account:
        body["service_account"] = service_account
    return body


def schedule(
    host: str,
    pipeline_id: str,
    version_id: str,
    cron: str = DEFAULT_CRON,
    experiment: str = DEFAULT_EXPERIMENT,
    job_name: str = DEFAULT_JOB,
    params: Mapping[str, Any] | None = None,
    service_account: str = "",
    *,
    token: str | None = None,
) -> tuple[str, str | None]:
    """Create the recurring run ``job_name`` and remove the one it replaces.

    Returns ``(recurring_run_id, replaced_id or None)``. The new run is created before the old one
    is deleted, so a failed creation leaves the previous schedule in place.
    """
    check_cron(cron)
    _check_params(params or {})
    if not job_name.strip():
        raise RemoteError("the recurring run needs a name (--job-name)")
    client = KfpRest(host, token)
    found = client.find("/experiments", "experiments", experiment)
    if found:
        experiment_id = str(found[0]["experiment_id"])
    else:
        created = client.request(
            "POST",
            "/experiments",
            body={
                "display_name": experiment,
                "description": "Recurring runs of the energy-forecasting pipeline.",
            },
        )
        experiment_id = str(created["experiment_id"])
        log.info("created experiment %r (%s)", experiment, experiment_id)
    previous = client.find("/recurringruns", "recurringRuns", job_name, experiment_id=experiment_id)
    body = recurring_run_body(
        pipeline_id=pipeline_id,
        version_id=version_id,
        experiment_id=experiment_id,
        job_name=job_name,
        cron=cron,
        params=params or {},
        service_account=service_account,
    )
    created = client.request("POST", "/recurringruns", body=body)
    run_id = str(created["recurring_run_id"])
    replaced: str | None = None
    for old in previous:
        old_id = str(old["recurring_run_id"])
        client.request("DELETE", f"/recurringruns/{old_id}")
        log.info("replaced recurring run %r: deleted %s (KFP cannot update one in place)", job_name, old_id)
        replaced = replaced or old_id
    return run_id, replaced


def unschedule(
    host: str, job_name: str = DEFAULT_JOB, experiment: str | None = None, *, token: str | None = None
) -> str | None:
    """Delete the recurring run(s) named ``job_name``; returns the (first) deleted id or None."""
    client = KfpRest(host, token)
    params: dict[str, Any] = {}
    if experiment:
        found = client.find("/experiments", "experiments", experiment)
        if not found:
            log.info("no experiment %r at %s: nothing to unschedule", experiment, client.host)
            return None
        params["experiment_id"] = str(found[0]["experiment_id"])
    runs = client.find("/recurringruns", "recurringRuns", job_name, **params)
    deleted: str | None = None
    for run in runs:
        run_id = str(run["recurring_run_id"])
        client.request("DELETE", f"/recurringruns/{run_id}")
        log.info("deleted recurring run %r (%s)", job_name, run_id)
        deleted = deleted or run_id
    return deleted


# --- CLI ------------------------------------------------------------------------------------------------
def parse_param(text: str) -> tuple[str, Any]:
    """``name=value``; the value is read as JSON when it parses (numbers, booleans), else a string."""
    name, sep, raw = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"--param expects name=value, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name, value


def _add_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=os.environ.get("KF_PIPELINES_ENDPOINT"),
        required=os.environ.get("KF_PIPELINES_ENDPOINT") is None,
        help="Kubeflow Pipelines API URL, e.g. http://localhost:8888 (default: $KF_PIPELINES_ENDPOINT); "
        f"a bearer token is taken from ${TOKEN_ENV} when set",
    )


def cmd_upload(args: argparse.Namespace) -> int:
    pipeline_id, version_id = upload_pipeline(args.host, args.package, args.name, args.description)
    print(f"pipeline {pipeline_id} version {version_id} uploaded from {args.package} to {args.host}")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from components.settings import Settings

    params = dict(args.param or [])
    service_account = (
        args.service_account if args.service_account is not None else Settings().k8s_service_account
    )
    if args.pipeline_id:
        if not args.version_id:
            raise RemoteError("--pipeline-id needs --version-id too")
        pipeline_id, version_id = args.pipeline_id, args.version_id
    else:
        name = args.name or DEFAULT_PIPELINE
        pipeline_id, version_id = resolve_pipeline(args.host, name, args.version_id)
    run_id, replaced = schedule(
        args.host,
        pipeline_id,
        version_id,
        cron=args.cron,
        experiment=args.experiment,
        job_name=args.job_name,
        params=params,
        service_account=service_account,
    )
    print(
        f"recurring run {args.job_name!r} = {run_id} (cron {args.cron!r}, pipeline {pipeline_id} "
        f"version {version_id}, service account {service_account or '(namespace default)'})"
    )
    if replaced:
        print(f"replaced the previous recurring run {replaced} (KFP cannot update a recurring run in place)")
    return 0


def cmd_unschedule(args: argparse.Namespace) -> int:
    deleted = unschedule(args.host, args.job_name, args.experiment)
    if deleted is None:
        print(f"no recurring run named {args.job_name!r}: nothing removed")
    else:
        print(f"removed recurring run {args.job_name!r} ({deleted})")
    return 0


def register_commands(subparsers: Any) -> None:
    """Add ``upload``, ``schedule`` and ``unschedule`` to ``python -m pipelines``."""
    upload = subparsers.add_parser(
        "upload",
        help="upload the compiled pipeline to Kubeflow Pipelines",
        description="Upload the compiled pipeline package: a new pipeline, or a new version of the "
        "pipeline with the same name when it exists (the same package twice is not duplicated).",
    )
    _add_host(upload)
    upload.add_argument(
        "--package", type=Path, default=DEFAULT_PACKAGE, help="compiled YAML (default: %(default)s)"
    )
    upload.add_argument(
        "--name", default=None, help="pipeline name (default: the package's pipelineInfo.name)"
    )
    upload.add_argument("--description", default="", help="pipeline description (default: the package's)")
    upload.set_defaults(func=cmd_upload)

    sched = subparsers.add_parser(
        "schedule",
        help="create (or replace) the hourly recurring run",
        description="Create the experiment if needed and a recurring run of the newest pipeline version "
        "with a six-field cron, max_concurrency=1, no_catchup=True and reference_time set to KFP's "
        "scheduled-time placeholder. A recurring run of the same name is replaced (KFP cannot update "
        "one in place) and the replaced id is reported.",
    )
    _add_host(sched)
    sched.add_argument(
        "--cron", default=DEFAULT_CRON, help="six fields, seconds first (default: %(default)r)"
    )
    sched.add_argument("--name", default=None, help=f"pipeline name (default: {DEFAULT_PIPELINE})")
    sched.add_argument(
        "--pipeline-id", default=None, help="use this pipeline id instead of looking up --name"
    )
    sched.add_argument("--version-id", default=None, help="pipeline version id (default: the newest)")
    sched.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="experiment (created if missing)")
    sched.add_argument("--job-name", default=DEFAULT_JOB, help="recurring run name (default: %(default)s)")
    sched.add_argument(
        "--service-account",
        default=None,
        help="Kubernetes service account of the runs (default: EF_K8S_SERVICE_ACCOUNT setting)",
    )
    sched.add_argument(
        "--param",
        action="append",
        type=parse_param,
        metavar="NAME=VALUE",
        help="pipeline parameter (repeatable), e.g. --param days_delay=0; reference_time is set by KFP",
    )
    sched.set_defaults(func=cmd_schedule)

    unsched = subparsers.add_parser(
        "unschedule",
        help="remove the recurring run",
        description="Delete the recurring run(s) with the given name.",
    )
    _add_host(unsched)
    unsched.add_argument("--job-name", default=DEFAULT_JOB, help="recurring run name (default: %(default)s)")
    unsched.add_argument("--experiment", default=None, help="only in this experiment")
    unsched.set_defaults(func=cmd_unschedule)
