"""The ``tune`` stage: search the best config on a feature snapshot and store it in MLflow.

Backend ``optuna`` runs the study in this process; backend ``katib`` creates a Katib Experiment in
the cluster (in-cluster service account, else the local kubeconfig) and waits for it. Both store the
best config with ``components.model.registry.save_best_config`` so that a run without tuning trains
from it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from components.layout import check_run_id
from components.settings import Settings
from components.tuning.space import parse_space, pin

if TYPE_CHECKING:
    from kubernetes import client as k8s

    from components.storage import ObjectStore

log = logging.getLogger(__name__)

BACKENDS = ("optuna", "katib")
Backend = Literal["optuna", "katib"]


@dataclass(frozen=True)
class TuneOutcome:
    config: dict[str, Any]
    wape: float
    source: str


def check_backend(backend: str) -> Backend:
    if backend not in BACKENDS:
        raise ValueError(f"unknown tuning backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    return backend  # type: ignore[return-value]


def kube_api_client() -> k8s.ApiClient:
    """An API client from the in-cluster service account, else from the local kubeconfig."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
        log.info("kubernetes: in-cluster configuration")
    except config.ConfigException:
        config.load_kube_config()
        log.info("kubernetes: kubeconfig configuration")
    return client.ApiClient()


def trial_env(settings: Settings) -> dict[str, str]:
    """The ``EF_*`` values a trial needs to find and score the snapshot (beside the settings ConfigMap)."""
    return {
        "EF_BUCKET": settings.bucket,
        "EF_PREFIX": settings.prefix,
        "EF_GCP_PROJECT": settings.gcp_project,
        "EF_FEATURE_GROUP": settings.feature_group,
        "EF_HORIZON": str(settings.horizon),
        "EF_TUNE_FIXED": json.dumps(settings.tune_fixed, sort_keys=True),
    }


def tune_snapshot(
    settings: Settings,
    store: ObjectStore,
    snapshot_run: str,
    backend: str,
    n_trials: int,
    *,
    api_client: k8s.ApiClient | None = None,
    show_progress_bar: bool = True,
) -> TuneOutcome:
    """Search, then ``save_best_config``; return the full validated config and its backtest WAPE."""
    chosen = check_backend(backend)
    check_run_id(snapshot_run)
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")

    from components.model.config import DEFAULT_CONFIG, SEARCH_SPACE, validate_config
    from components.model.registry import save_best_config

    space = parse_space(SEARCH_SPACE)
    fixed = pin(settings.tune_fixed, space, DEFAULT_CONFIG, "EF_TUNE_FIXED")
    searched = {name: spec for name, spec in space.items() if name not in fixed}

    if chosen == "optuna":
        from components.features import load_snapshot
        from components.tuning.optuna_search import run_optuna

        frame, _manifest = load_snapshot(store, settings, run=snapshot_run)
        result = run_optuna(
            frame,
            space,
            DEFAULT_CONFIG,
            n_trials=n_trials,
            timeout_s=settings.tune_timeout_s,
            origins=settings.tune_origins,
            seed=settings.tune_seed,
            fixed=fixed,
            show_progress_bar=show_progress_bar,
        )
        config, wape = result.config, result.wape
        source = f"optuna:{snapshot_run}:{result.n_trials}-trials"
    else:
        from components.tuning.katib import KatibRunner, experiment_from_settings

        experiment = experiment_from_settings(settings, snapshot_run, n_trials, fixed)
        runner = KatibRunner(api_client or kube_api_client(), poll_s=settings.katib_poll_s)
        found = runner.run(experiment, searched, settings.katib_timeout_s)
        config = {**DEFAULT_CONFIG, **fixed, **found.params}
        wape = found.wape
        source = f"katib:{found.namespace}/{found.experiment}"

    # searched values are inside the space by construction; pinned ones may lie outside it
    config = validate_config(config, where=f"best config from {chosen}", check_ranges=False)
    save_best_config(settings, config, wape, source)
    log.info("tune[%s] on %s: WAPE %.5f, best config stored (%s)", chosen, snapshot_run, wape, source)
    return TuneOutcome(config=config, wape=float(wape), source=source)
