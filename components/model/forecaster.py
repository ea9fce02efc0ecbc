"""The sktime face of the model: :class:`GlobalLGBMForecaster`, a ``BaseForecaster`` subclass.

It fits one :class:`~components.model.core.GlobalModel` over every series of sktime's pandas
formats (a single series ``pd.DataFrame``, ``pd-multiindex`` panels and ``pd_multiindex_hier``,
e.g. MultiIndex ``(area, datetime)`` or ``(area, consumer_type, datetime)``: any number of key
levels) and forecasts directly for each horizon, so it works with sktime's splitters,
``evaluate`` and estimator checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from components.model.core import GlobalModel
from components.model.design import Panel


class GlobalLGBMForecaster(BaseForecaster):
    """Global direct multi-horizon LightGBM forecaster over all series at once.

    By default two regressors, one scaled by the last week's level and one by the last day's,
    are averaged (config key ``level_window``), and the forecast blends them with a
    holiday-aware, level-adjusted seasonal naive (config key ``blend``; see
    ``components.model.core``).

    Parameters
    ----------
    horizon : int
        Longest horizon (in steps) trained when ``fh`` is not given to ``fit``.
    config : dict or None
        Model config (see ``components.model.config``); ``None`` means ``DEFAULT_CONFIG``.

    Examples
    --------
    >>> from sktime.utils._testing.hierarchical import _make_hierarchical
    >>> from components.model.forecaster import GlobalLGBMForecaster
    >>> y = _make_hierarchical(hierarchy_levels=(2, 2), min_timepoints=48, max_timepoints=48)
    >>> forecaster = GlobalLGBMForecaster(horizon=3, config={"n_estimators": 10, "min_history": 2})
    >>> forecaster.fit(y).predict(fh=[1, 2, 3]).shape
    (12, 1)
    """

    _tags = {  # noqa: RUF012 - sktime's tag convention
        "authors": ["energy-forecasting"],
        "python_dependencies": ["lightgbm", "holidays"],
        "y_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "X_inner_mtype": "pd.DataFrame",
        "capability:exogenous": False,
        "capability:multivariate": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "requires-fh-in-fit": False,
        "fit_is_empty": False,
    }

    def __init__(self, horizon: int = 24, config: dict[str, Any] | None = None) -> None:
        self.horizon = horizon
        self.config = config
        super().__init__()

    # --- conversions between sktime's formats and the model's panel -----------------------
    @staticmethod
    def _to_panel(y: pd.DataFrame) -> tuple[Panel, list[Any], str]:
        column = str(y.columns[0])
        if not isinstance(y.index, pd.MultiIndex):
            values = y.iloc[:, 0].to_numpy(dtype="float64")[None, :]
            return Panel((("",),), y.index, values, ("series",)), [None], column
        wide = y.iloc[:, 0].unstack(level=-1)
        wide = wide.reindex(columns=wide.columns.sort_values())
        originals = list(wide.index)
        names = tuple(str(n) if n is not None else f"level_{i}" for i, n in enumerate(y.index.names[:-1]))
        keys = tuple(tuple(str(x) for x in (k if isinstance(k, tuple) else (k,))) for k in originals)
        return Panel(keys, wide.columns, wide.to_numpy(dtype="float64"), names), originals, column

    def _fit(self, y: pd.DataFrame, X: pd.DataFrame | None = None, fh: ForecastingHorizon | None = None):
        horizon = int(self.horizon)
        if fh is not None:
            rel = fh.to_relative(self.cutoff)
            if (np.asarray(rel) < 1).any():
                raise NotImplementedError("in-sample forecasts are not supported")
            horizon = max(horizon, int(np.max(rel)))
        panel, self._originals, self._column = self._to_panel(y)
        self.model_ = GlobalModel(self.config, horizon=horizon).fit(panel)
        return self

    def _forecast_arrays(self, fh: ForecastingHorizon) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
        rel = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        if (rel < 1).any():
            raise NotImplementedError("in-sample forecasts are not supported")
        if rel.max() > self.model_.horizon:
            raise ValueError(
                f"fh reaches {rel.max()} steps but the model was trained for {self.model_.horizon}; "
                "pass fh to fit or raise `horizon`"
            )
        panel, originals, _ = self._to_panel(self._y)
        point, lower, upper = self.model_.predict_arrays(panel, panel.n_times - 1)
        abs_index = fh.to_absolute_index(self.cutoff)
        if originals == [None]:
            index = abs_index
        else:
            tuples = [(*(k if isinstance(k, tuple) else (k,)), t) for k in originals for t in abs_index]
            index = pd.MultiIndex.from_tuples(tuples, names=self._y.index.names)
        return point[:, rel - 1], lower[:, rel - 1], upper[:, rel - 1], index

    def _predict(self, fh: ForecastingHorizon, X: pd.DataFrame | None = None) -> pd.DataFrame:
        point, _, _, index = self._forecast_arrays(fh)
        return pd.DataFrame({self._column: point.reshape(-1)}, index=index)

    def predict_band(self, fh: Any = None) -> pd.DataFrame:
        """The model's P10-P90 band (config ``quantiles``) for ``fh`` (default: the fit's), with
        columns ``lower`` and ``upper`` on :meth:`predict`'s index (NaN: the model has no band).

        Not sktime's ``predict_interval``: the band has the one coverage it was calibrated for.
        """
        self.check_is_fitted()
        horizon = self._check_fh(fh)
        _, lower, upper, index = self._forecast_arrays(horizon)
        return pd.DataFrame({"lower": lower.reshape(-1), "upper": upper.reshape(-1)}, index=index)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Tiny models for sktime's estimator checks (short data, few trees)."""
        small = {
            "n_estimators": 10,
            "num_leaves": 15,
            "min_child_samples": 5,
            "min_history": 2,
            "origin_stride": 1,
            "quantiles": [],
        }
        return [
            {"horizon": 4, "config": small},
            {"horizon": 2, "config": {**small, "n_estimators": 12, "level_window": 24}},
        ]
