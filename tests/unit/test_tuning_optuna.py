"""Optuna search on a short window of the real data, the Katib trial entry point as a subprocess,
and the ``tune`` component under ``kfp.local``."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from components import layout
from components.extract import extract_snapshot
from components.feature_store import write_snapshot
from components.model.config import DEFAULT_CONFIG, SEARCH_SPACE, validate_config
from components.settings import Settings
from components.storage import ObjectStore
from components.tuning.optuna_backend import OptunaSearchError, origin_frames, run_optuna
from components.tuning.plan import plan_search
from components.tuning.run import tune_snapshot
from components.tuning.space import SearchSpaceError, is_inside, parse_space
from components.validation import check_contract, enforce
from devtools.emulator import GcsEmulator
from tests import de35_schema as schemas

REPO = Path(__file__).resolve().parents[2]
DAYS = 10
FIXED: dict[str, Any] = {"n_estimators": 30, "n_jobs": 1}
"""Few trees (a pin may leave the space's range) and one thread (the machine is shared): short trials."""


@dataclass(frozen=True)
class Stored:
    """One validated short window of the real data, stored once per module as a feature snapshot."""

    bucket: str
    run: str
    frame: pd.DataFrame


@pytest.fixture(scope="module")
def stored(
    gcs_emulator: GcsEmulator, snapshot_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Stored:
    settings = Settings(bucket=f"test-tune-{uuid.uuid4().hex[:10]}", data_dir=tmp_path_factory.mktemp("tune"))
    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    extracted = extract_snapshot(snapshot_path, settings.spec, datetime.now(UTC), 0, DAYS)
    outcome = check_contract(extracted.frame, extracted.window, settings.spec)
    clean = enforce(outcome)
    written = write_snapshot(store, settings, clean, extracted.window, outcome.report, extracted.source)
    return Stored(settings.bucket, written.run_id, clean)


@pytest.fixture()
def frame(stored: Stored) -> pd.DataFrame:
    return stored.frame


@pytest.fixture()
def tune_settings(stored: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings (also as EF_* variables, for subprocesses) on the module's bucket, a fresh MLflow."""
    monkeypatch.setenv("EF_BUCKET", stored.bucket)
    monkeypatch.setenv("EF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EF_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("EF_TUNE_FIXED", json.dumps(FIXED))
    monkeypatch.setenv("EF_TUNE_ORIGINS", "1")
    return Settings()


def test_origin_frames_split_the_last_days() -> None:
    times = pd.date_range("2023-01-01", periods=96, freq="h", tz="UTC")
    frame = pd.DataFrame({schemas.DATETIME: times, schemas.TARGET: range(96)})
    parts = list(origin_frames(frame, origins=2, horizon=24))
    assert [len(part) for part, _ in parts] == [72, 96]
    assert [weight for _, weight in parts] == [float(sum(range(48, 72))), float(sum(range(72, 96)))]
    with pytest.raises(ValueError, match="origins"):
        list(origin_frames(frame, origins=0, horizon=24))


@pytest.mark.slow
def test_tiny_budget_returns_a_config_inside_the_space(frame: pd.DataFrame) -> None:
    from components.model.backtest import backtest_wape

    result = run_optuna(frame, n_trials=2, origins=2, seed=11, fixed=FIXED, show_progress_bar=True)

    searched = {name: spec for name, spec in parse_space(SEARCH_SPACE).items() if name not in FIXED}
    assert set(result.params) == set(searched)
    assert is_inside(result.params, searched)
    assert validate_config(result.config, check_ranges=False) == result.config
    assert result.config["n_estimators"] == 30 and result.config["n_jobs"] == 1
    assert result.config["quantiles"] == DEFAULT_CONFIG["quantiles"]
    assert result.n_trials == 2 and len(result.history) == 2
    # the default config is the first trial, so the result is never worse than the default
    first = result.history[0]
    assert first["params"] == {name: DEFAULT_CONFIG[name] for name in searched}
    finished = [t["value"] for t in result.history if t["state"] == "COMPLETE"]
    assert result.wape == min(finished)
    assert 0 < result.wape < 1 and math.isfinite(result.wape)
    # scoring origin by origin (for the pruner) gives the number of one 2-origin backtest
    assert result.wape == pytest.approx(backtest_wape(frame, result.config, origins=2, seed=11), rel=1e-9)


def test_pruning_and_budgets_with_a_toy_objective() -> None:
    """The study mechanics on a cheap known objective: per-origin WAPE = distance to an optimum."""
    times = pd.date_range("2023-01-01", periods=24 * 4, freq="h", tz="UTC")
    toy = pd.DataFrame({schemas.DATETIME: times, schemas.TARGET: 1.0})
    space = {"learning_rate": SEARCH_SPACE["learning_rate"], "num_leaves": SEARCH_SPACE["num_leaves"]}

    def objective(part: pd.DataFrame, config: dict[str, Any], origins: int, seed: int) -> float:
        return abs(math.log(config["learning_rate"] / 0.05)) + abs(math.log(config["num_leaves"] / 31))

    result = run_optuna(
        toy, space, n_trials=40, origins=3, seed=3, objective=objective, show_progress_bar=False
    )
    assert result.n_pruned > 0 and result.n_complete + result.n_pruned == 40
    assert result.wape < 0.6
    again = run_optuna(
        toy, space, n_trials=40, origins=3, seed=3, objective=objective, show_progress_bar=False
    )
    assert again.params == result.params  # seeded

    def slow(part: pd.DataFrame, config: dict[str, Any], origins: int, seed: int) -> float:
        time.sleep(0.05)
        return objective(part, config, origins, seed)

    timed = run_optuna(
        toy, space, n_trials=10_000, timeout_s=0.5, origins=1, objective=slow, show_progress_bar=False
    )
    assert 1 <= timed.n_trials < 10_000


def test_pinned_values_are_typed_and_may_leave_the_range() -> None:
    plan = plan_search(SEARCH_SPACE, DEFAULT_CONFIG, {"n_estimators": "30", "n_jobs": 1})
    assert plan.pinned == {"n_estimators": 30, "n_jobs": 1}
    assert set(plan.searched) == set(SEARCH_SPACE) - {"n_estimators"}
    assert plan.space == parse_space(SEARCH_SPACE)
    assert plan.base == {**DEFAULT_CONFIG, "n_estimators": 30, "n_jobs": 1}
    assert plan.config({"num_leaves": 63}) == {**plan.base, "num_leaves": 63}
    with pytest.raises(SearchSpaceError, match=r"EF_TUNE_FIXED: parameter 'level_window': 48 is not one of"):
        plan_search(SEARCH_SPACE, DEFAULT_CONFIG, {"level_window": 48})
    with pytest.raises(SearchSpaceError, match=r"'n_estimators': cannot read 'many' as int"):
        plan_search(SEARCH_SPACE, DEFAULT_CONFIG, {"n_estimators": "many"})
    with pytest.raises(SearchSpaceError, match=r"'n_estimators': -5 must be > 0"):
        plan_search(SEARCH_SPACE, DEFAULT_CONFIG, {"n_estimators": -5})
    with pytest.raises(SearchSpaceError, match=r"unknown parameter\(s\) \['trees'\]"):
        plan_search(SEARCH_SPACE, DEFAULT_CONFIG, {"trees": 3})
    everything = plan_search(
        SEARCH_SPACE, DEFAULT_CONFIG, {name: DEFAULT_CONFIG[name] for name in SEARCH_SPACE}
    )
    assert everything.searched == {}
    with pytest.raises(ValueError, match="nothing to search"):
        everything.require_search()


def test_invalid_requests_are_rejected(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="n_trials"):
        run_optuna(frame, n_trials=0)
    with pytest.raises(ValueError, match=r"fixed: unknown parameter\(s\) \['nope'\]"):
        run_optuna(frame, n_trials=1, fixed={"nope": 1})
    with pytest.raises(ValueError, match="nothing to search"):
        run_optuna(frame, {"n_estimators": SEARCH_SPACE["n_estimators"]}, n_trials=1, fixed=FIXED)

    def failing(part: pd.DataFrame, config: dict[str, Any], origins: int, seed: int) -> float:
        raise OptunaSearchError("boom")

    with pytest.raises(OptunaSearchError, match="boom"):
        run_optuna(frame, n_trials=1, objective=failing, show_progress_bar=False)


def test_trial_entry_point_prints_the_metric_line(stored: Stored, tune_settings: Settings) -> None:
    run = stored.run
    command = [sys.executable, "-m", "components.tuning.trial", "--snapshot-run", run, "--origins", "1"]
    command += ["--param", "num_leaves=31", "--param", "learning_rate=0.08", "--param", "level_window=24"]
    done = subprocess.run(
        command, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"wape=\d+\.\d+(e-?\d+)?", lines[0]), done.stdout
    assert 0 < float(lines[0].split("=", 1)[1]) < 1
    # exactly what Katib's default StdOut filter extracts
    katib_filter = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
    assert re.findall(katib_filter, done.stdout)[0][0] == "wape"

    bad = subprocess.run(
        [*command[:5], "--param", "num_leaves=100000"],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "num_leaves" in bad.stderr and "outside" in bad.stderr
    assert bad.stdout == ""
    helped = subprocess.run([*command[:3], "--help"], cwd=REPO, capture_output=True, text=True)
    assert helped.returncode == 0 and "--snapshot-run" in helped.stdout


def test_unknown_backend_is_a_clear_error(stored: Stored, tune_settings: Settings) -> None:
    store = ObjectStore.from_settings(tune_settings)
    with pytest.raises(ValueError, match=r"unknown tuning backend 'hyperopt': expected one of optuna, katib"):
        tune_snapshot(tune_settings, store, stored.run, "hyperopt", 2)


def test_tune_stage_with_optuna_backend_reports_the_study(stored: Stored, tune_settings: Settings) -> None:
    from components.model.registry import load_best_config

    store = ObjectStore.from_settings(tune_settings)
    outcome = tune_snapshot(tune_settings, store, stored.run, "optuna", 1, show_progress_bar=False)
    assert outcome.source == f"optuna:{stored.run}:1-trials"
    assert outcome.config == {**DEFAULT_CONFIG, **FIXED}  # the one trial is the enqueued default
    assert load_best_config(tune_settings) == outcome.config
    summary = outcome.summary
    assert summary["backend"] == "optuna" and summary["best_trial"] == 0
    assert (summary["n_trials"], summary["n_complete"], summary["n_pruned"]) == (1, 1, 0)
    json.dumps(summary)


def test_backends_are_picked_by_name_and_load_only_their_own_client() -> None:
    """The registry's factories import their backend: ``optuna`` never loads the Kubernetes or Katib
    clients, ``katib`` never loads Optuna (a fresh interpreter, so nothing is imported already)."""
    from components.tuning.run import BACKENDS

    assert list(BACKENDS) == ["optuna", "katib"]
    script = (
        "import sys\n"
        "from components.settings import Settings\n"
        "from components.tuning.backend import TuningBackend\n"
        "from components.tuning.run import make_backend\n"
        "backend = make_backend(sys.argv[1], Settings(), None)\n"
        "assert callable(backend.search), backend\n"
        "print(type(backend).__name__, *sorted(m for m in sys.argv[2:] if m in sys.modules))\n"
    )
    clients = ["kubernetes", "kubeflow_katib_api", "optuna"]
    answers = {
        name: subprocess.run(
            [sys.executable, "-c", script, name, *clients],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for name in BACKENDS
    }
    assert answers == {
        "optuna": ["OptunaBackend"],
        "katib": ["KatibBackend", "kubeflow_katib_api", "kubernetes"],
    }


@pytest.mark.slow
def test_tune_component_under_kfp_local(stored: Stored, tune_settings: Settings, tmp_path: Path) -> None:
    from kfp import local

    from components.model.registry import load_best_config
    from tests.kfp_steps import executor_output, tune_step

    run = stored.run
    root = tmp_path / "pipeline-root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    store = ObjectStore.from_settings(tune_settings)
    version = tune_settings.feature_group_version
    tune_step(
        uri=store.uri(layout.feature_snapshot(tune_settings.feature_group, version, run)),
        run=run,
        version=version,
    )
    outputs = executor_output(root, "tune")["parameters"]

    config = json.loads(outputs["config_json"])
    searched = {name: spec for name, spec in parse_space(SEARCH_SPACE).items() if name not in FIXED}
    assert is_inside(config, searched) and config["n_estimators"] == 30
    assert validate_config(config, check_ranges=False) == config
    assert 0 < outputs["wape"] < 1
    # stored in MLflow: a run without tuning trains from it
    assert load_best_config(tune_settings) == config
