"""What a search pins and what it searches, computed once from the search space and the pinned values
(``EF_TUNE_FIXED``); the Optuna backend, the Katib backend and the trial entry point all use it.

Pinned names of the search space are typed by their spec and not searched; they may lie outside the
spec's range (very few trees for a quick demo or a test) but not break its type or sign. Pinned names
that are not in the space must be keys of the base config (``n_jobs``) and are taken as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.model.config import DEFAULT_CONFIG, SEARCH_SPACE
from components.tuning.space import SearchSpaceError, Space, coerce_params, ensure_space

if TYPE_CHECKING:
    from components.settings import TrainingSettings

FIXED_SETTING = "EF_TUNE_FIXED"


@dataclass(frozen=True)
class SearchPlan:
    """One search: the whole ``space``, the ``pinned`` values, the ``searched`` rest of the space and
    the ``base`` config every trial starts from (the base config with the pinned values over it)."""

    space: Space
    pinned: dict[str, Any]
    searched: Space
    base: dict[str, Any]

    def config(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The config of a trial (or of the best one): the base, then ``params`` over it."""
        return {**self.base, **params}

    def require_search(self) -> Space:
        """The searched space; raise if every parameter is pinned (a search would have nothing to do)."""
        if not self.searched:
            raise ValueError("every parameter of the search space is fixed: nothing to search")
        return self.searched


def plan_search(
    space: Mapping[str, Any],
    base: Mapping[str, Any],
    fixed: Mapping[str, Any] | None = None,
    where: str = FIXED_SETTING,
) -> SearchPlan:
    """The plan of a search over ``space`` from ``base`` with ``fixed`` pinned; ``where`` names the
    source of ``fixed`` in error messages (:class:`SearchSpaceError`)."""
    typed = ensure_space(space)
    fixed = dict(fixed or {})
    unknown = sorted(set(fixed) - set(typed) - set(base))
    if unknown:
        raise SearchSpaceError(
            f"{where}: unknown parameter(s) {unknown}; not in the search space or the config"
        )
    in_space = coerce_params(
        {name: value for name, value in fixed.items() if name in typed}, typed, where, check_range=False
    )
    pinned = {**{name: value for name, value in fixed.items() if name not in typed}, **in_space}
    return SearchPlan(
        space=typed,
        pinned=pinned,
        searched={name: spec for name, spec in typed.items() if name not in pinned},
        base={**base, **pinned},
    )


def plan_from_settings(settings: TrainingSettings) -> SearchPlan:
    """The plan of the ``tune`` stage: ``SEARCH_SPACE`` from ``DEFAULT_CONFIG`` with ``EF_TUNE_FIXED``."""
    return plan_search(SEARCH_SPACE, DEFAULT_CONFIG, settings.tune_fixed, FIXED_SETTING)
