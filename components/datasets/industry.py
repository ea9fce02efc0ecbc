"""``ConsumptionDK3619IndustryHour``: national hourly consumption per DK36 industry code (live, lagged).

33 DK36 codes, private households as ``PR``; the labels come from the records' ``DK36Title``. Values
in MWh (``Consumption_MWh``). First published about 8 days after the hour, in practice 2-3 weeks of
lag, revised later. Source: Energinet (www.energidataservice.dk), CC BY 4.0.
"""

from __future__ import annotations

from datetime import timedelta

from components.datasets.spec import DatasetSpec, SeriesKey

SPEC = DatasetSpec(
    name="ConsumptionDK3619IndustryHour",
    title="Consumption per DK36 industry (national)",
    description="Hourly national electricity consumption per DK36 industry code; 2-3 weeks of lag.",
    time_column="TimeUTC",
    local_time_column="TimeDK",
    keys=(
        SeriesKey(
            name="industry",
            source="DK36Code",
            title="industry",
            plural="industries",
            pattern=r"^[A-Z0-9]{1,4}$",
            label_source="DK36Title",
            max_codes=33,
        ),
    ),
    value_column="Consumption_MWh",
    source_unit="MWh",
    value_max=10_000.0,
    publication_lag=timedelta(days=21),
    feature_group="industry_consumption",
    default_days_export=28,
)
