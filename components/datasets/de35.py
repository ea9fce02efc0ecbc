"""``ConsumptionDE35Hour``: hourly consumption per price area and DE35 consumer type (the course's dataset).

Historical: the dataset stopped updating on 2023-06-30 (last hour 2023-06-30 21:00 UTC). 2 areas x
38 consumer types = 76 series, values in kWh. Source: Energinet (www.energidataservice.dk), CC BY 4.0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from components.datasets.areas import PRICE_AREA
from components.datasets.spec import DatasetSpec, SeriesKey

CONSUMER_TYPES = {
    "111": "Agriculture",
    "112": "Horticulture (greenhouses)",
    "119": "Other agriculture, forestry and fishing",
    "121": "Food, beverages and tobacco",
    "122": "Textiles, wood and paper",
    "123": "Other manufacturing",
    "130": "Mining and quarrying",
    "211": "Chemicals and pharmaceuticals",
    "212": "Plastics, glass and concrete",
    "215": "Metals and machinery",
    "220": "Electricity, gas and district heating",
    "310": "Water supply and sewerage",
    "320": "Construction",
    "330": "Wholesale trade",
    "340": "Retail trade",
    "350": "Hotels and restaurants",
    "360": "Transport and storage",
    "370": "Information and communication",
    "381": "Finance and insurance",
    "382": "Real estate",
    "390": "Business services",
    "410": "Public administration",
    "421": "Education",
    "422": "Health care",
    "431": "Social institutions",
    "432": "Culture, sport and leisure",
    "433": "Other services",
    "441": "Detached houses, electric heating",
    "442": "Detached houses, other heating",
    "443": "Terraced houses",
    "444": "Apartments",
    "445": "Holiday homes",
    "446": "Farm households",
    "447": "Other households",
    "450": "Street lighting",
    "461": "Electric vehicle charging",
    "462": "Heat pumps",
    "999": "Unclassified",
}
"""The 38 DE35 consumer-type codes with short English labels (paraphrased group names; the codes are
the contract, the labels display text only)."""

SPEC = DatasetSpec(
    name="ConsumptionDE35Hour",
    title="Consumption per price area and DE35 consumer type",
    description="Hourly electricity consumption per price area and DE35 consumer type (ended 2023-06-30).",
    time_column="HourUTC",
    local_time_column="HourDK",
    keys=(
        PRICE_AREA,
        SeriesKey(
            name="consumer_type",
            source="ConsumerType_DE35",
            title="consumer type",
            plural="consumer_types",
            codes=CONSUMER_TYPES,
            pattern=r"^[0-9]{3}$",
        ),
    ),
    value_column="TotalCon",
    source_unit="kWh",
    value_max=5_000.0,
    publication_lag=timedelta(days=9),
    feature_group="energy_consumption",
    last_hour=datetime(2023, 6, 30, 21, tzinfo=UTC),
    sample="ConsumptionDE35Hour_2022-12-21T16_2023-01-17T23.parquet",
)
