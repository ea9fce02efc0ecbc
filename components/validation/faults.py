"""Point faults: observations a series cannot have, found on the complete hourly grid and quarantined.

Real live data has glitches (``ElectricityBalanceNonv``: DK1 at 41,654 MWh for one hour, 0 MWh for
two). One bad point must not stop the system, so each rule below marks points, which then become
missing like any gap (``gaps``: short runs filled and flagged, long ones left missing). In order,
a point is found by the first rule that applies:

================  ===================================================================================
rule              the point is a fault when
================  ===================================================================================
null_value        the source has a record for the hour, but no value
value_range       the value is below 0 or above the spec's ``value_max``
impossible_zero   the value is 0 and the spec's series cannot be 0 (``FaultPolicy.zero_is_fault``)
stuck_value       it repeats the previous value, in a run of at least ``stuck_hours`` identical values
spike             it is ``spike_ratio`` times above both the median of
                  the same hour on the ``spike_days`` days either side and the median of the
                  ``spike_hours`` hours either side (each median leaves out the point and earlier
                  faults), and its log ratio to the first is ``spike_z`` robust units (1.4826 MAD)
                  from the series' typical one
================  ===================================================================================

Why two references: the same hour on other days alone flags normal days that differ from their
neighbours (Christmas Eve, a holiday), and the hours around alone flags the morning ramp; a glitch
is far from both, a real change of level is close to one of them. Only upward spikes count: a
low hour of a small series is normal (DE35 DK2/215 halves often), a glitch to 0 is
``impossible_zero``. The robust units keep a small,
noisy series (DE35 DK2/215, a few hundred kWh an hour) from being flagged for its normal swings.
On the real exports in ``tests/data`` the defaults flag exactly the known glitches and the nulls
(``bench/faults.py`` measures it, with the recall on injected faults).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, get_args

import numpy as np

from components.contracts import QuarantineRule

if TYPE_CHECKING:
    from components.datasets import FaultPolicy

RULES: Final[tuple[QuarantineRule, ...]] = get_args(QuarantineRule)
"""Rule of each fault code, in the order they apply: code ``i + 1`` is ``RULES[i]``; 0 is a good
point (or no record). The names are the report's (``components.contracts.QuarantineRule``)."""
CHUNK_SERIES: Final = 256
"""Series per block of the spike rule, whose neighbour stacks cost 2 * (days + hours) * the block."""


def find_faults(values: np.ndarray, present: np.ndarray, value_max: float, policy: FaultPolicy) -> np.ndarray:
    """Fault codes ``(n_series, n_times)`` (int8, see :data:`RULES`) of ``values`` on the grid.

    ``present`` says where the source had a record (a missing record is a gap, not a fault).
    """
    codes = np.zeros(values.shape, dtype=np.int8)

    def mark(rule: str, where: np.ndarray) -> None:
        codes[(codes == 0) & where] = RULES.index(rule) + 1

    with np.errstate(invalid="ignore"):
        mark("null_value", present & np.isnan(values))
        mark("value_range", (values < 0) | (values > value_max))
        if policy.zero_is_fault:
            mark("impossible_zero", values == 0)
    mark("stuck_value", _stuck(np.where(codes == 0, values, np.nan), policy.stuck_hours))
    good = np.where(codes == 0, values, np.nan)
    for first in range(0, values.shape[0], CHUNK_SERIES):
        block = slice(first, first + CHUNK_SERIES)
        mark_block = np.zeros(values.shape, dtype=bool)
        mark_block[block] = _spikes(good[block], policy)
        mark("spike", mark_block)
    return codes


def _stuck(values: np.ndarray, hours: int) -> np.ndarray:
    """The repeats in runs of at least ``hours`` identical consecutive values (the first is kept)."""
    same = np.zeros(values.shape, dtype=bool)
    same[:, 1:] = values[:, 1:] == values[:, :-1]  # NaN never equals: a gap ends a run
    out = np.zeros(values.shape, dtype=bool)
    for i, row in enumerate(same):
        padded = np.concatenate(([False], row, [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop - start + 1 >= hours:
                out[i, start:stop] = True
    return out


def _shifted(values: np.ndarray, steps: int) -> np.ndarray:
    """``values`` moved ``steps`` along time (positive: the value ``steps`` later), NaN-padded."""
    out = np.full(values.shape, np.nan)
    if steps > 0:
        out[:, :-steps] = values[:, steps:]
    else:
        out[:, -steps:] = values[:, :steps]
    return out


def _median_of(values: np.ndarray, offsets: list[int]) -> np.ndarray:
    import warnings

    stack = np.stack([_shifted(values, k) for k in offsets])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neighbourhoods give NaN: no verdict
        return np.nanmedian(stack, axis=0)


def _spikes(values: np.ndarray, policy: FaultPolicy) -> np.ndarray:
    if values.shape[1] < 2:
        return np.zeros(values.shape, dtype=bool)
    days = [24 * k for k in range(1, policy.spike_days + 1)]
    hours = list(range(1, policy.spike_hours + 1))
    daily = _median_of(values, [*days, *(-d for d in days)])
    local = _median_of(values, [*hours, *(-h for h in hours)])
    ratio = policy.spike_ratio
    with np.errstate(invalid="ignore", divide="ignore"):
        high = (values > ratio * daily) & (values > ratio * local)
        log_ratio = np.log(values / daily)
    return high & (_robust_z(log_ratio) >= policy.spike_z)


def _robust_z(x: np.ndarray) -> np.ndarray:
    """``|x - median| / (1.4826 * MAD)`` per series (row): how unusual a point is for its own series."""
    import warnings

    finite = np.where(np.isfinite(x), x, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        center = np.nanmedian(finite, axis=1, keepdims=True)
        scale = 1.4826 * np.nanmedian(np.abs(finite - center), axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(x - center) / scale
    return np.where(np.isnan(z), np.inf, z)  # no spread to compare with: the ratios decide alone
