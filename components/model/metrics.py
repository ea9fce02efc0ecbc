"""Backtest tables: MAPE, WAPE and RMSE, and the band's coverage_80 and pinball where the predictions
have one (all defined in ``components.accuracy``), overall, per origin, per series and per horizon
hour."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components import accuracy, schemas

METRICS = ("mape", "wape", "rmse")


def scores(actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """:func:`components.accuracy.scores` as a table row: an undefined figure is NaN, and ``n``."""
    found = accuracy.scores(actual, forecast)
    nan = float("nan")
    return {
        "mape": nan if found.mape is None else found.mape,
        "wape": nan if found.wape is None else found.wape,
        "rmse": nan if found.rmse is None else found.rmse,
        "n": float(found.n),
    }


BAND = ("forecast_lower", "forecast_upper")


def band_row(predictions: pd.DataFrame) -> dict[str, float]:
    """``coverage_80`` and ``pinball`` of the rows (NaN: no band)."""
    found = accuracy.band_scores(
        *(predictions[c].to_numpy(dtype="float64") for c in ("actual", "forecast", *BAND))
    )
    nan = float("nan")
    return {
        "coverage_80": nan if found.coverage is None else found.coverage,
        "pinball": nan if found.pinball is None else found.pinball,
    }


def score_table(predictions: pd.DataFrame, by: list[str] | None) -> pd.DataFrame:
    """Scores of a predictions frame (columns ``actual`` and ``forecast``, and the band's figures when
    it has ``forecast_lower`` and ``forecast_upper``), overall or grouped ``by``."""
    banded = all(c in predictions.columns for c in BAND)
    if not by:
        row = scores(predictions["actual"].to_numpy(), predictions["forecast"].to_numpy())
        return pd.DataFrame([{**row, **(band_row(predictions) if banded else {})}])
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
    if banded:
        bands = pd.DataFrame({key: band_row(part) for key, part in grouped}).T
        out = out.join(bands.set_axis(out.index))
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
