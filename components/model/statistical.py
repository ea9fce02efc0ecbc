"""The statistical member: a local seasonal decomposition with a damped-trend level, in numpy.

What statsforecast's ``MSTL(season_length=[24, 168])`` does per series (a seasonal profile, then an
exponential-smoothing model of the deseasonalised series), done here for all series at once and
from the history up to the origin only, so that forecasting every series takes milliseconds:

1. **Window.** The last ``stat_days`` days up to the origin (NaN where unobserved); with
   ``stat_transform="log"`` the values are ``log(y + eps)`` (``eps`` 1% of the series' mean), so the
   profile multiplies instead of adding (series such as street lighting, near zero by day).
2. **Trend for the decomposition.** A 168-hour moving mean whose window always holds exactly one
   week (near the window's ends it is the first or last whole week), so it carries no seasonality.
3. **Seasonal profile** per hour of the week in Danish local time (a daylight-saving change moves
   nothing): the detrended values weighted by their age (half-life ``stat_weekly_halflife``
   weeks). It holds the daily and the weekly season at once (168 = 7 x 24). With
   ``stat_holidays="skip"`` the hours of public holidays and of the Christmas season get no weight
   (unless nothing else is known).
4. **Level.** The deseasonalised series (value minus profile) is smoothed by additive
   damped-trend exponential smoothing (Holt, damping ``stat_damping``). For every series, its two
   smoothing parameters are chosen from a small grid by what the member is used for: the smallest
   in-sample squared error of the level as a forecast of the mean of the next 24 deseasonalised
   hours, over the window (values up to the origin only).
5. **Forecast** ``level + trend * (phi + ... + phi^h) + profile(target hour)``, transformed back.

``stat_transform="auto"`` (the default) picks, per series, the log or the plain version by the
member's own absolute error over the :data:`SELECT_DAYS` daily origins before the last one of the
training panel (:func:`choose_log`; the model stores the choice per series key). Everything else
reads only steps at or before the origin, and the member has no other fitted state.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from components.model.design import DAY, WEEK, Calendar

ALPHAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0)
"""Level smoothing parameters searched per series."""
BETAS = (0.0, 0.005, 0.02)
"""Trend smoothing parameters searched per series (0: no trend, simple exponential smoothing)."""
MIN_DAYS = 2
"""Fewer days of history than this: the member falls back to the last day repeated."""


SELECT_DAYS = 3
"""``stat_transform="auto"``: daily origins before the origin on which log and plain are compared."""
LOG_EPS = 0.01
"""``log(y + eps)`` with ``eps`` this share of the series' mean absolute value in the window."""
TRANSFORMS = ("auto", "log", "none")


@dataclass(frozen=True)
class StatParams:
    """The member's settings (config keys ``stat_*``, see :mod:`components.model.config`)."""

    days: int = 28
    weekly_halflife: float = 2.0
    damping: float = 0.9
    transform: str = "auto"
    skip_holidays: bool = False

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"stat_transform={self.transform!r} is not one of {TRANSFORMS}")
        if not 0.0 < self.damping < 1.0 or self.days < 1 or self.weekly_halflife <= 0:
            raise ValueError(f"invalid statistical member settings {self}")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StatParams:
        return cls(
            days=int(config["stat_days"]),
            weekly_halflife=float(config["stat_weekly_halflife"]),
            damping=float(config["stat_damping"]),
            transform=str(config["stat_transform"]),
            skip_holidays=config["stat_holidays"] == "skip",
        )


def _weighted_profile(values: np.ndarray, weight: np.ndarray, bucket: np.ndarray, n: int) -> np.ndarray:
    """``(S, n)`` NaN-aware weighted means of ``values`` (S, T) per bucket (T,) in ``0..n-1``."""
    n_s = values.shape[0]
    ok = np.isfinite(values)
    w = np.where(ok, weight[None, :], 0.0)
    cell = (np.arange(n_s)[:, None] * n + bucket[None, :]).reshape(-1)
    num = np.bincount(cell, weights=(np.where(ok, values, 0.0) * w).reshape(-1), minlength=n_s * n)
    den = np.bincount(cell, weights=w.reshape(-1), minlength=n_s * n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan).reshape(n_s, n)


def _week_mean(values: np.ndarray) -> np.ndarray:
    """``(S, T)`` mean of the whole week centred on each step, the week clipped to lie in the window."""
    n_t = values.shape[1]
    if n_t < WEEK:
        mean = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=1, keepdims=True)
        return np.broadcast_to(mean, values.shape)
    ok = np.isfinite(values)
    c1 = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(np.where(ok, values, 0.0), axis=1)], axis=1
    )
    cn = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(ok, axis=1)], axis=1)
    start = np.clip(np.arange(n_t) - WEEK // 2, 0, n_t - WEEK)
    n = cn[:, start + WEEK] - cn[:, start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (c1[:, start + WEEK] - c1[:, start]) / np.where(n > 0, n, 1.0), np.nan)


def _smooth(deseason: np.ndarray, damping: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Damped-trend exponential smoothing of ``deseason`` (S, T) with per-series parameters from the grid.

    Returns the level and trend at the last step, each ``(S,)``. NaN steps do not update the state.
    """
    n_s, n_t = deseason.shape
    alphas = np.repeat(np.asarray(ALPHAS), len(BETAS))[:, None]  # (G, 1)
    betas = np.tile(np.asarray(BETAS), len(ALPHAS))[:, None]
    first = np.argmax(np.isfinite(deseason), axis=1)
    start = deseason[np.arange(n_s), first]
    start = np.where(np.isfinite(start), start, 0.0)
    level = np.broadcast_to(start[None, :], (alphas.size, n_s)).copy()
    trend = np.zeros_like(level)
    # the score of each parameter pair: the level at t against the mean of the next `horizon` steps
    ok = np.isfinite(deseason)
    c1 = np.concatenate([np.zeros((n_s, 1)), np.cumsum(np.where(ok, deseason, 0.0), axis=1)], axis=1)
    cn = np.concatenate([np.zeros((n_s, 1)), np.cumsum(ok, axis=1)], axis=1)
    steps = np.arange(n_t)
    end = np.minimum(steps + 1 + horizon, n_t)
    cnt = cn[:, end] - cn[:, steps + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ahead = np.where(cnt > 0, (c1[:, end] - c1[:, steps + 1]) / np.where(cnt > 0, cnt, 1.0), np.nan)
    scored = (steps >= min(DAY, n_t // 4)) & (steps < n_t - horizon)
    mean_ahead = (1.0 - damping ** np.arange(1, horizon + 1)).mean() / (1.0 - damping) * damping
    sse = np.zeros_like(level)
    phi = damping
    for t in range(n_t):
        x = deseason[:, t]
        seen = np.isfinite(x)
        pred = level + phi * trend
        new_level = alphas * np.where(seen, x, pred) + (1.0 - alphas) * pred
        new_trend = betas * (new_level - level) + (1.0 - betas) * phi * trend
        level = np.where(seen, new_level, pred)
        trend = np.where(seen, new_trend, phi * trend)
        if scored[t]:
            target = ahead[:, t]
            err = level + trend * mean_ahead - target
            sse += np.where(np.isfinite(target), err * err, 0.0)
    best = np.argmin(sse, axis=0)
    cols = np.arange(n_s)
    return level[best, cols], trend[best, cols]


def _additive(
    y: np.ndarray, cal: Calendar, lo: int, origin: int, horizon: int, params: StatParams
) -> np.ndarray:
    """The decomposition forecast of the window ``y = values[:, lo : origin + 1]`` (S, T)."""
    n_s, n_t = y.shape
    observed = np.isfinite(y)
    if n_t < MIN_DAYS * DAY or np.all(np.isnan(cal.hour)):
        # too little history (or no calendar): the last known day repeated
        last_day = np.full((n_s, DAY), np.nan)
        last_day[:, DAY - min(DAY, n_t) :] = y[:, -min(DAY, n_t) :]
        out = last_day[:, np.arange(horizon) % DAY]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fallback = np.nanmean(y, axis=1, keepdims=True) if n_t else np.full((n_s, 1), np.nan)
        return np.where(np.isfinite(out), out, np.where(np.isfinite(fallback), fallback, 0.0))

    idx = np.arange(lo, origin + 1)
    how = (cal.dayofweek[idx] * DAY + cal.hour[idx]).astype(np.int64)
    weight = 0.5 ** ((origin - idx) / WEEK / params.weekly_halflife)
    normal = cal.holiday[idx] == 0
    skip = params.skip_holidays and normal.sum() >= 2 * DAY
    if skip:
        weight = weight * normal
    profile = _weighted_profile(y - _week_mean(y), weight, how, WEEK)  # (S, 168)
    profile = np.where(np.isfinite(profile), profile, 0.0)
    profile -= profile.mean(axis=1, keepdims=True)
    deseason = np.where(observed & (normal if skip else True), y - profile[:, how], np.nan)
    level, trend = _smooth(deseason, params.damping, horizon)
    damp = np.cumsum(params.damping ** np.arange(1, horizon + 1))
    target = np.arange(origin + 1, origin + 1 + horizon)
    t_how = (cal.dayofweek[target] * DAY + cal.hour[target]).astype(np.int64)
    return level[:, None] + trend[:, None] * damp[None, :] + profile[:, t_how]


def _one(
    values: np.ndarray, cal: Calendar, origin: int, horizon: int, params: StatParams, log: bool
) -> np.ndarray:
    lo = max(0, origin + 1 - params.days * DAY)
    y = values[:, lo : origin + 1]
    if not log:
        return _additive(y, cal, lo, origin, horizon, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN series: no scale
        scale = np.nanmean(np.abs(y), axis=1, keepdims=True)
    eps = LOG_EPS * np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    out = _additive(np.log(np.clip(y, 0.0, None) + eps), cal, lo, origin, horizon, params)
    return np.exp(np.clip(out, -700.0, 700.0)) - eps


def choose_log(values: np.ndarray, cal: Calendar, origin: int, params: StatParams) -> np.ndarray:
    """``(S,)``: which series the log version forecasts better than the plain one, by the absolute
    error summed over the :data:`SELECT_DAYS` daily origins before ``origin`` (known values only;
    ties and too little history: plain)."""
    err = np.zeros((2, values.shape[0]))
    for j in range(1, SELECT_DAYS + 1):
        past = origin - DAY * j
        if past + 1 < MIN_DAYS * DAY:
            break
        truth = values[:, past + 1 : past + 1 + DAY]
        for k, log in enumerate((False, True)):
            e = np.abs(_one(values, cal, past, truth.shape[1], params, log) - truth)
            err[k] += np.where(np.isfinite(e), e, 0.0).sum(axis=1)
    return np.asarray(err[1] < err[0])


def forecast(
    values: np.ndarray,
    cal: Calendar,
    origin: int,
    horizon: int,
    params: StatParams,
    use_log: np.ndarray | None = None,
) -> np.ndarray:
    """``(S, horizon)`` forecasts of steps ``origin+1 .. origin+horizon`` from ``values[:, :origin+1]``.

    ``cal`` covers the panel's steps and ``horizon`` more (its indices are the panel's). With
    ``transform="auto"``, ``use_log`` (S,) says which series take the log version (a model chooses
    it at fit time); without it, it is chosen here by :func:`choose_log` at this origin.
    """
    if params.transform != "auto":
        return _one(values, cal, origin, horizon, params, params.transform == "log")
    if use_log is None:
        use_log = choose_log(values, cal, origin, params)
    out = np.empty((values.shape[0], horizon))
    for log in (False, True):
        rows = np.flatnonzero(use_log == log)
        if rows.size:
            out[rows] = _one(values[rows], cal, origin, horizon, params, log)
    return out
