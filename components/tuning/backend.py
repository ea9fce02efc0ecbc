"""What a hyper-parameter search backend is: one method that searches a feature snapshot by a
:class:`~components.tuning.plan.SearchPlan` and returns the best config and a summary of the study.

Implementations: ``components.tuning.optuna_backend.OptunaBackend`` (a study in this process) and
``components.tuning.katib.backend.KatibBackend`` (a Katib Experiment in the cluster). The ``tune``
stage picks one by name from ``components.tuning.run.BACKENDS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from components.tuning.plan import SearchPlan


class TuningError(RuntimeError):
    """Hyper-parameter search failed; the message names the study or experiment."""


@dataclass(frozen=True)
class SearchResult:
    """The best trial of a search.

    ``config`` is the full config (the plan's base with the best searched values over it), ``params``
    the best searched values alone, ``wape`` their backtest WAPE, ``source`` where they come from
    (stored with the config: ``optuna:<run>:<n>-trials``, ``katib:<namespace>/<experiment>``) and
    ``summary`` the backend's account of the study (trial counts, best trial, ...), JSON-serialisable.
    """

    config: dict[str, Any]
    params: dict[str, Any]
    wape: float
    source: str
    summary: dict[str, Any] = field(default_factory=dict)


class TuningBackend(Protocol):
    """Searches the best config over a feature snapshot."""

    def search(self, snapshot_run: str, plan: SearchPlan, n_trials: int) -> SearchResult:
        """Run at most ``n_trials`` trials over ``plan.searched`` on snapshot ``snapshot_run``."""
        ...
