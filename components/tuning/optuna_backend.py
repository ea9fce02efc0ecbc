"""Hyper-parameter search on one machine: an Optuna study over the one search space
(:class:`OptunaBackend`, the ``optuna`` backend of the ``tune`` stage).

TPE sampler (seeded), median pruning on per-origin backtest WAPE, a trial budget and a time budget,
a tqdm progress bar. The default config is enqueued as the first trial, so the result is never worse
than the default on the same snapshot.

The objective is the backtest WAPE of ``components.model.backtest.backtest_wape`` over the last
``origins`` daily origins. To prune, the origins are scored one at a time (oldest first): origin
``k`` is the last origin of the frame cut ``(origins - 1 - k) * horizon`` hours before its end, and
the running value reported to the pruner is the WAPE pooled over the origins scored so far
(per-origin WAPEs weighted by that origin's total actual consumption = WAPE of the pooled errors).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from components import schemas
from components.model.config import DEFAULT_CONFIG, SEARCH_SPACE
from components.tuning.backend import SearchResult, TuningError
from components.tuning.plan import SearchPlan, plan_search
from components.tuning.space import Space, is_inside, suggest

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from components.settings import TrainingSettings
    from components.storage import ObjectStore

log = logging.getLogger(__name__)

Objective = Callable[["pd.DataFrame", dict[str, Any], int, int], float]
"""``(frame, config, origins, seed) -> WAPE``, the signature of ``backtest_wape``."""


class OptunaSearchError(TuningError):
    """The study produced no usable trial; the message says why."""


@dataclass(frozen=True)
class OptunaResult:
    """Best config of a study (the base config with the best searched values) and its WAPE."""

    config: dict[str, Any]
    params: dict[str, Any]
    wape: float
    best_trial: int
    n_trials: int
    n_complete: int
    n_pruned: int
    elapsed_s: float
    history: list[dict[str, Any]] = field(default_factory=list)


def origin_frames(frame: pd.DataFrame, origins: int, horizon: int) -> Iterator[tuple[pd.DataFrame, float]]:
    """For each of the last ``origins`` daily origins (oldest first): the frame cut so that this
    origin is its last one, and the total actual consumption of that origin's forecast window."""
    if origins < 1:
        raise ValueError(f"origins must be >= 1, got {origins}")
    times = frame[schemas.DATETIME]
    end = times.max()
    import pandas as pd

    for k in range(origins):
        cut = end - pd.Timedelta(hours=(origins - 1 - k) * horizon)
        part = frame[times <= cut]
        window = part[part[schemas.DATETIME] > cut - pd.Timedelta(hours=horizon)]
        yield part, float(window[schemas.TARGET].abs().sum())


def _default_objective() -> Objective:
    from components.model.backtest import backtest_wape

    return lambda frame, config, origins, seed: backtest_wape(frame, config, origins=origins, seed=seed)


def run_optuna(
    frame: pd.DataFrame,
    space: Mapping[str, Mapping[str, Any]] | Space | None = None,
    base_config: Mapping[str, Any] | None = None,
    *,
    fixed: Mapping[str, Any] | None = None,
    **options: Any,
) -> OptunaResult:
    """Minimise backtest WAPE over ``space`` (default: ``SEARCH_SPACE``) on ``frame``, starting from
    ``base_config`` (default: ``DEFAULT_CONFIG``) with ``fixed`` pinned (see :func:`run_study`).

    ``fixed`` pins config values: names of the space are then not searched (e.g. fewer trees for
    a quick demo), other names must be keys of the base config (e.g. ``n_jobs``).
    """
    plan = plan_search(
        space if space is not None else SEARCH_SPACE,
        base_config if base_config is not None else DEFAULT_CONFIG,
        fixed,
        "fixed",
    )
    return run_study(frame, plan, **options)


def run_study(
    frame: pd.DataFrame,
    plan: SearchPlan,
    *,
    n_trials: int = 20,
    timeout_s: float | None = None,
    origins: int = 3,
    horizon: int = 24,
    seed: int = 0,
    n_startup_trials: int = 3,
    show_progress_bar: bool = True,
    objective: Objective | None = None,
    study_name: str = "energy-forecaster",
) -> OptunaResult:
    """Minimise backtest WAPE over ``plan.searched`` on ``frame``, each trial from ``plan.base``.

    Stops after ``n_trials`` trials or ``timeout_s`` seconds, whichever comes first.
    """
    import optuna

    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if timeout_s is not None and timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0 or None, got {timeout_s}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    searched = plan.require_search()
    score = objective or _default_objective()
    parts = list(origin_frames(frame, origins, horizon))
    if any(weight <= 0 for _, weight in parts):
        raise ValueError("an origin's forecast window has zero total consumption: WAPE is undefined")

    def evaluate(trial: optuna.Trial) -> float:
        config = plan.config(suggest(trial, searched))
        errors = weights = 0.0
        for step, (part, weight) in enumerate(parts):
            wape = float(score(part, config, 1, seed))
            errors += wape * weight
            weights += weight
            running = errors / weights
            trial.report(running, step)
            if trial.should_prune():
                log.info(
                    "trial %d pruned after origin %d/%d (running WAPE %.4f)",
                    trial.number,
                    step + 1,
                    len(parts),
                    running,
                )
                raise optuna.TrialPruned()
        return errors / weights

    study = optuna.create_study(
        study_name=study_name,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=0),
    )
    start_params = {name: plan.base[name] for name in searched if name in plan.base}
    if is_inside(start_params, searched):
        study.enqueue_trial(start_params)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        best = (
            study.best_value
            if any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
            else None
        )
        log.info(
            "trial %d %s value=%s best=%s params=%s",
            trial.number,
            trial.state.name.lower(),
            "-" if trial.value is None else f"{trial.value:.5f}",
            "-" if best is None else f"{best:.5f}",
            trial.params,
        )

    log.info(
        "optuna: %d trial(s) max, timeout %s, %d origin(s), searching %s (fixed %s)",
        n_trials,
        "none" if timeout_s is None else f"{timeout_s:g} s",
        len(parts),
        sorted(searched),
        plan.pinned or "nothing",
    )
    started = time.perf_counter()
    study.optimize(
        evaluate,
        n_trials=n_trials,
        timeout=timeout_s,
        show_progress_bar=show_progress_bar,
        callbacks=[report],
        gc_after_trial=False,
    )
    elapsed = time.perf_counter() - started
    states = [t.state for t in study.trials]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise OptunaSearchError(f"optuna study {study_name!r}: no trial completed in {len(states)} trial(s)")
    best = study.best_trial
    params = {name: best.params[name] for name in searched}
    result = OptunaResult(
        config=plan.config(params),
        params=params,
        wape=float(best.value),  # type: ignore[arg-type]
        best_trial=best.number,
        n_trials=len(states),
        n_complete=len(complete),
        n_pruned=sum(1 for s in states if s == optuna.trial.TrialState.PRUNED),
        elapsed_s=elapsed,
        history=[
            {"number": t.number, "state": t.state.name, "value": t.value, "params": dict(t.params)}
            for t in study.trials
        ],
    )
    log.info(
        "optuna: best trial %d of %d (%d pruned) WAPE %.5f in %.1f s: %s",
        result.best_trial,
        result.n_trials,
        result.n_pruned,
        result.wape,
        elapsed,
        params,
    )
    return result


class OptunaBackend:
    """The ``optuna`` backend: load the snapshot, run :func:`run_study` in this process."""

    def __init__(
        self, settings: TrainingSettings, store: ObjectStore, *, show_progress_bar: bool = True
    ) -> None:
        self.settings = settings
        self.store = store
        self.show_progress_bar = show_progress_bar

    def search(self, snapshot_run: str, plan: SearchPlan, n_trials: int) -> SearchResult:
        from components.feature_store import load_snapshot

        plan.require_search()
        frame, _manifest = load_snapshot(self.store, self.settings, run=snapshot_run)
        result = run_study(
            frame,
            plan,
            n_trials=n_trials,
            timeout_s=self.settings.tune_timeout_s,
            origins=self.settings.tune_origins,
            seed=self.settings.tune_seed,
            show_progress_bar=self.show_progress_bar,
        )
        return SearchResult(
            config=result.config,
            params=result.params,
            wape=result.wape,
            source=f"optuna:{snapshot_run}:{result.n_trials}-trials",
            summary={
                "backend": "optuna",
                "best_trial": result.best_trial,
                "n_trials": result.n_trials,
                "n_complete": result.n_complete,
                "n_pruned": result.n_pruned,
                "elapsed_s": round(result.elapsed_s, 3),
            },
        )
