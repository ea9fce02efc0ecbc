"""Seasonal-naive baselines (24 h and 168 h) made by sktime's ``NaiveForecaster(strategy="last")``."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from components.model.design import Panel

SEASONAL_PERIODS = (24, 168)


def to_hierarchical(panel: Panel, column: str = "y") -> pd.DataFrame:
    """sktime's multi-index frame: MultiIndex (*key names, datetime), one column.

    One key gives ``pd-multiindex``, two or more ``pd_multiindex_hier``.
    """
    n_s, n_t = panel.values.shape
    index = pd.MultiIndex.from_arrays(
        [
            *(np.repeat([k[i] for k in panel.keys], n_t) for i in range(len(panel.key_names))),
            np.tile(np.asarray(panel.times), n_s),
        ],
        names=[*panel.key_names, "datetime"],
    )
    return pd.DataFrame({column: panel.values.reshape(-1)}, index=index)


def naive_forecast(panel: Panel, horizon: int, sp: int) -> np.ndarray:
    """Forecast ``(n_series, horizon)`` steps after the panel's last step with sktime's seasonal naive."""
    from sktime.forecasting.naive import NaiveForecaster

    times = pd.DatetimeIndex(panel.times)
    y = to_hierarchical(panel)
    # keep only as much history as the naive forecaster reads: far faster, same forecast
    y = y[y.index.get_level_values(-1) > times[-1] - pd.Timedelta(hours=sp)] if panel.n_times > sp else y
    index = cast(pd.MultiIndex, y.index)
    y.index = index.set_levels(pd.PeriodIndex(index.levels[-1], freq="h"), level=-1)  # type: ignore[call-overload]
    forecaster = NaiveForecaster(strategy="last", sp=sp)
    forecaster.fit(y)
    pred = forecaster.predict(fh=np.arange(1, horizon + 1))
    values = (
        pred.iloc[:, 0].to_numpy(dtype="float64").reshape(len(pred.index.unique(level=0)) and -1, horizon)
    )
    order = {
        key if isinstance(key, tuple) else (key,): i
        for i, key in enumerate(pred.index.droplevel(-1).unique())
    }
    rows = np.array([order[k] for k in panel.keys])
    return values[rows]
