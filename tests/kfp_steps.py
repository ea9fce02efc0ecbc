"""Helpers for running one step under ``kfp.local`` the way the pipeline wires it: the snapshot
``Dataset`` is imported (``dsl.importer``) with the metadata the features step gives it, and what the
step wrote is read back from its ``executor_output.json``.

No ``from __future__ import annotations`` here: KFP reads the pipelines' annotations as types."""

import json
from pathlib import Path
from typing import Any

from kfp import dsl

from components.steps.artifacts import SNAPSHOT_RUN, SNAPSHOT_VERSION


def imported_snapshot(uri: str, run: str, version: int) -> dsl.PipelineTask:
    """Inside a ``@dsl.pipeline``: the snapshot ``Dataset`` at ``uri`` as the features step outputs it."""
    return dsl.importer(
        artifact_uri=uri,
        artifact_class=dsl.Dataset,
        metadata={SNAPSHOT_RUN: run, SNAPSHOT_VERSION: version},
    )


def executor_output(root: Path, task: str) -> dict[str, Any]:
    """What task ``task`` of the one local run under ``root`` reported: parameters, and each output
    artifact (its uri and metadata) by name."""
    (path,) = root.glob(f"*/{task}/executor_output.json")
    written = json.loads(path.read_text())
    artifacts = {name: value["artifacts"][0] for name, value in written.get("artifacts", {}).items()}
    return {"parameters": written.get("parameterValues", {}), "artifacts": artifacts}


@dsl.pipeline(name="tune-step")
def tune_step(uri: str, run: str, version: int) -> None:
    from components.steps.tune import tune

    tune(snapshot=imported_snapshot(uri, run, version).output, backend="optuna", n_trials=2)


@dsl.pipeline(name="predict-step")
def predict_step(uri: str, run: str, version: int, scheduled_time: str, trained_version: str) -> None:
    """The champion resolved as in the pipeline, then predict with it."""
    from components.steps.predict import predict
    from components.steps.train import resolve_model

    champion = resolve_model(trained_version=trained_version)
    predict(
        snapshot=imported_snapshot(uri, run, version).output,
        model=champion.outputs["model"],
        scheduled_time=scheduled_time,
    )


@dsl.pipeline(name="monitor-step")
def monitor_step(uri: str, run: str, version: int, scheduled_time: str) -> None:
    from components.steps.monitor import monitor

    monitor(snapshot=imported_snapshot(uri, run, version).output, scheduled_time=scheduled_time)
