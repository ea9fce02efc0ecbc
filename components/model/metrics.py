"""Forecast accuracy: MAPE, WAPE and RMSE overall, per origin, per series and per horizon hour."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components import schemas

METRICS = ("mape", "wape", "rmse")


def scores(actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """MAPE (mean of |e|/|y| over y != 0), WAPE (sum|e| / sum|y|) and RMSE of the finite pairs."""
    a = np.asarray(actual, dtype="float64").reshape(-1)
    f = np.asarray(forecast, dtype="float64").reshape(-1)
    ok = np.isfinite(a) & np.isfinite(f)
    a, f = a[ok], f[ok]
    if a.size == 0:
        return {"mape": float("nan"), "wape": float("nan"), "rmse": float("nan"), "n": 0.0}
    err = np.abs(a - f)
    nz = a != 0
    denom = np.abs(a).sum()
    return {
        "mape": float(np.mean(err[nz] / np.abs(a[nz]))) if nz.any() else float("nan"),
        "wape": float(err.sum() / denom) if denom > 0 else float("nan"),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "n": float(a.size),
    }


def score_table(predictions: pd.DataFrame, by: list[str] | None) -> pd.DataFrame:
    """Scores of a predictions frame (columns ``actual`` and ``forecast``), overall or grouped ``by``."""
    if not by:
        return pd.DataFrame([scores(predictions["actual"].to_numpy(), predictions["forecast"].to_numpy())])
    frame = predictions.assign(
        _abs=(predictions["actual"] - predictions["forecast"]).abs(),
        _sq=(predictions["actual"] - predictions["forecast"]) ** 2,
        _ape=lambda f: f["_abs"] / f["actual"].abs().where(f["actual"] != 0),
        _absy=predictions["actual"].abs(),
    )
    grouped = frame.groupby(by, observed=True, sort=True)
    out = pd.DataFrame(
        {
            "mape": grouped["_ape"].mean(),
            "wape": grouped["_abs"].sum() / grouped["_absy"].sum(),
            "rmse": np.sqrt(grouped["_sq"].mean()),
            "n": grouped["_abs"].size().astype("float64"),
        }
    )
    return out.reset_index()


BACKTEST_COLUMNS = frozenset({"method", "origin", "actual"})
"""Columns of a backtest predictions frame that are not series keys (besides the forecast's own)."""


def all_tables(predictions: pd.DataFrame, keys: tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
    """The four views of the backtest: overall, per origin, per series, per horizon hour.

    ``keys`` are the series-key columns (default: read off the frame's columns).
    """
    if keys is None:
        keys = tuple(c for c in schemas.key_columns(predictions.columns) if c not in BACKTEST_COLUMNS)
    return {
        "overall": score_table(predictions, None),
        "per_origin": score_table(predictions, ["origin"]),
        "per_series": score_table(predictions, list(keys)),
        "per_horizon": score_table(predictions, ["horizon"]),
    }
