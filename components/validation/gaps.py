"""The gap policy: missing hours inside the window, told apart by length.

A gap is a run of hours of one series without a value (no record, or a null). Runs up to the spec's
``max_gap_hours`` are bounded data-quality faults: they are filled and reported (rule
``short_gaps_filled``, severity warning). Longer runs break the contract (rule ``gap_limit``): the
run is blocked with every long gap named, because a model fed a day of invented load learns the
invention. Filling: inside a series by linear interpolation in time; at the window's edges by the
same hour one day away (a daily cycle dominates hourly load), else the nearest value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.contracts import RuleResult
from components.datasets import DATETIME, TARGET, DatasetSpec
from components.validation.results import SAMPLE_SIZE, rule

if TYPE_CHECKING:
    import pandas as pd

    from components.source.window import Window


@dataclass(frozen=True)
class Gap:
    series: tuple[str, ...]
    start: pd.Timestamp
    hours: int

    def describe(self) -> str:
        last = self.start + _hours(self.hours - 1)
        span = (
            self.start.isoformat() if self.hours == 1 else f"{self.start.isoformat()} .. {last.isoformat()}"
        )
        return f"{'/'.join(self.series)}: {span} ({self.hours} h)"

    def as_dict(self) -> dict[str, Any]:
        return {"series": list(self.series), "start": self.start.isoformat(), "hours": self.hours}


def _hours(n: int) -> pd.Timedelta:
    import pandas as pd

    return pd.Timedelta(hours=n)


def _runs(missing: Any) -> list[tuple[int, int]]:
    """``(first index, length)`` of each run of True in a boolean array."""
    import numpy as np

    padded = np.concatenate(([False], missing, [False])).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def find_and_fill(
    clean: pd.DataFrame, window: Window, spec: DatasetSpec
) -> tuple[pd.DataFrame, list[Gap], list[Gap]]:
    """``(frame on the complete grid with short gaps filled, short gaps, long gaps)``.

    Rows whose keys or hour are null, or outside the window, are left out here (other rules report them).
    """
    import numpy as np
    import pandas as pd

    keys = list(spec.key_names)
    frame = clean.dropna(subset=[DATETIME, *keys])
    frame = frame[(frame[DATETIME] >= window.start) & (frame[DATETIME] < window.end)]
    frame = frame.drop_duplicates([*keys, DATETIME], keep="last")
    grid = pd.date_range(window.start, window.end, freq="h", inclusive="left").astype("datetime64[ns, UTC]")
    if frame.empty:
        return clean.iloc[0:0].copy(), [], []
    wide = frame.pivot(index=keys, columns=DATETIME, values=TARGET).reindex(columns=grid)
    values = wide.to_numpy(dtype="float64", copy=True)
    short: list[Gap] = []
    long: list[Gap] = []
    for i, series in enumerate(wide.index):
        codes = tuple(str(c) for c in (series if isinstance(series, tuple) else (series,)))
        row = values[i]
        for first, length in _runs(np.isnan(row)):
            gap = Gap(codes, grid[first], length)
            (short if length <= spec.max_gap_hours else long).append(gap)
            if length <= spec.max_gap_hours:
                _fill(row, first, length)
    filled = pd.DataFrame(values, index=wide.index, columns=grid).stack(future_stack=True).rename(TARGET)  # type: ignore[call-overload]  # a Series
    out = filled.reset_index().rename(columns={"level_1": DATETIME, "level_2": DATETIME})
    out = out.dropna(subset=[TARGET]) if long else out
    out = out[list(spec.feature_columns)].astype(spec.feature_dtypes)
    out = out.sort_values([DATETIME, *keys], kind="stable").reset_index(drop=True)
    return out, short, long


def _fill(row: Any, first: int, length: int) -> None:
    """Fill ``row[first:first+length]`` in place (see the module docstring)."""
    import numpy as np

    n = len(row)
    before, after = first - 1, first + length
    if before >= 0 and after < n and not np.isnan(row[before]) and not np.isnan(row[after]):
        steps = np.arange(1, length + 1) / (length + 1)
        row[first:after] = row[before] + (row[after] - row[before]) * steps
        return
    for t in range(first, first + length):
        day = t - 24 if before >= 0 else t + 24
        if 0 <= day < n and not np.isnan(row[day]):
            row[t] = row[day]
        else:
            row[t] = row[before] if before >= 0 else row[after] if after < n else np.nan


def gap_rules(
    short: list[Gap], long: list[Gap], series: int, window: Window, spec: DatasetSpec
) -> list[RuleResult]:
    cells = series * window.hours
    limit = spec.max_gap_hours
    return [
        rule(
            "gap_limit",
            DATETIME,
            not long,
            check=f"no series misses more than {limit} consecutive hours of {window}",
            engine="pandas",
            unexpected_count=sum(g.hours for g in long),
            element_count=cells,
            sample_values=[g.describe() for g in long[:SAMPLE_SIZE]],
            observed={"long_gaps": [g.as_dict() for g in long]},
        ),
        rule(
            "short_gaps_filled",
            TARGET,
            not short,
            severity="warning",
            check=f"gaps of at most {limit} h are filled (interpolated) and flagged",
            engine="pandas",
            unexpected_count=sum(g.hours for g in short),
            element_count=cells,
            sample_values=[g.describe() for g in short[:SAMPLE_SIZE]],
            observed={"filled": [g.as_dict() for g in short]},
        ),
    ]
