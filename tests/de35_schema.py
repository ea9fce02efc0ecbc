"""The column names of the DE35 dataset's frames, for tests whose data is the DE35 weeks
(everything here follows from the spec; nothing is restated)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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


def short_frame(snapshot_path: Path, days: int = 10) -> pd.DataFrame:
    """The last ``days`` days of the shared DE35 weeks as a clean feature frame (MWh)."""
    raw = pd.read_parquet(snapshot_path)
    frame = pd.DataFrame(
        {
            DATETIME: pd.to_datetime(raw["HourUTC"]).dt.tz_localize("UTC"),
            "area": raw["PriceArea"].astype("string"),
            "consumer_type": raw["ConsumerType_DE35"].astype("string"),
            TARGET: raw["TotalCon"].astype("float64") / 1000.0,  # kWh -> MWh, as validated
        }
    )
    end = frame[DATETIME].max()
    frame = frame[frame[DATETIME] > end - pd.Timedelta(days=days)]
    return frame.sort_values(["area", "consumer_type", DATETIME]).reset_index(drop=True)


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
    "short_frame",
]
