"""The declarative description of one Energi Data Service dataset: what a spec says and what follows.

Everything downstream — the raw record model, the data contract, the clean frame's columns, the
forecast's columns, the API's routes and the dashboard's selectors — is derived from a
:class:`DatasetSpec`; no other module names a dataset's columns. Imports no ML library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

DATETIME: Final = "datetime_utc"
"""Clean-frame column of the hour (start of the hour, UTC)."""
TARGET: Final = "energy_consumption"
"""Clean-frame column of the value, in :data:`UNIT`."""
UNIT: Final = "MWh"
"""The one unit the feature store, the API and the dashboard use."""
UNIT_FACTORS: Final = {"kWh": 0.001, "MWh": 1.0}
"""Multiply a value in the source unit by this to get :data:`UNIT`."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class SeriesKey:
    """One column that identifies a series, e.g. the price area.

    ``codes`` is the closed set of valid codes with their labels; when it is empty the set is open
    (codes must match ``pattern``) and labels come from the record column ``label_source``.
    """

    name: str
    """Clean-frame column, API path parameter and label key, e.g. ``area``."""
    source: str
    """Raw record column, e.g. ``PriceArea``."""
    title: str
    """Human name, e.g. ``price area``."""
    plural: str
    """Query parameter and code-list route, e.g. ``areas``."""
    codes: Mapping[str, str] = field(default_factory=dict)
    pattern: str = r"^[A-Za-z0-9_-]{1,16}$"
    label_source: str | None = None
    max_codes: int = 100

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or not _NAME.match(self.plural.replace("-", "_")):
            raise ValueError(f"series key {self.name!r}/{self.plural!r}: use lower-case identifiers")
        re.compile(self.pattern)
        bad = [code for code in self.codes if not re.fullmatch(self.pattern, code)]
        if bad:
            raise ValueError(f"series key {self.name}: codes {bad} do not match {self.pattern}")

    @property
    def closed(self) -> bool:
        return bool(self.codes)

    @property
    def route(self) -> str:
        """The code-list route, e.g. ``/areas`` or ``/consumer-types``."""
        return "/" + self.plural.replace("_", "-")

    def label(self, code: str, learned: Mapping[str, str] | None = None) -> str:
        """``code label`` when a label is known, else the code."""
        text = self.codes.get(code) or (learned or {}).get(code)
        return f"{code} {text}" if text else code


@dataclass(frozen=True)
class FaultPolicy:
    """How the validate step tells bad points from bad data (see ``components.validation.faults``).

    Point faults are quarantined (made missing) and the run goes on; the run fails only when more
    than ``max_bad_share`` of the observed span is bad or missing, or no series has an observed value
    in the window's last ``recent_hours``. The defaults were chosen on the real exports in
    ``tests/data`` (DE35 weeks with Christmas, the 2019 and 2024 ``ElectricityBalanceNonv`` exports):
    with them, nothing but the exports' real glitches is flagged.
    """

    spike_ratio: float = 2.0
    """A spike is at least this many times above *both* references: the median
    of the same hour on the ``spike_days`` days either side, and the median of the ``spike_hours``
    hours either side. The daily reference keeps normal ramps, the local one real level shifts and
    holidays (a whole day low) from being flagged."""
    spike_days: int = 7
    spike_hours: int = 3
    spike_z: float = 4.0
    """... and its log ratio to the same-hour median is this many robust units (1.4826 MAD of the
    series' log ratios) from the series' median: a noisy series' normal swings are not spikes."""
    stuck_hours: int = 4
    """A run of at least this many identical values is a stuck meter: all but its first are faults."""
    zero_is_fault: bool = True
    """The series cannot be 0 (a price area or a consumer group always consumes something)."""
    max_bad_share: float = 0.02
    recent_hours: int = 24

    def __post_init__(self) -> None:
        if (
            self.spike_ratio <= 1.0
            or self.spike_z < 0
            or min(self.spike_days, self.spike_hours) < 1
            or self.stuck_hours < 2
        ):
            raise ValueError(f"invalid fault policy {self}")
        if not 0.0 <= self.max_bad_share < 1.0 or self.recent_hours < 1:
            raise ValueError(f"invalid fault policy {self}")


@dataclass(frozen=True)
class DatasetSpec:
    """One supported Energi Data Service dataset."""

    name: str
    """API dataset name, e.g. ``ElectricityBalanceNonv``."""
    title: str
    time_column: Literal["HourUTC", "TimeUTC"]
    keys: tuple[SeriesKey, ...]
    value_column: str
    source_unit: Literal["kWh", "MWh"]
    value_max: float
    """Largest plausible value of one series in one hour, in :data:`UNIT` (above it: quarantined)."""
    publication_lag: timedelta
    """Typical time from an hour to its publication; data older than twice this is stale."""
    feature_group: str
    local_time_column: str | None = None
    resolution: Literal["PT1H", "PT15M"] = "PT1H"
    max_gap_hours: int = 3
    """Runs of missing hours up to this long are filled and flagged; longer ones stay missing."""
    faults: FaultPolicy = field(default_factory=FaultPolicy)
    default_days_export: int = 21
    last_hour: datetime | None = None
    """The last hour of a dataset that no longer updates (None: live)."""
    description: str = ""
    sample: str | None = None
    """File name under ``components/datasets/samples`` of the real sample shipped for offline runs."""

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError(f"dataset {self.name}: at least one series key")
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names) or {DATETIME, TARGET} & set(names):
            raise ValueError(f"dataset {self.name}: key names {names} must be unique and not reserved")
        if not re.fullmatch(r"[a-z0-9_]+", self.feature_group):
            raise ValueError(f"dataset {self.name}: invalid feature group {self.feature_group!r}")
        if self.max_gap_hours < 0 or self.value_max <= 0:
            raise ValueError(f"dataset {self.name}: max_gap_hours >= 0 and value_max > 0")

    # --- what follows from the spec ---------------------------------------------------------
    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """The record columns the system reads (others are ignored)."""
        labels = tuple(k.label_source for k in self.keys if k.label_source)
        local = (self.local_time_column,) if self.local_time_column else ()
        return (self.time_column, *local, *(k.source for k in self.keys), *labels, self.value_column)

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """Columns of a clean feature frame, in order: the hour, the series keys, the value."""
        return (DATETIME, *self.key_names, TARGET)

    @property
    def feature_dtypes(self) -> dict[str, str]:
        return {DATETIME: "datetime64[ns, UTC]", **dict.fromkeys(self.key_names, "string"), TARGET: "float64"}

    @property
    def forecast_columns(self) -> tuple[str, ...]:
        """Columns of ``forecast.parquet``; lower/upper are NaN when the model has no band."""
        return (*self.key_names, DATETIME, "horizon", "forecast", "forecast_lower", "forecast_upper")

    @property
    def unit_factor(self) -> float:
        return UNIT_FACTORS[self.source_unit]

    @property
    def is_live(self) -> bool:
        return self.last_hour is None

    @property
    def max_series(self) -> int:
        count = 1
        for key in self.keys:
            count *= len(key.codes) if key.closed else key.max_codes
        return count

    def key(self, name: str) -> SeriesKey:
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(f"dataset {self.name} has no series key {name!r} (keys: {list(self.key_names)})")

    def series_label(
        self, codes: tuple[str, ...], learned: Mapping[str, Mapping[str, str]] | None = None
    ) -> str:
        """A readable name of one series, e.g. ``DK1 West Denmark / 111 Agriculture``."""
        learned = learned or {}
        return " / ".join(k.label(c, learned.get(k.name)) for k, c in zip(self.keys, codes, strict=True))
