"""MAPE, WAPE and RMSE: the one definition the backtest, the benchmarks and monitoring share.

- WAPE = sum |y - f| / sum |y|; undefined when every observation is 0.
- MAPE = mean of |y - f| / |y| over the pairs with y != 0; undefined when there is none.
- RMSE = sqrt(mean (y - f)^2); undefined without pairs.

Only pairs where both values are finite count. "Undefined" is ``None``: a figure that does not
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
