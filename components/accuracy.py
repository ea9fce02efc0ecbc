"""MAPE, WAPE, RMSE and the band's figures: the one definition the backtest, the benchmarks and
monitoring share.

- WAPE = sum |y - f| / sum |y|; undefined when every observation is 0.
- MAPE = mean of |y - f| / |y| over the pairs with y != 0; undefined when there is none.
- RMSE = sqrt(mean (y - f)^2); undefined without pairs.
- coverage = share of the pairs with lower <= y <= upper (the P10-P90 band: 0.8 when it is right).
- pinball = the scaled pinball loss: the mean over the quantiles 0.1, 0.5 and 0.9 (lower, point
  forecast, upper) of the mean pinball loss ``max(q (y - f_q), (q - 1) (y - f_q))``, divided by the
  mean |y|, so that it reads like WAPE (the 0.5 term alone is WAPE / 2); undefined when every
  observation is 0.

Only pairs where both values are finite count (for the band's figures: y, lower and upper, and for
pinball also the point forecast). "Undefined" is ``None``: a figure that does not
exist is left out of MLflow, the KFP ``Metrics`` and the API (never -1, never 0). Tables of figures
(pandas) hold it as NaN, pandas' own missing value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Scores:
    n: int
    mape: float | None
    wape: float | None
    rmse: float | None


def scores(observed: npt.ArrayLike, forecast: npt.ArrayLike) -> Scores:
    y = np.asarray(observed, dtype="float64").reshape(-1)
    f = np.asarray(forecast, dtype="float64").reshape(-1)
    finite = np.isfinite(y) & np.isfinite(f)
    y, f = y[finite], f[finite]
    if y.size == 0:
        return Scores(0, None, None, None)
    err = np.abs(y - f)
    nonzero = y != 0
    denominator = float(np.abs(y).sum())
    return Scores(
        n=int(y.size),
        mape=float(np.mean(err[nonzero] / np.abs(y[nonzero]))) if nonzero.any() else None,
        wape=float(err.sum() / denominator) if denominator > 0 else None,
        rmse=float(np.sqrt(np.mean(err**2))),
    )


BAND_QUANTILES = (0.1, 0.5, 0.9)
"""The quantiles the band's figures read: lower, point forecast, upper."""


@dataclass(frozen=True)
class BandScores:
    n: int
    coverage: float | None
    pinball: float | None


def pinball_loss(observed: np.ndarray, quantile_forecast: np.ndarray, q: float) -> np.ndarray:
    """The pinball (quantile) loss of each pair at quantile ``q``."""
    diff = observed - quantile_forecast
    return np.maximum(q * diff, (q - 1.0) * diff)


def band_scores(
    observed: npt.ArrayLike, forecast: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike
) -> BandScores:
    """Coverage and scaled pinball loss of a P10-P90 band around a point forecast."""
    y, f, lo, hi = (np.asarray(a, dtype="float64").reshape(-1) for a in (observed, forecast, lower, upper))
    finite = np.isfinite(y) & np.isfinite(f) & np.isfinite(lo) & np.isfinite(hi)
    y, f, lo, hi = y[finite], f[finite], lo[finite], hi[finite]
    if y.size == 0:
        return BandScores(0, None, None)
    scale = float(np.abs(y).mean())
    loss = np.mean([pinball_loss(y, fq, q).mean() for fq, q in zip((lo, f, hi), BAND_QUANTILES, strict=True)])
    return BandScores(
        n=int(y.size),
        coverage=float(np.mean((y >= lo) & (y <= hi))),
        pinball=float(loss / scale) if scale > 0 else None,
    )
