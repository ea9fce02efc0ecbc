"""The P10-P90 band by split conformal calibration: quantiles of out-of-sample scaled errors.

A forecast ``f`` made at an origin the model (or a stand-in fitted on less data) never saw is
compared with what happened, ``y``. Its error is measured relative to the forecast and in units of
how much the series has been moving lately (:func:`recent_scale` at the origin):
``e = (y / f - 1) / scale``. The errors are collected per horizon step, and the band of a new
forecast is ``f + |f| * scale * Q_lo(h)`` .. ``f + |f| * scale * Q_hi(h)``, where ``Q`` are the
empirical quantiles of ``e`` at step ``h`` and its ``spread`` neighbours on either side (a few weeks
of a few series are too few errors for one step alone). So one set of quantiles serves series of
any size and widens when a series turns restless (e.g. the autumn's weather); the band always
contains the point forecast.

Used by :class:`~components.model.core.GlobalModel` (on its inner backtest) and, without the
scale, by the benchmark's empirical bands of the seasonal naives.
"""

from __future__ import annotations

import numpy as np

HORIZON_SPREAD = 2
"""Neighbouring steps on either side pooled with each step's errors."""
MIN_ERRORS = 10


def recent_scale(values: np.ndarray, origin: int, window: int = 168, lag: int = 24) -> np.ndarray:
    """Per series (rows of ``values``), the mean |y[t] - y[t - lag]| over the ``window`` hours up to
    ``origin``, divided by the mean |y| there: how much it has been moving lately, relative to its
    level (NaN when unknown; a band scaled by it is then NaN)."""
    start = max(lag, origin + 1 - window)
    now = values[:, start : origin + 1]
    before = values[:, start - lag : origin + 1 - lag]
    with np.errstate(invalid="ignore", divide="ignore"):
        diffs = np.abs(now - before)
        ok = np.isfinite(diffs)
        move = np.where(ok, diffs, 0.0).sum(axis=1) / ok.sum(axis=1)
        level = np.abs(np.where(ok, now, 0.0)).sum(axis=1) / ok.sum(axis=1)
        scale = move / level
    return np.where(np.isfinite(scale) & (scale > 0), scale, np.nan)


def scaled_errors(truth: np.ndarray, forecast: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """``(truth / forecast - 1) / scale`` where defined (forecast > 0), else NaN.

    ``truth`` and ``forecast`` are shaped ``(..., series, horizon)``; ``scale`` ``(..., series)``.
    """
    ok = np.isfinite(truth) & np.isfinite(forecast) & (forecast > 0)
    errors = np.where(ok, truth / np.where(ok, forecast, 1.0) - 1.0, np.nan)
    return errors if scale is None else errors / scale[..., None]


def band_quantiles(
    truth: np.ndarray,
    forecast: np.ndarray,
    quantiles: tuple[float, float],
    scale: np.ndarray | None = None,
    spread: int = HORIZON_SPREAD,
) -> np.ndarray | None:
    """The error's ``(lower, upper)`` quantiles per horizon step, shaped ``(2, horizon)``.

    ``None`` when some step has fewer than :data:`MIN_ERRORS` errors to read.
    """
    errors = scaled_errors(truth, forecast, scale)
    horizon = errors.shape[-1]
    flat = errors.reshape(-1, horizon)
    out = np.empty((2, horizon))
    for h in range(horizon):
        pooled = flat[:, max(0, h - spread) : h + spread + 1].reshape(-1)
        pooled = pooled[np.isfinite(pooled)]
        if pooled.size < MIN_ERRORS:
            return None
        out[:, h] = np.quantile(pooled, quantiles)
    out[0] = np.minimum(out[0], 0.0)
    out[1] = np.maximum(out[1], 0.0)
    return out


def apply_band(
    point: np.ndarray, quantiles: np.ndarray, scale: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` of ``point`` shaped ``(series, horizon)`` from :func:`band_quantiles`
    (``scale``: per series, as calibrated)."""
    width = np.abs(point) if scale is None else np.abs(point) * scale[:, None]
    return point + width * quantiles[0], point + width * quantiles[1]
