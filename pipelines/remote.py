"""Upload the compiled pipeline to Kubeflow Pipelines and (un)schedule it as a recurring run.

Every call goes through ``kfp.Client`` (kfp 2.17), configured from the ``EF_KFP_*`` settings of
``pipelines/remote_settings.py``: a bearer token, a service-account token file or IAP credentials,
and the profile namespace of a multi-user Kubeflow.

- connecting asks ``GET /apis/v2beta1/healthz`` once (``kfp.Client`` alone would ask five times,
  5 s apart), so an unreachable or wrong host or a refused token fails fast with a clear message;
  a multi-user install without a namespace is refused before anything is created;
- ``upload``: a new pipeline, or a new version of the pipeline with the same display name;
- ``schedule``: finds or creates the experiment, creates the recurring run (six-field cron,
  ``max_concurrency=1``, ``no_catchup=True``, ``reference_time`` = KFP's scheduled-time placeholder,
  the Kubernetes service account), then deletes the previous recurring run of the same name —
  KFP cannot update a recurring run in place, so re-scheduling replaces it and says so;
- ``unschedule``: deletes the recurring run(s) of that name.

Errors (unreachable host, 4xx/5xx answers, bad arguments) are raised as ``RemoteError`` with a
one-line message; the CLI prints it without a stack trace. The links ``kfp.Client`` prints go to
the log, so the commands print only their own lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipelines.remote_settings import KfpSettings

log = logging.getLogger(__name__)

SCHEDULE_TIME_PLACEHOLDER = "{{$.pipeline_job_schedule_time_utc}}"
"""Resolved by KFP to the RFC 3339 scheduled time of each recurring-run execution."""
DEFAULT_CRON = "0 0 * * * *"
DEFAULT_PIPELINE = "energy-forecasting"
DEFAULT_EXPERIMENT = "energy-forecasting"
DEFAULT_JOB = "energy-forecasting-hourly"
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")
_CREDENTIALS_HINT = " (credentials: EF_KFP_EXISTING_TOKEN, EF_KFP_SA_TOKEN_PATH or EF_KFP_CLIENT_ID)"


class RemoteError(RuntimeError):
    """Talking to Kubeflow Pipelines failed; the message says what, where and why."""


class KfpUnreachableError(RemoteError):
    """No answer from the host (connection refused, DNS, timeout, TLS)."""


class KfpApiError(RemoteError):
    """The API answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Kfp:
    """A ``kfp.Client`` for one host and namespace; creating it asks ``/healthz`` once."""

    def __init__(self, settings: KfpSettings | str) -> None:
        if not isinstance(settings, KfpSettings):
            settings = KfpSettings(host=settings)
        self.host = settings.host.rstrip("/")
        if not re.match(r"^https?://[^/\s]+", self.host):
            raise RemoteError(f"--host must be an http(s) URL like http://localhost:8080, got {self.host!r}")
        if settings.sa_token_path is not None and not settings.sa_token_path.is_file():
            raise RemoteError(f"EF_KFP_SA_TOKEN_PATH: no token file at {settings.sa_token_path}")
        with self.calling("GET /healthz"):
            self.client = _new_client(self.host, settings)
            health = self.client.get_kfp_healthz()
        # kfp.Client ignores namespace="kubeflow" (its default), so every call is given it explicitly
        self.namespace: str | None = settings.namespace or self.client.get_user_namespace() or None
        if health.multi_user and not self.namespace:
            raise RemoteError(
                f"Kubeflow Pipelines at {self.host} is multi-user: set EF_KFP_NAMESPACE (or --namespace) "
                "to your profile's namespace"
            )
        log.debug("KFP at %s is healthy (namespace %s): %s", self.host, self.namespace, health)

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        """kfp's errors as one-line ``RemoteError``s naming ``what``; the links kfp prints, logged."""
        import kfp_server_api
        import urllib3

        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                yield
        except kfp_server_api.ApiException as err:
            if not err.status:  # kfp_server_api reports TLS failures with status 0
                raise KfpUnreachableError(
                    f"cannot reach Kubeflow Pipelines at {self.host} ({what}): {_first_line(err.reason)}"
                ) from err
            raise KfpApiError(
                f"Kubeflow Pipelines at {self.host} answered {err.status} {err.reason} to {what}: "
                f"{_error_message(err.body)}{_CREDENTIALS_HINT if err.status in (401, 403) else ''}",
                int(err.status),
            ) from err
        except urllib3.exceptions.HTTPError as err:
            raise KfpUnreachableError(
                f"cannot reach Kubeflow Pipelines at {self.host} ({what}): "
                f"{type(err).__name__}: {_first_line(err)}"
            ) from err
        except ValueError as err:  # kfp's own checks, e.g. two experiments of one name
            raise RemoteError(f"{what} at {self.host}: {err}") from err
        finally:
            for line in printed.getvalue().splitlines():
                log.info("%s", line)


def _new_client(host: str, settings: KfpSettings) -> Any:
    import kfp
    from kfp.client import ServiceAccountTokenVolumeCredentials

    class Client(kfp.Client):
        """``kfp.Client`` asking ``/healthz`` once and remembering the answer: kfp's own method
        retries five times, 5 s apart, which turns a refused token into a 25 s wait."""

        _healthz: Any = None

        def get_kfp_healthz(self, sleep_duration: int = 5) -> Any:
            if self._healthz is None:
                self._healthz = self.healthzs.healthz_service_get_healthz()
            return self._healthz

    options: dict[str, Any] = {
        "host": host,
        "existing_token": settings.token,
        "client_id": settings.client_id or None,
        "ssl_ca_cert": str(settings.ssl_ca_cert) if settings.ssl_ca_cert else None,
    }
    if settings.namespace:
        options["namespace"] = settings.namespace
    if settings.sa_token_path is not None:
        options["credentials"] = ServiceAccountTokenVolumeCredentials(str(settings.sa_token_path))
    with warnings.catch_warnings():  # "This client only works with Kubeflow Pipeline v2.0.0-beta.2 …"
        warnings.simplefilter("ignore", FutureWarning)
        return Client(**options)


def connect(target: Kfp | KfpSettings | str) -> Kfp:
    """``target`` itself when it is connected already, else a new connection to it."""
    return target if isinstance(target, Kfp) else Kfp(target)


def _name_filter(name: str) -> str:
    return json.dumps({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]})


def _named(items: list[Any] | None, name: str) -> list[Any]:
    # the server filters already; check again so a server ignoring the filter can't mislead us
    return [item for item in items or [] if item.display_name == name]


def _first_line(err: object) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


def _error_message(body: Any) -> str:
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300] or "(empty body)"
    if isinstance(data, dict):
        for key in ("message", "error_message", "error"):
            if data.get(key):
                return str(data[key])[:500]
    return json.dumps(data)[:300]


# --- look-ups by display name -------------------------------------------------------------------------
def pipeline_id(kfp: Kfp, name: str) -> str | None:
    # not kfp.Client.get_pipeline_id: it cannot look in a namespace
    with kfp.calling(f"look up pipeline {name!r}"):
        listed = kfp.client.list_pipelines(filter=_name_filter(name), page_size=100, namespace=kfp.namespace)
    found = _named(listed.pipelines, name)
    if len(found) > 1:
        raise RemoteError(f"{len(found)} pipelines are named {name!r} at {kfp.host}; expected one")
    return str(found[0].pipeline_id) if found else None


def newest_version(kfp: Kfp, pipeline_id: str) -> str | None:
    with kfp.calling(f"list the versions of pipeline {pipeline_id}"):
        listed = kfp.client.list_pipeline_versions(pipeline_id, page_size=1, sort_by="created_at desc")
    versions = listed.pipeline_versions or []
    return str(versions[0].pipeline_version_id) if versions else None


def experiment_id(kfp: Kfp, name: str, *, create: bool = False) -> str | None:
    """The id of the experiment ``name`` in the namespace (created when missing and ``create``)."""
    with kfp.calling(f"look up experiment {name!r}"):
        try:
            found = kfp.client.get_experiment(experiment_name=name, namespace=kfp.namespace)
        except ValueError as err:
            if not str(err).startswith("No experiment is found"):
                raise
            found = None
    if found is not None or not create:
        return None if found is None else str(found.experiment_id)
    with kfp.calling(f"create experiment {name!r}"):
        created = kfp.client.create_experiment(
            name, "Recurring runs of the energy-forecasting pipeline.", namespace=kfp.namespace
        )
    where = f" in namespace {kfp.namespace}" if kfp.namespace else ""
    log.info("created experiment %r (%s)%s", name, created.experiment_id, where)
    return str(created.experiment_id)


def recurring_runs(kfp: Kfp, job_name: str, experiment: str | None = None) -> list[str]:
    """Ids of the recurring runs named ``job_name`` (in that experiment id, else in the namespace)."""
    with kfp.calling(f"list the recurring runs named {job_name!r}"):
        listed = kfp.client.list_recurring_runs(
            page_size=100, experiment_id=experiment, namespace=kfp.namespace, filter=_name_filter(job_name)
        )
    return [str(run.recurring_run_id) for run in _named(listed.recurring_runs, job_name)]


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
    target: Kfp | KfpSettings | str, package_path: Path | str, name: str | None = None, description: str = ""
) -> tuple[str, str]:
    """Upload the package as a new pipeline, or as a new version of the pipeline named ``name``.

    ``name`` defaults to the package's ``pipelineInfo.name``. The version is named after the
    package version and the package's sha256, so uploading the same package twice reuses the stored
    version instead of failing. In a namespace, the pipeline is that profile's. Returns
    ``(pipeline_id, version_id)``.
    """
    from components.version import __version__

    path = Path(package_path)
    data, spec = read_package(path)
    name = name or str(spec["pipelineInfo"].get("name") or "")
    if not name:
        raise RemoteError(f"{path} has no pipelineInfo.name; pass --name")
    description = description or str(spec["pipelineInfo"].get("description") or "")
    version_name = f"{name}-v{__version__}-{hashlib.sha256(data).hexdigest()[:12]}"
    kfp = connect(target)

    found = pipeline_id(kfp, name)
    if found is None:
        with kfp.calling(f"upload pipeline {name!r}"):
            created = kfp.client.upload_pipeline(
                str(path), pipeline_name=name, description=description or None, namespace=kfp.namespace
            )
        new_id = str(created.pipeline_id)
        version_id = newest_version(kfp, new_id)
        if version_id is None:
            raise RemoteError(f"pipeline {name!r} ({new_id}) was created without a version")
        log.info("uploaded new pipeline %r: pipeline %s, version %s", name, new_id, version_id)
        return new_id, version_id

    with kfp.calling(f"look up version {version_name!r} of pipeline {name!r}"):
        listed = kfp.client.list_pipeline_versions(found, page_size=100, filter=_name_filter(version_name))
    for version in _named(listed.pipeline_versions, version_name):
        log.info("pipeline %r already has this package as version %r (%s)", name, version_name, version)
        return found, str(version.pipeline_version_id)
    with kfp.calling(f"upload version {version_name!r} of pipeline {name!r}"):
        uploaded = kfp.client.upload_pipeline_version(
            str(path), version_name, pipeline_id=found, description=description or None
        )
    version_id = str(uploaded.pipeline_version_id)
    log.info("uploaded version %r of pipeline %r (%s): %s", version_name, name, found, version_id)
    return found, version_id


def resolve_pipeline(
    target: Kfp | KfpSettings | str, name: str, version_id: str | None = None
) -> tuple[str, str]:
    """``(pipeline_id, version_id)`` of the pipeline named ``name``: the given or the newest version."""
    kfp = connect(target)
    found = pipeline_id(kfp, name)
    if found is None:
        raise RemoteError(f"no pipeline named {name!r} at {kfp.host}; run `python -m pipelines upload` first")
    if version_id is not None:
        with kfp.calling(f"get version {version_id!r} of pipeline {name!r}"):
            kfp.client.get_pipeline_version(found, version_id)
        return found, version_id
    newest = newest_version(kfp, found)
    if newest is None:
        raise RemoteError(f"pipeline {name!r} ({found}) has no versions")
    return found, newest


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


def check_params(params: Mapping[str, Any]) -> None:
    if "reference_time" in params:
        raise RemoteError(
            "reference_time is filled by KFP's scheduled-time placeholder in a recurring run; "
            "don't pass it as a parameter"
        )


def schedule(
    target: Kfp | KfpSettings | str,
    pipeline_id: str,
    version_id: str,
    cron: str = DEFAULT_CRON,
    experiment: str = DEFAULT_EXPERIMENT,
    job_name: str = DEFAULT_JOB,
    params: Mapping[str, Any] | None = None,
    service_account: str = "",
) -> tuple[str, str | None]:
    """Create the recurring run ``job_name`` and remove the one it replaces.

    Returns ``(recurring_run_id, replaced_id or None)``. The new run is created before the old one
    is deleted, so a failed creation leaves the previous schedule in place.
    """
    cron = check_cron(cron)
    check_params(params or {})
    if not job_name.strip():
        raise RemoteError("the recurring run needs a name (--job-name)")
    kfp = connect(target)
    experiment_key = experiment_id(kfp, experiment, create=True)
    previous = recurring_runs(kfp, job_name, experiment_key)
    with kfp.calling(f"create recurring run {job_name!r}"):
        created = kfp.client.create_recurring_run(
            experiment_id=experiment_key,
            job_name=job_name,
            cron_expression=cron,
            max_concurrency=1,
            no_catchup=True,
            params={**(params or {}), "reference_time": SCHEDULE_TIME_PLACEHOLDER},
            pipeline_id=pipeline_id,
            version_id=version_id,
            enabled=True,
            service_account=service_account or None,
        )
    replaced: str | None = None
    for old_id in previous:
        with kfp.calling(f"delete recurring run {old_id}"):
            kfp.client.delete_recurring_run(old_id)
        log.info("replaced recurring run %r: deleted %s (KFP cannot update one in place)", job_name, old_id)
        replaced = replaced or old_id
    return str(created.recurring_run_id), replaced


def unschedule(
    target: Kfp | KfpSettings | str, job_name: str = DEFAULT_JOB, experiment: str | None = None
) -> str | None:
    """Delete the recurring run(s) named ``job_name``; returns the (first) deleted id or None."""
    kfp = connect(target)
    experiment_key: str | None = None
    if experiment:
        experiment_key = experiment_id(kfp, experiment)
        if experiment_key is None:
            log.info("no experiment %r at %s: nothing to unschedule", experiment, kfp.host)
            return None
    deleted: str | None = None
    for run_id in recurring_runs(kfp, job_name, experiment_key):
        with kfp.calling(f"delete recurring run {run_id}"):
            kfp.client.delete_recurring_run(run_id)
        log.info("deleted recurring run %r (%s)", job_name, run_id)
        deleted = deleted or run_id
    return deleted
