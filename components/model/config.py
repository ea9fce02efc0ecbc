"""The model configuration: the default config and the hyper-parameter SEARCH SPACE, declared once.

A config is a plain JSON-serialisable dict. The tuner (Optuna locally, Katib on the cluster)
samples the names in :data:`SEARCH_SPACE`; every other key of :data:`DEFAULT_CONFIG` is fixed.
Spec format (validated, with every value said to be inside it, by ``components.tuning.space``):

- ``{"type": "int", "low": int, "high": int, "log": bool}``
- ``{"type": "float", "low": float, "high": float, "log": bool}``
- ``{"type": "categorical", "choices": [...]}``
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from components.tuning.space import SearchSpaceError, Space, coerce_params, parse_space

SEARCH_SPACE: Final[dict[str, dict[str, Any]]] = {
    "n_estimators": {"type": "int", "low": 100, "high": 800, "log": True},
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "num_leaves": {"type": "int", "low": 15, "high": 255, "log": True},
    "min_child_samples": {"type": "int", "low": 5, "high": 200, "log": True},
    "feature_fraction": {"type": "float", "low": 0.5, "high": 1.0, "log": False},
    "bagging_fraction": {"type": "float", "low": 0.5, "high": 1.0, "log": False},
    "lambda_l2": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
    "origin_stride": {"type": "int", "low": 1, "high": 6, "log": False},
    "level_window": {"type": "categorical", "choices": [24, 168, "24+168"]},
    "weight_power": {"type": "float", "low": 0.0, "high": 1.0, "log": False},
    "objective": {"type": "categorical", "choices": ["l1", "l2", "huber"]},
    "blend": {"type": "float", "low": 0.0, "high": 1.0, "log": False},
    # the statistical member (components.model.statistical) and its share
    "stat_weight": {"type": "float", "low": 0.0, "high": 1.0, "log": False},
    "stat_weight_days": {"type": "int", "low": 0, "high": 7, "log": False},
    "stat_days": {"type": "int", "low": 14, "high": 56, "log": False},
    "stat_weekly_halflife": {"type": "float", "low": 0.5, "high": 10.0, "log": True},
    "stat_damping": {"type": "float", "low": 0.5, "high": 0.98, "log": False},
    "stat_transform": {"type": "categorical", "choices": ["auto", "log", "none"]},
    "stat_holidays": {"type": "categorical", "choices": ["keep", "skip"]},
}
"""Tunable names -> spec. Objective: backtest WAPE (lower is better)."""

DEFAULT_CONFIG: Final[dict[str, Any]] = {
    # LightGBM (tunable)
    "n_estimators": 250,
    "learning_rate": 0.06,
    "num_leaves": 31,
    "min_child_samples": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "lambda_l2": 0.1,
    # training-set construction and target scaling (tunable)
    "origin_stride": 4,
    # "24+168": two regressors, one per scaling, averaged (see components.model.core)
    "level_window": "24+168",
    "weight_power": 0.0,
    "objective": "l1",
    # share of the seasonal prior in the forecast (components.model.design.seasonal_prior)
    "blend": 0.5,
    # the statistical member: its prior share, and the daily origins of the inner backtest at fit
    # time that moves the share halfway to the best one there (0: the share is fixed);
    # the member's own window (days), profile half-life (weeks), damping, transform, holidays
    "stat_weight": 0.5,
    "stat_weight_days": 3,
    "stat_days": 28,
    "stat_weekly_halflife": 2.0,
    "stat_damping": 0.9,
    "stat_transform": "auto",
    "stat_holidays": "keep",
    # fixed
    "max_bin": 63,
    "min_history": 48,
    "quantiles": [0.1, 0.9],
    # the band: conformal on the out-of-sample errors of this many last training days (0: two
    # quantile regressors of quantile_n_estimators trees instead)
    "band_days": 28,
    "quantile_n_estimators": 60,
    "seed": 0,
    # LightGBM threads: the train pod's CPU request (pipelines.pipeline.RESOURCES); 0 = all cores
    "n_jobs": 2,
}
"""The config of the very first run (before any tuning)."""


class ConfigError(ValueError):
    """A model config is invalid; the message names the key."""


@cache
def _search_space() -> Space:
    return parse_space(SEARCH_SPACE)


def validate_config(
    config: dict[str, Any], where: str = "config", check_ranges: bool = True
) -> dict[str, Any]:
    """Merge ``config`` over :data:`DEFAULT_CONFIG` and check every tunable value against its spec
    (``components.tuning.space.coerce``, typed values: no strings read as numbers).

    Unknown keys are rejected so that a typo never silently falls back to a default. With
    ``check_ranges=False`` (training with ``Settings.train_n_estimators``, tests) numeric values
    only need the right type and sign, not to lie inside the search space.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known keys are {sorted(DEFAULT_CONFIG)}")
    merged = {**DEFAULT_CONFIG, **config}
    try:
        merged.update(
            coerce_params(
                {name: merged[name] for name in SEARCH_SPACE},
                _search_space(),
                where,
                check_range=check_ranges,
                text=False,
            )
        )
    except SearchSpaceError as exc:
        raise ConfigError(str(exc)) from exc
    for name in ("max_bin", "min_history", "band_days", "quantile_n_estimators", "seed", "n_jobs"):
        if isinstance(merged[name], bool) or not isinstance(merged[name], int) or merged[name] < 0:
            raise ConfigError(f"{where}: {name}={merged[name]!r} must be a non-negative integer")
    if merged["stat_weight"] > 1.0 or merged["stat_damping"] >= 1.0:
        raise ConfigError(
            f"{where}: stat_weight={merged['stat_weight']!r} must be <= 1 and "
            f"stat_damping={merged['stat_damping']!r} < 1"
        )
    if merged["stat_days"] < 1 or merged["stat_weekly_halflife"] <= 0:
        raise ConfigError(f"{where}: stat_days must be >= 1 and stat_weekly_halflife > 0")
    quantiles = merged["quantiles"]
    if not isinstance(quantiles, list) or not all(
        isinstance(q, int | float) and 0 < q < 1 for q in quantiles
    ):
        raise ConfigError(f"{where}: quantiles={quantiles!r} must be a list of numbers in (0, 1)")
    if quantiles and len(quantiles) != 2:
        raise ConfigError(f"{where}: quantiles={quantiles!r} must be [] or [lower, upper]")
    return merged
