"""``ElectricityBalanceNonv``: total load per price area, non-validated, near real time (live).

The target is ``TotalLoad`` (MWh) per ``PriceArea``: 2 series. The dataset also carries production
and exchange columns, which the system does not read (the API is asked for the needed columns only).
Source: Energinet (www.energidataservice.dk), CC BY 4.0.
"""

from __future__ import annotations

from datetime import timedelta

from components.datasets.areas import PRICE_AREA
from components.datasets.spec import DatasetSpec

SPEC = DatasetSpec(
    name="ElectricityBalanceNonv",
    title="Total load per price area (non-validated, near real time)",
    description="Hourly total load per price area from online measurements, published within hours.",
    time_column="HourUTC",
    local_time_column="HourDK",
    keys=(PRICE_AREA,),
    value_column="TotalLoad",
    source_unit="MWh",
    value_max=10_000.0,
    publication_lag=timedelta(hours=3),
    feature_group="total_load",
    max_gap_hours=3,
    default_days_export=182,  # chosen by backtest, see the README (Training window)
)
