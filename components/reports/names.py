"""Metric names: one spelling in MLflow, in the KFP ``Metrics`` artifacts and for the API.

Training logs its backtest to MLflow as ``<measure>`` for the model and ``<measure>_<method>`` for
each baseline (``components.model.registry.log_and_register``); the ``train`` step's ``Metrics``
artifact carries the same names with the same values, read back from that MLflow run. The ``monitor``
step's names are the monitoring summary's fields, flattened. A value that is not defined (no
champion yet, no forecast with observations yet, a MAPE over zeros only) is left out, never -1.

Imports nothing: the API can import these names without any ML library.
"""

from __future__ import annotations

from typing import Final

BACKTEST_METHODS: Final = ("model", "naive_24", "naive_168")
"""The model and the two seasonal-naive baselines of the training backtest."""
ACCURACY_MEASURES: Final = ("wape", "mape", "rmse")


def backtest_metric(measure: str, method: str) -> str:
    """The MLflow/KFP name of a backtest measure of a method, e.g. ``wape`` or ``wape_naive_24``."""
    return measure if method == "model" else f"{measure}_{method}"


CHAMPION_WAPE: Final = "champion_wape"
"""Backtest WAPE of the champion before this training, re-scored on the same snapshot and origins."""
PROMOTED: Final = "promoted"
"""1 when the training moved alias ``champion`` to its version, else 0."""

BAND_MEASURES: Final = ("coverage_80", "pinball")
"""The backtest's figures of the model's P10-P90 band (the naives have none)."""

TRAIN_METRICS: Final = (
    *(backtest_metric(measure, method) for method in BACKTEST_METHODS for measure in ACCURACY_MEASURES),
    *BAND_MEASURES,
    CHAMPION_WAPE,
    PROMOTED,
)
"""``wape, mape, rmse, wape_naive_24, mape_naive_24, rmse_naive_24, wape_naive_168, mape_naive_168,
rmse_naive_168, coverage_80, pinball, champion_wape, promoted``."""

MONITOR_METRICS: Final = (
    "rolling_wape",
    "overall_wape",
    "overall_mape",
    "rolling_coverage_80",
    "overall_coverage_80",
    "rolling_pinball",
    "overall_pinball",
    "drift_psi",
    "data_age_hours",
    "needs_attention",
    "evaluated_forecast_runs",
    "evaluated_pairs",
)
"""The monitoring summary as numbers: WAPE of the most recent forecast runs, WAPE and MAPE of every
evaluated pair, the P10-P90 band's coverage and scaled pinball loss (recent runs, every pair; see
``components.accuracy``), the PSI drift of the target, hours between the scheduled time and the newest
observation, the alert flag (1/0) and how many forecast runs and pairs were evaluated."""
