"""Run the pipeline under KFP's own local runner against the local GCS emulator and MLflow.

This process's environment is left alone: the emulator's URL and the MLflow URI reach the steps as
environment variables of the tasks (:func:`task_env`, ``build_pipeline(settings, env=...)``), which
kfp.local's subprocess runner adds to the environment of each step's process.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from components.settings import Settings
from components.storage import ObjectStore
from devtools.emulator import GcsEmulator

log = logging.getLogger(__name__)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_START = re.compile(r"^Executing task '([^']+)'")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_END = re.compile(r"^Task '([^']+)' finished with status (\w+)")


@dataclass
class StepTimes:
    """Wall time of each task, read off kfp.local's own log records."""

    on_step: Callable[[int, str, str, float], None] | None = None
    started: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def filter(self, record: logging.LogRecord) -> bool:
        message = _ANSI.sub("", record.getMessage())
        if match := _START.match(message):
            self.started[match[1]] = record.created
        elif (match := _END.match(message)) and match[1] in self.started:
            name = match[1]
            self.seconds[name] = record.created - self.started[name]
            self.status[name] = match[2]
            self.order.append(name)
            if self.on_step:
                self.on_step(len(self.order), name, match[2], self.seconds[name])
        return True


@contextmanager
def step_timer(on_step: Callable[[int, str, str, float], None] | None = None) -> Iterator[StepTimes]:
    times = StepTimes(on_step=on_step)
    root = logging.getLogger()
    root.addFilter(times.filter)
    try:
        yield times
    finally:
        root.removeFilter(times.filter)


@contextmanager
def local_storage(settings: Settings) -> Iterator[Settings]:
    """``settings`` with a GCS emulator: the one its ``emulator_host`` names (``STORAGE_EMULATOR_HOST``),
    or one started for the block with its files under ``data_dir/gcs`` (the same place ``make demo``
    keeps them), in a copy of ``settings`` whose ``emulator_host`` is its URL."""
    if settings.emulator_host:
        yield settings
        return
    with GcsEmulator(settings.data_dir / "gcs") as emulator:
        log.info("started a GCS emulator for this run at %s (files in %s)", emulator.url, emulator.root)
        yield settings.model_copy(update={"emulator_host": emulator.url})


def task_env(settings: Settings) -> dict[str, str]:
    """What every step of a local run gets on top of this process's environment: the emulator of
    ``settings`` and its MLflow URI (the default SQLite file made absolute, as the steps run
    elsewhere)."""
    env = {"EF_MLFLOW_TRACKING_URI": settings.tracking_uri}
    if settings.emulator_host:
        env["STORAGE_EMULATOR_HOST"] = settings.emulator_host
    return env


REPORT_TYPES = {"system.HTML": ".html", "system.Markdown": ".md"}


@dataclass(frozen=True)
class LocalArtifact:
    """One output artifact of a task as kfp.local wrote it (``executor_output.json``)."""

    task: str
    name: str
    type: str
    """The KFP schema title, e.g. ``system.HTML``."""
    uri: str
    metadata: dict[str, Any]
    view: Path | None = None
    """For a report: a copy named ``.html``/``.md`` that a browser or editor opens as what it is
    (the artifact file itself has no extension; the KFP UI knows its type, a browser does not)."""

    @property
    def path(self) -> Path | None:
        """The local file of an artifact kept under the pipeline root (None for ``gs://``, ``models:/``)."""
        return None if _SCHEME.match(self.uri) else Path(self.uri)


@dataclass
class RunResult:
    parameters: dict[str, Any]
    seconds: float
    steps: StepTimes
    summary: dict[str, Any]
    run_dir: Path | None = None
    """kfp.local's folder of this run (``<pipeline root>/<pipeline>-<timestamp>``)."""
    artifacts: list[LocalArtifact] = field(default_factory=list)

    def artifact(self, task: str, name: str) -> LocalArtifact:
        for found in self.artifacts:
            if found.task == task and found.name == name:
                return found
        raise KeyError(f"no output artifact {name!r} of task {task!r} in {self.run_dir}")

    @property
    def reports(self) -> list[LocalArtifact]:
        """The HTML and Markdown reports of the run, in the order their tasks finished."""
        return [a for a in self.artifacts if a.type in REPORT_TYPES]


def output_types(pipeline: Any) -> dict[str, dict[str, str]]:
    """``task name -> output artifact name -> schema title`` of every task of a compiled pipeline,
    the tasks of nested condition DAGs included."""
    spec = pipeline.pipeline_spec
    found: dict[str, dict[str, str]] = {}

    def walk(tasks: Any) -> None:
        for name, task in tasks.items():
            component = spec.components[task.component_ref.name]
            if component.dag.tasks:
                walk(component.dag.tasks)
                continue
            outputs = component.output_definitions.artifacts
            found[name] = {key: value.artifact_type.schema_title for key, value in outputs.items()}

    walk(spec.root.dag.tasks)
    return found


def collect_artifacts(pipeline: Any, run_dir: Path) -> list[LocalArtifact]:
    """Every output artifact the run's tasks wrote, with its type from the pipeline spec."""
    import json

    types = output_types(pipeline)
    out = []
    for task_dir in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        output_file = task_dir / "executor_output.json"
        if task_dir.name not in types or not output_file.exists():
            continue
        written = json.loads(output_file.read_text(encoding="utf-8")).get("artifacts", {})
        for name, schema_title in types[task_dir.name].items():
            for artifact in written.get(name, {}).get("artifacts", []):
                out.append(
                    LocalArtifact(
                        task_dir.name,
                        name,
                        schema_title,
                        artifact.get("uri", ""),
                        artifact.get("metadata", {}),
                    )
                )
    return out


def with_views(artifacts: list[LocalArtifact], run_dir: Path) -> list[LocalArtifact]:
    """The artifacts, each report with a copy under ``<run_dir>/reports/<task>-<name>.html|.md``."""
    import shutil
    from dataclasses import replace

    out = []
    for artifact in artifacts:
        suffix = REPORT_TYPES.get(artifact.type)
        if suffix and artifact.path is not None and artifact.path.is_file():
            view = run_dir / "reports" / f"{artifact.task}-{artifact.name}{suffix}"
            view.parent.mkdir(exist_ok=True)
            shutil.copyfile(artifact.path, view)
            artifact = replace(artifact, view=view)
        out.append(artifact)
    return out


def _run_dirs(root: Path) -> set[Path]:
    return {p for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()


def run_pipeline_locally(
    parameters: dict[str, Any],
    settings: Settings,
    pipeline_root: Path,
    on_step: Callable[[int, str, str, float], None] | None = None,
    warm: bool | Path = True,
    env: Mapping[str, str] | None = None,
    verbose: bool = False,
    runner: Any = None,
) -> RunResult:
    """Run the whole DAG once with ``kfp.local.SubprocessRunner(use_venv=False)``, or ``runner``
    (e.g. a ``kfp.local.DockerRunner``: every step in the image, see :mod:`devtools.containers`).

    ``warm``: True starts a warm-interpreter server for this run (see :mod:`devtools.warm`), a
    path uses the launcher of one that is already running (a backfill shares one), False starts
    every task in a fresh interpreter. Every step gets :func:`task_env` and ``env`` (more settings
    for the steps, e.g. ``EF_BUCKET``) on top of this process's environment. A step's traceback is
    held back unless ``verbose`` (see :mod:`devtools.task_output`); a failed step raises
    :class:`devtools.task_output.StepFailed`, naming the step and the exception it ended with.
    """
    if warm is True and runner is None:
        from devtools.warm import warm_interpreter

        with warm_interpreter() as launcher:
            return run_pipeline_locally(parameters, settings, pipeline_root, on_step, launcher, env, verbose)

    from kfp import local

    from devtools.task_output import StepFailed, task_output
    from devtools.warm import python_executable
    from pipelines.pipeline import build_pipeline

    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    before = pointer_generations(store, settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    local.init(
        runner=runner or local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=True,
    )
    pipeline = build_pipeline(settings, env={**task_env(settings), **(env or {})})
    known = _run_dirs(pipeline_root)
    started = time.perf_counter()
    executable = warm if isinstance(warm, Path) and runner is None else None
    with (
        task_output(verbose) as output,
        step_timer(on_step) as steps,
        warnings.catch_warnings(),
        python_executable(executable),
    ):
        # Expected locally: cluster-only settings (resources, display names) and the project image
        # that the subprocess runner replaces with this very environment.
        warnings.filterwarnings(
            "ignore", message=r"Task '.*': settings .* have no effect", category=UserWarning
        )
        warnings.filterwarnings(
            "ignore", message=r"You may be attemping to run a task", category=RuntimeWarning
        )
        try:
            pipeline(**parameters)
        except RuntimeError as err:
            output.close_traceback()
            raise StepFailed.from_kfp(err, output.error) from None
    elapsed = time.perf_counter() - started
    after = pointer_generations(store, settings)
    changes = {
        name: ("moved" if after[name] != before[name] else "unchanged (nothing new written)")
        for name in after
    }
    new = sorted(_run_dirs(pipeline_root) - known)
    run_dir = new[-1] if new else None
    artifacts = with_views(collect_artifacts(pipeline, run_dir), run_dir) if run_dir else []
    finished = {name: index for index, name in enumerate(steps.order)}
    artifacts.sort(key=lambda a: finished.get(a.task, len(finished)))
    return RunResult(
        parameters,
        elapsed,
        steps,
        {**summarize(settings, artifacts), "pointers": changes},
        run_dir,
        artifacts,
    )


def pointer_generations(store: ObjectStore, settings: Settings) -> dict[str, int | None]:
    """Generation of each ``latest.json`` pointer: how a run shows whether it wrote anything new."""
    from components import layout

    names = {
        "features": layout.feature_latest(settings.feature_group, settings.feature_group_version),
        "forecast": layout.FORECAST_LATEST,
        "monitoring": layout.MONITORING_LATEST,
    }
    return {key: store.generation(name) for key, name in names.items()}


def summarize(settings: Settings, artifacts: list[LocalArtifact]) -> dict[str, Any]:
    """What this run wrote or kept, read from its own output artifacts: its feature snapshot, the
    forecast of its reference hour and the model version that forecast was made with (written now,
    or kept as published before), its monitoring summary; and the champion model as it is now.

    Not the newest ``latest.json`` pointers: a backfill of an earlier hour over a bucket that has
    later runs leaves them alone, and the summary of that hour must not name the later runs' objects.
    """
    store = ObjectStore.from_settings(settings)
    own = {(artifact.task, artifact.name): artifact for artifact in artifacts}
    summary: dict[str, Any] = {"bucket": f"gs://{settings.bucket}/{settings.prefix}".rstrip("/")}
    if snapshot := own.get(("features", "snapshot")):
        summary["feature_snapshot"] = snapshot.uri
    if forecast := own.get(("predict", "forecast")):
        summary["forecast"] = forecast.uri
        summary["forecast_kept"] = not forecast.metadata.get("created", True)
        summary["model_version"] = forecast.metadata.get("model_version")
    monitoring = own.get(("monitor", "summary"))
    if monitoring and monitoring.metadata.get("summary"):
        uri = str(monitoring.metadata["summary"])
        folder = f"{store.prefix}/" if store.prefix else ""
        body = store.read_json(uri.removeprefix(f"gs://{store.bucket_name}/{folder}"))
        summary["monitoring"] = uri
        for key in ("overall_wape", "overall_mape", "rolling_wape", "needs_attention", "reason"):
            summary[f"monitoring_{key}"] = body.get(key)
    summary.update(_champion_metrics(settings))
    return summary


def _champion_metrics(settings: Settings) -> dict[str, Any]:
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    try:
        version = client.get_model_version_by_alias(settings.model_name, "champion")
    except MlflowException:
        return {}
    metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
    wanted = {k: round(v, 4) for k, v in metrics.items() if k in ("wape", "mape", "rmse", "baseline_wape")}
    return {"champion_version": version.version, **{f"champion_{k}": v for k, v in wanted.items()}}


def iso_hours(start: datetime, end: datetime, every_hours: int) -> list[datetime]:
    """Reference times ``start, start+every, …`` up to and including ``end``."""
    from datetime import timedelta

    if every_hours < 1:
        raise ValueError("--every must be at least 1h")
    if end < start:
        raise ValueError(f"--end {end.isoformat()} is before --start {start.isoformat()}")
    out, current = [], start
    while current <= end:
        out.append(current)
        current += timedelta(hours=every_hours)
    return out
