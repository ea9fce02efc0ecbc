"""The benchmark's 80 % intervals: how each method gets one, and how it is scored and reported.

Each method's P10-P90 band for every scored origin:

- ``ours``: the model's own band (``GlobalLGBMForecaster.predict_band``, calibrated at fit time);
- ``naive_24`` / ``naive_168``: empirical, calibrated like ours (``components.model.calibration``)
  on the naive's own errors on the training history: every daily origin of the training data at the
  scored origins' hour of day whose 24 h ahead are inside it gives the naive's forecast and the
  truth; per horizon step (and its neighbours), the 10 % and 90 % quantiles of ``y / f - 1`` scale
  each scored forecast;
- ``mstl``: statsforecast's ``level=[80]`` interval; ``mlforecast``: its conformal interval
  (``PredictionIntervals(n_windows=3, h=24)`` at fit, ``level=[80]``), from ``bench/peers/run.py``;
- ``course``: none (``null``).

Scores (``components.accuracy.band_scores``) per origin over the scored hours, then the mean over
origins, as MAPE and WAPE: ``coverage_80`` (share inside the band) and ``pinball`` (scaled pinball
loss over 0.1, 0.5, 0.9 with the point forecast as 0.5).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.accuracy import band_scores
from components.model.calibration import apply_band, band_quantiles

LEVEL = 0.8
QUANTILES = (0.1, 0.9)
TARGET_COVERAGE = (0.77, 0.83)
DAY = 24


def naive_band(y_train: pd.DataFrame, sp: int, horizon: int) -> np.ndarray | None:
    """The seasonal naive's ``(2, horizon)`` relative error quantiles on its training history.

    ``y_train`` is the gap-free training panel (MultiIndex ``(*keys, period)``); its last hour is the
    hour before the first scored origin's first forecast hour, so origins every 24 h back from it
    share the scored origins' hour of day.
    """
    wide = y_train.iloc[:, 0].unstack(level=-1) if isinstance(y_train.index, pd.MultiIndex) else y_train.T
    values = wide.to_numpy(dtype="float64")
    last = values.shape[1] - 1 - horizon
    origins = np.arange(last, sp - 2, -DAY)
    origins = origins[origins - sp + 1 >= 0]
    if origins.size == 0:
        return None
    steps = np.arange(1, horizon + 1)
    target = origins[:, None] + steps[None, :]
    source = target - sp * np.ceil(steps / sp).astype(int)[None, :]
    truth = values[:, target].transpose(1, 0, 2)
    forecast = values[:, source].transpose(1, 0, 2)
    return band_quantiles(truth, forecast, QUANTILES)


def band_from_quantiles(point: pd.Series, quantiles: np.ndarray | None, horizon: int) -> pd.DataFrame:
    """The band of one origin's point forecast (index ``(*keys, period)``, ``horizon`` steps per series)."""
    if quantiles is None:
        return pd.DataFrame({"lower": np.nan, "upper": np.nan}, index=point.index)
    values = point.to_numpy(dtype="float64").reshape(-1, horizon)
    lower, upper = apply_band(values, quantiles)
    return pd.DataFrame({"lower": lower.reshape(-1), "upper": upper.reshape(-1)}, index=point.index)


def score_band(
    actual: pd.Series, observed: pd.Series, point: pd.Series, band: pd.DataFrame | None
) -> dict[str, float | None]:
    """``coverage_80`` and ``pinball`` of one origin over its observed hours (None: no band)."""
    if band is None:
        return {"coverage_80": None, "pinball": None}
    mask = observed.reindex(actual.index).fillna(False).to_numpy(dtype=bool)
    aligned = band.reindex(actual.index)
    found = band_scores(
        actual.to_numpy(dtype="float64")[mask],
        point.reindex(actual.index).to_numpy(dtype="float64")[mask],
        aligned["lower"].to_numpy(dtype="float64")[mask],
        aligned["upper"].to_numpy(dtype="float64")[mask],
    )
    return {"coverage_80": found.coverage, "pinball": found.pinball}


def mean_of(rows: list[dict[str, Any]], name: str) -> float | None:
    values = [r[name] for r in rows]
    return None if any(v is None for v in values) else float(np.mean(values))


def fmt(value: float | None, width: int = 8) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.4f}"


def print_band_targets(results: dict[str, Any]) -> None:
    """Ours' coverage inside :data:`TARGET_COVERAGE` and its pinball <= 0.95 x the best other's, per seed."""
    ours = results.get("ours", {})
    seeds = ours.get("seeds")
    if not seeds:
        return
    low, high = TARGET_COVERAGE
    coverages = [v.get("coverage_80") for v in seeds.values()]
    if all(c is not None for c in coverages):
        ok = all(low <= c <= high for c in coverages)
        print(
            f"target coverage_80 in [{low}, {high}] for every seed: {'MET' if ok else 'NOT MET'} "
            f"({', '.join(f'{c:.3f}' for c in coverages)})"
        )
    others = {m: r["pinball"] for m, r in results.items() if m != "ours" and r.get("pinball") is not None}
    pinballs = [v.get("pinball") for v in seeds.values()]
    if others and all(p is not None for p in pinballs):
        best_method = min(others, key=lambda m: others[m])
        worst = max(p for p in pinballs if p is not None)
        best = others[best_method]
        print(
            f"target pinball <= 0.95 x best other ({best_method} {best:.4f}) for every seed: "
            f"{'MET' if worst <= 0.95 * best else 'NOT MET'} "
            f"(worst seed {worst:.4f}, ratio {worst / best:.3f})"
        )
