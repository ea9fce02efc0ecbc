"""The ``tune`` stage: search the best config on a feature snapshot and store it in MLflow.

The backend is picked by name from :data:`BACKENDS`: ``optuna`` runs the study in this process,
``katib`` creates a Katib Experiment in the cluster (in-cluster service account, else the local
kubeconfig) and waits for it. Both search the same :class:`~components.tuning.plan.SearchPlan`
(``SEARCH_SPACE`` with ``EF_TUNE_FIXED`` pinned), and the best config is stored with
``components.model.registry.save_best_config`` so that a run without tuning trains from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from components.layout import check_run_id
from components.settings import Settings
from components.tuning.backend import TuningBackend
from components.tuning.plan import plan_from_settings

if TYPE_CHECKING:
    from kubernetes import client as k8s

    from components.storage import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendOptions:
    """What a caller may pass to the backend it picks; each backend takes the options it knows."""

    api_client: k8s.ApiClient | None = None
    """Kubernetes API client for ``katib`` (default: in-cluster, else the local kubeconfig)."""
    show_progress_bar: bool = True
    """tqdm progress bar of the ``optuna`` study."""


BackendFactory = Callable[[Settings, "ObjectStore", BackendOptions], TuningBackend]


def _optuna(settings: Settings, store: ObjectStore, options: BackendOptions) -> TuningBackend:
    from components.tuning.optuna_backend import OptunaBackend

    return OptunaBackend(settings, store, show_progress_bar=options.show_progress_bar)


def _katib(settings: Settings, store: ObjectStore, options: BackendOptions) -> TuningBackend:
    from components.tuning.katib.backend import KatibBackend

    return KatibBackend(settings, api_client=options.api_client)


BACKENDS: Mapping[str, BackendFactory] = MappingProxyType({"optuna": _optuna, "katib": _katib})
"""Backend name -> factory. The factories import their backend, so ``optuna`` never loads the
Kubernetes client and ``katib`` never loads Optuna."""


@dataclass(frozen=True)
class TuneOutcome:
    config: dict[str, Any]
    wape: float
    source: str
    summary: dict[str, Any] = field(default_factory=dict)


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown tuning backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    return backend


def make_backend(
    backend: str, settings: Settings, store: ObjectStore, options: BackendOptions | None = None
) -> TuningBackend:
    """The backend called ``backend`` (one of :data:`BACKENDS`)."""
    return BACKENDS[check_backend(backend)](settings, store, options or BackendOptions())


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
    check_backend(backend)
    check_run_id(snapshot_run)
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")

    from components.model.config import validate_config
    from components.model.registry import save_best_config

    plan = plan_from_settings(settings)
    options = BackendOptions(api_client=api_client, show_progress_bar=show_progress_bar)
    found = make_backend(backend, settings, store, options).search(snapshot_run, plan, n_trials)

    # searched values are inside the space by construction; pinned ones may lie outside it
    config = validate_config(found.config, where=f"best config from {backend}", check_ranges=False)
    save_best_config(settings, config, found.wape, found.source)
    log.info(
        "tune[%s] on %s: WAPE %.5f, best config stored (%s); %s",
        backend,
        snapshot_run,
        found.wape,
        found.source,
        found.summary,
    )
    return TuneOutcome(config=config, wape=float(found.wape), source=found.source, summary=found.summary)
