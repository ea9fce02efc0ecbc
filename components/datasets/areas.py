"""The price areas of Denmark, a series key shared by several datasets."""

from __future__ import annotations

from components.datasets.spec import SeriesKey

PRICE_AREA = SeriesKey(
    name="area",
    source="PriceArea",
    title="price area",
    plural="areas",
    codes={"DK1": "West Denmark", "DK2": "East Denmark"},
    pattern=r"^DK[12]$",
)
