"""Expanding-window backtest over the last N daily origins of a feature frame.

For each origin (the last observed hour of a training window) the model is refitted on all data
up to and including that hour and forecasts the next H hours, which are compared with the truth.
Origins step back one day from the last one that still has H hours of truth after it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from components import schemas
from components.model import metrics
from components.model.config import validate_config
from components.model.core import GlobalModel
from components.model.design import FrameError, Panel, panel_from_long

log = logging.getLogger(__name__)

DAY = 24


@dataclass
class BacktestResult:
    """Per-point predictions of every method at every origin, and the metric tables per method."""

    predictions: pd.DataFrame
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    fit_seconds: dict[str, float] = field(default_factory=dict)
    predict_seconds: dict[str, float] = field(default_factory=dict)

    def wape(self, method: str = "model") -> float:
        return float(self.tables[method]["overall"]["wape"].iloc[0])

    def overall(self) -> pd.DataFrame:
        rows = []
        for method, tables in self.tables.items():
            row = tables["overall"].iloc[0].to_dict()
            row["method"] = method
            rows.append(row)
        return pd.DataFrame(rows).set_index("method")


def daily_origins(n_times: int, origins: int, horizon: int, usable: np.ndarray | None = None) -> np.ndarray:
    """Time indices of the last ``origins`` daily origins that have ``horizon`` true steps after them.

    ``usable[t]`` (default: every step) says whether origin ``t`` can be scored; an unusable daily
    origin is skipped and the one a day earlier taken instead (see :func:`usable_origins`).
    """
    if origins < 1:
        raise ValueError(f"origins must be >= 1, got {origins}")
    last = n_times - 1 - horizon
    candidates = np.arange(last, 0, -DAY, dtype=np.int64)
    if usable is not None:
        candidates = candidates[usable[candidates]]
    idx = candidates[:origins][::-1]
    if idx.size < origins:
        raise FrameError(
            f"{n_times} hours are too few for {origins} daily origins with a {horizon}-hour horizon"
            + ("" if usable is None else " outside the long gaps")
        )
    return idx


def usable_origins(panel: Panel, horizon: int) -> np.ndarray:
    """Per step, whether a backtest origin there can be scored: some series was observed at the
    origin and some actual of the horizon after it is observed (a long gap, left missing by the
    validate step, makes both false: such origins are skipped, not scored against nothing)."""
    observed = np.isfinite(panel.values).any(axis=0)
    ahead = np.zeros(panel.n_times, dtype=bool)
    for h in range(1, horizon + 1):
        ahead[:-h] |= observed[h:]
    return observed & ahead


def truncate(panel: Panel, origin: int) -> Panel:
    """The panel as it was known at ``origin`` (inclusive)."""
    return panel.with_values(panel.values[:, : origin + 1], panel.times[: origin + 1])


def _long_rows(
    panel: Panel,
    origin: int,
    horizon: int,
    method: str,
    point: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> pd.DataFrame:
    n_s = panel.n_series
    actual = panel.values[:, origin + 1 : origin + 1 + horizon]
    return pd.DataFrame(
        {
            "method": method,
            "origin": panel.times[origin],
            **{
                name: np.repeat([k[i] for k in panel.keys], horizon) for i, name in enumerate(panel.key_names)
            },
            schemas.DATETIME: np.tile(np.asarray(panel.times[origin + 1 : origin + 1 + horizon]), n_s),
            "horizon": np.tile(np.arange(1, horizon + 1), n_s),
            "actual": actual.reshape(-1),
            "forecast": point.reshape(-1),
            "forecast_lower": lower.reshape(-1),
            "forecast_upper": upper.reshape(-1),
        }
    )


def seasonal_naive(panel: Panel, origin: int, horizon: int, sp: int) -> np.ndarray:
    """``y[t+h] = y[t+h-k*sp]`` with the smallest k that is known at the origin (numpy, no fitting)."""
    hs = np.arange(1, horizon + 1)
    idx = origin + hs - sp * (-(-hs // sp))
    out = panel.values[:, np.clip(idx, 0, None)]
    return np.where(idx >= 0, out, np.nan)


def backtest(
    frame: pd.DataFrame | Panel,
    config: dict[str, Any],
    origins: int,
    horizon: int = 24,
    seed: int = 0,
    baselines: bool = True,
    model_factory: Any = None,
) -> BacktestResult:
    """Expanding-window backtest of the model built from ``config`` (and of the seasonal naives).

    ``model_factory(config, horizon)`` builds the model to refit at each origin; it defaults to
    :class:`GlobalModel`. The baselines are computed with numpy here; ``components.model.baselines``
    holds the same forecasts made by sktime's ``NaiveForecaster`` (the benchmark uses those).
    """
    panel = frame if isinstance(frame, Panel) else panel_from_long(frame, where="backtest frame")
    cfg = validate_config({**config, "seed": seed}, where="backtest config", check_ranges=False)
    factory = model_factory or (lambda c, h: GlobalModel(c, horizon=h))
    idx = daily_origins(panel.n_times, origins, horizon, usable_origins(panel, horizon))
    parts: list[pd.DataFrame] = []
    fit_s = pred_s = 0.0
    nan = np.full((panel.n_series, horizon), np.nan)
    for origin in idx:
        known = truncate(panel, int(origin))
        t0 = time.perf_counter()
        model = factory(cfg, horizon).fit(known)
        t1 = time.perf_counter()
        point, lower, upper = model.predict_arrays(known, int(origin))
        t2 = time.perf_counter()
        fit_s += t1 - t0
        pred_s += t2 - t1
        parts.append(_long_rows(panel, int(origin), horizon, "model", point, lower, upper))
        if baselines:
            for sp in (24, 168):
                parts.append(
                    _long_rows(
                        panel,
                        int(origin),
                        horizon,
                        f"naive_{sp}",
                        seasonal_naive(known, int(origin), horizon, sp),
                        nan,
                        nan,
                    )
                )
        log.info("backtest origin %s: fit %.1f s, predict %.3f s", panel.times[origin], t1 - t0, t2 - t1)
    predictions = pd.concat(parts, ignore_index=True)
    result = BacktestResult(predictions=predictions)
    for method, part in predictions.groupby("method", sort=False):
        result.tables[str(method)] = metrics.all_tables(part, keys=panel.key_names)
    result.fit_seconds["model"] = fit_s
    result.predict_seconds["model"] = pred_s
    log.info("backtest over %d origins: %s", len(idx), result.overall()["wape"].round(4).to_dict())
    return result


def backtest_wape(frame: pd.DataFrame, config: dict[str, Any], origins: int, seed: int = 0) -> float:
    """The tuning objective: the model's backtest WAPE over the last ``origins`` daily origins.

    Lower is better. The P10/P90 band does not change WAPE, so it is not fitted here.
    """
    cfg = {**validate_config(config, where="tuning config", check_ranges=False), "quantiles": []}
    return backtest(frame, cfg, origins=origins, seed=seed, baselines=False).wape("model")
