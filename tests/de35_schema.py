"""The column names of the DE35 dataset's frames, for tests whose data is the DE35 weeks
(everything here follows from the spec; nothing is restated)."""

from __future__ import annotations

from components.contracts import monitoring_tables
from components.datasets import DATETIME, TARGET, get_spec
from components.schemas import FORECAST_VALUE_COLUMNS

SPEC = get_spec("ConsumptionDE35Hour")
AREA, CONSUMER_TYPE = SPEC.key_names
SERIES_KEYS = SPEC.key_names
FEATURE_COLUMNS = SPEC.feature_columns
FEATURE_DTYPES = SPEC.feature_dtypes
FORECAST_COLUMNS = SPEC.forecast_columns
MONITORING_TABLES = monitoring_tables(SERIES_KEYS)
AREAS = dict(SPEC.key(AREA).codes)
CONSUMER_TYPES = dict(SPEC.key(CONSUMER_TYPE).codes)

__all__ = [
    "AREA",
    "AREAS",
    "CONSUMER_TYPE",
    "CONSUMER_TYPES",
    "DATETIME",
    "FEATURE_COLUMNS",
    "FEATURE_DTYPES",
    "FORECAST_COLUMNS",
    "FORECAST_VALUE_COLUMNS",
    "MONITORING_TABLES",
    "SERIES_KEYS",
    "TARGET",
]
