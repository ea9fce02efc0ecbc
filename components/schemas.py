"""Frame columns that do not depend on the dataset; everything else follows from its spec.

A clean feature frame is ``(DATETIME, *spec.key_names, TARGET)`` (``DatasetSpec.feature_columns``);
a forecast frame is ``DatasetSpec.forecast_columns``. Code that gets a frame without its spec reads
the series keys off the frame with :func:`key_columns`. Imports no ML library.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from components.datasets.spec import DATETIME, TARGET, UNIT

__all__ = ["DATETIME", "FORECAST_VALUE_COLUMNS", "TARGET", "UNIT", "key_columns"]

FORECAST_VALUE_COLUMNS: Final = (DATETIME, "horizon", "forecast", "forecast_lower", "forecast_upper")
"""The columns of a forecast frame besides its series keys."""

NOT_KEYS: Final = frozenset(
    {DATETIME, TARGET, *FORECAST_VALUE_COLUMNS, "run_id", "observed", "n", "mape", "wape"}
)


def key_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The series-key columns among ``columns`` (a clean, forecast or monitoring frame), in order."""
    return tuple(c for c in columns if c not in NOT_KEYS)
