"""Frame schemas and the code lists of the data contract. Imports no ML library."""

from __future__ import annotations

from typing import Final

DATETIME: Final = "datetime_utc"
AREA: Final = "area"
CONSUMER_TYPE: Final = "consumer_type"
TARGET: Final = "energy_consumption"

SERIES_KEYS: Final = (AREA, CONSUMER_TYPE)
FEATURE_COLUMNS: Final = (DATETIME, AREA, CONSUMER_TYPE, TARGET)
"""Columns of a clean feature frame, in order: UTC hour, price area, DE35 code, kWh."""

FEATURE_DTYPES: Final = {
    DATETIME: "datetime64[ns, UTC]",
    AREA: "string",
    CONSUMER_TYPE: "string",
    TARGET: "float64",
}

RAW_COLUMNS: Final = ("HourUTC", "HourDK", "PriceArea", "ConsumerType_DE35", "TotalCon")
"""Columns of a ConsumptionDE35Hour record as the Energi Data Service API returns it."""

AREAS: Final = {"DK1": "West Denmark", "DK2": "East Denmark"}

CONSUMER_TYPES: Final = {
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
"""The 38 DE35 consumer-type codes of ConsumptionDE35Hour with short English labels.

The codes are the contract; the labels are display text only (paraphrased group names).
"""

FORECAST_COLUMNS: Final = (
    AREA,
    CONSUMER_TYPE,
    DATETIME,
    "horizon",
    "forecast",
    "forecast_lower",
    "forecast_upper",
)
"""Columns of `forecasts/runs/<hour>/forecast.parquet`; lower/upper are NaN when the model has no band."""


def series_label(area: str, consumer_type: str) -> str:
    """A readable name of one series, e.g. ``DK1 West Denmark / 111 Agriculture``."""
    return f"{area} {AREAS.get(area, '?')} / {consumer_type} {CONSUMER_TYPES.get(consumer_type, '?')}"
