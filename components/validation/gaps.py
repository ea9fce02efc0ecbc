"""The gap policy: missing hours inside the window, told apart by length.

A gap is a run of hours of one series without a value: no record, a null, or a point quarantined
as a fault (``faults``). Runs up to the spec's ``max_gap_hours`` are filled and reported (rule
``short_gaps_filled``, severity warning). Longer runs stay missing (rule ``long_gaps_skipped``,
a warning): a model fed a day of invented load learns the invention, so training, backtest and
monitoring skip those hours instead. The run fails only when the missing and quarantined hours
exceed the spec's share (rule ``bad_share``) or no series has recent data (rule ``recent_data``).
Hours before a series' first record are not gaps: the series had not started. Filling: inside a
series by linear interpolation in time; at the window's edges by the same hour one day away (a
daily cycle dominates hourly load), else the nearest value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.contracts import QuarantinedPoint, RuleResult
from components.datasets import DATETIME, TARGET, DatasetSpec
from components.validation.faults import RULES, find_faults
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


@dataclass(frozen=True)
class Grid:
    """The validate step's view of the window: every series on the complete hourly grid.

    ``frame`` has the clean feature columns: quarantined points and gaps of at most
    ``max_gap_hours`` filled, longer gaps left out (no row). ``bad_cells`` counts the hours that were
    missing or quarantined inside each series' span (its first record to the window's end), out of
    ``span_cells``; ``recent_series`` is how many series have an observed value in the window's
    last ``FaultPolicy.recent_hours``.
    """

    frame: pd.DataFrame
    short: list[Gap]
    long: list[Gap]
    quarantined: list[QuarantinedPoint]
    bad_cells: int = 0
    span_cells: int = 0
    recent_series: int = 0


def find_and_fill(clean: pd.DataFrame, window: Window, spec: DatasetSpec) -> Grid:
    """Quarantine point faults (``faults``), then fill short gaps and name the long ones.

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
        return Grid(clean.iloc[0:0].copy(), [], [], [])
    wide = frame.pivot(index=keys, columns=DATETIME, values=TARGET).reindex(columns=grid)
    source = wide.to_numpy(dtype="float64", copy=True)
    present = frame.assign(_present=True).pivot(index=keys, columns=DATETIME, values="_present")
    present_cells = present.reindex(index=wide.index, columns=grid).notna().to_numpy()
    codes = find_faults(source, present_cells, spec.value_max, spec.faults)
    values = np.where(codes > 0, np.nan, source)
    observed = ~np.isnan(values)
    first_record = np.where(present_cells.any(axis=1), present_cells.argmax(axis=1), len(grid))
    span = np.arange(len(grid))[None, :] >= first_record[:, None]
    recent = observed[:, max(0, len(grid) - spec.faults.recent_hours) :].any(axis=1)
    short: list[Gap] = []
    long: list[Gap] = []
    series_codes = [tuple(str(c) for c in (s if isinstance(s, tuple) else (s,))) for s in wide.index]
    for i, codes_i in enumerate(series_codes):
        row = values[i]
        for first, length in _runs(np.isnan(row)):
            if first + length <= first_record[i]:
                continue  # before the series' first record: not a gap, the series had not started
            gap = Gap(codes_i, grid[first], length)
            (short if length <= spec.max_gap_hours else long).append(gap)
            if length <= spec.max_gap_hours:
                _fill(row, first, length)
    quarantined = [
        QuarantinedPoint(
            series=list(series_codes[i]),
            hour=grid[t].to_pydatetime(),
            value=None if np.isnan(source[i, t]) else float(source[i, t]),
            rule=RULES[codes[i, t] - 1],
            replacement=None if np.isnan(values[i, t]) else float(values[i, t]),
        )
        for i, t in zip(*np.nonzero(codes), strict=True)
    ]
    filled = pd.DataFrame(values, index=wide.index, columns=grid).stack(future_stack=True).rename(TARGET)  # type: ignore[call-overload]  # a Series
    out = filled.reset_index().rename(columns={"level_1": DATETIME, "level_2": DATETIME})
    out = out.dropna(subset=[TARGET])
    out = out[list(spec.feature_columns)].astype(spec.feature_dtypes)
    out = out.sort_values([DATETIME, *keys], kind="stable").reset_index(drop=True)
    return Grid(
        out,
        short,
        long,
        quarantined,
        bad_cells=int((~observed & span).sum()),
        span_cells=int(span.sum()),
        recent_series=int(recent.sum()),
    )


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


def gap_rules(grid: Grid, series: int, window: Window, spec: DatasetSpec) -> list[RuleResult]:
    """The fault policy's rules: one warning per quarantine rule and for filled and long gaps; the
    run fails only on too large a bad share or on no recent data (see ``FaultPolicy``)."""
    cells = series * window.hours
    limit = spec.max_gap_hours
    policy = spec.faults
    share = grid.bad_cells / grid.span_cells if grid.span_cells else 0.0
    rules = [
        rule(
            name,
            TARGET,
            not found,
            severity="warning",
            check=f"quarantine: {QUARANTINE_CHECKS[name]}",
            engine="pandas",
            unexpected_count=len(found),
            element_count=cells,
            sample_values=[_point(p) for p in found[:SAMPLE_SIZE]],
        )
        for name in RULES
        for found in [[p for p in grid.quarantined if p.rule == name]]
    ]
    return [
        *rules,
        _gap_rule(
            "short_gaps_filled",
            TARGET,
            grid.short,
            cells,
            f"gaps of at most {limit} h are filled (interpolated) and flagged",
            "filled",
        ),
        _gap_rule(
            "long_gaps_skipped",
            DATETIME,
            grid.long,
            cells,
            f"gaps longer than {limit} h stay missing: no target, lag or actual inside them",
            "long_gaps",
        ),
        rule(
            "bad_share",
            TARGET,
            share <= policy.max_bad_share,
            check=f"at most {policy.max_bad_share:.1%} of the hours (from each series' first record) "
            "are missing or quarantined",
            engine="pandas",
            unexpected_count=grid.bad_cells if share > policy.max_bad_share else 0,
            element_count=grid.span_cells,
            observed={"share": round(share, 6), "bad_hours": grid.bad_cells},
        ),
        rule(
            "recent_data",
            DATETIME,
            grid.recent_series > 0 or series == 0,
            check=f"a series has an observed value in the window's last {policy.recent_hours} h",
            engine="pandas",
            unexpected_count=0 if grid.recent_series or series == 0 else series,
            element_count=series,
            observed={"series_with_recent_data": grid.recent_series},
        ),
    ]


def _gap_rule(name: str, column: str, gaps: list[Gap], cells: int, check: str, key: str) -> RuleResult:
    """A warning rule listing runs of missing hours (``observed[key]`` has them all)."""
    return rule(
        name,
        column,
        not gaps,
        severity="warning",
        check=check,
        engine="pandas",
        unexpected_count=sum(g.hours for g in gaps),
        element_count=cells,
        sample_values=[g.describe() for g in gaps[:SAMPLE_SIZE]],
        observed={key: [g.as_dict() for g in gaps]},
    )


QUARANTINE_CHECKS = {
    "null_value": "a record without a value",
    "value_range": "below 0 or above the spec's value_max",
    "impossible_zero": "0 where the series cannot be 0",
    "stuck_value": "a repeat in a run of identical values (a stuck meter)",
    "spike": "far from both the same hour on nearby days and the hours around it",
}


def _point(point: QuarantinedPoint) -> str:
    kept = "missing" if point.replacement is None else f"filled {point.replacement:.6g}"
    value = "null" if point.value is None else f"{point.value:.6g}"
    return f"{'/'.join(point.series)} {point.hour.isoformat()}: {value} -> {kept}"
