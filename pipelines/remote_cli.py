"""``python -m pipelines upload|schedule|unschedule``: the command line of ``pipelines/remote.py``.

``--host`` and ``--namespace``, when given, take the place of ``EF_KFP_HOST`` and ``EF_KFP_NAMESPACE``
(``pipelines/remote_settings.py``). Credentials come from the ``EF_KFP_*`` settings only: on a
command line they would end up in the shell's history and the process list.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from pipelines.remote import (
    DEFAULT_CRON,
    DEFAULT_EXPERIMENT,
    DEFAULT_JOB,
    DEFAULT_PIPELINE,
    Kfp,
    RemoteError,
    check_cron,
    check_params,
    resolve_pipeline,
    schedule,
    unschedule,
    upload_pipeline,
)
from pipelines.remote_settings import KfpSettings

DEFAULT_PACKAGE = Path("build/pipeline.yaml")


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


def settings_from(args: argparse.Namespace) -> KfpSettings:
    """The ``EF_KFP_*`` settings with the command line's ``--host`` and ``--namespace`` over them."""
    from components.inputs import read_settings

    overrides = {key: getattr(args, key) for key in ("host", "namespace") if getattr(args, key) is not None}
    settings = read_settings(KfpSettings, {"host": "--host", "namespace": "--namespace"}, **overrides)
    if not settings.host:
        raise RemoteError(
            "no Kubeflow Pipelines host: pass --host or set EF_KFP_HOST (or KF_PIPELINES_ENDPOINT)"
        )
    return settings


def _add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=None,
        help="Kubeflow Pipelines API URL, e.g. http://localhost:8080 (default: $EF_KFP_HOST, else "
        "$KF_PIPELINES_ENDPOINT); credentials come from the EF_KFP_* settings (see README)",
    )
    parser.add_argument(
        "--namespace",
        default=None,
        help="profile namespace in a multi-user Kubeflow (default: $EF_KFP_NAMESPACE)",
    )


def cmd_upload(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    pipeline_id, version_id = upload_pipeline(settings, args.package, args.name, args.description)
    print(f"pipeline {pipeline_id} version {version_id} uploaded from {args.package} to {settings.host}")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from components.settings import Settings

    params = dict(args.param or [])
    check_cron(args.cron)
    check_params(params)
    if args.pipeline_id and not args.version_id:
        raise RemoteError("--pipeline-id needs --version-id too")
    service_account = (
        args.service_account if args.service_account is not None else Settings().k8s_service_account
    )
    kfp = Kfp(settings_from(args))
    if args.pipeline_id:
        pipeline_id, version_id = args.pipeline_id, args.version_id
    else:
        pipeline_id, version_id = resolve_pipeline(kfp, args.name or DEFAULT_PIPELINE, args.version_id)
    run_id, replaced = schedule(
        kfp,
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
    deleted = unschedule(settings_from(args), args.job_name, args.experiment)
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
    _add_connection(upload)
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
    _add_connection(sched)
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
    _add_connection(unsched)
    unsched.add_argument("--job-name", default=DEFAULT_JOB, help="recurring run name (default: %(default)s)")
    unsched.add_argument("--experiment", default=None, help="only in this experiment")
    unsched.set_defaults(func=cmd_unschedule)
