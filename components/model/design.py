"""Vectorised feature building for the global direct multi-horizon model.

A long feature frame ``(datetime_utc, *keys, energy_consumption)`` (any dataset's series keys, read
off the frame with :func:`components.schemas.key_columns`) becomes a :class:`Panel`: one float array
``values[series, time]`` on a complete regular time grid, the series named by key tuples.
Features for every (series, origin, horizon) triple are then computed with numpy indexing over all
series at once; nothing on this path loops over series in Python.

Everything a row sees is observed at or before its origin (the last observed step): the
target-hour features are lags of *the same hour* on the latest day/week that is already known.

Beside the features, :func:`build_design` returns for every row a *seasonal prior* (see
:func:`seasonal_prior`): the same hour on the latest known same weekday of the same holiday level,
scaled by a damped level change. The model blends its own forecast with it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from components import schemas

log = logging.getLogger(__name__)

DAY = 24
WEEK = 168
LOCAL_TZ = "Europe/Copenhagen"

ORIGIN_LAGS = (0, 1, 2, 3, 23, 24, 168)
KEY_FEATURE_PREFIX = "key_"
"""The categorical feature of series key ``area`` is ``key_area`` (one per key column)."""
BASE_FEATURE_NAMES: tuple[str, ...] = (
    "horizon",
    # origin state, relative to the level
    *(f"lag_{k}" for k in ORIGIN_LAGS),
    "mean_24",
    "mean_24_prev",
    "mean_24_w1",
    "mean_168",
    "std_24",
    "log_level",
    # the target hour seen on earlier days/weeks, relative to the level
    "same_hour_d1",
    "same_hour_d2",
    "same_hour_w1",
    "same_hour_w2",
    "same_hour_mean7",
    "prior",
    # calendar (Danish local time) of the target hour and of the days its lags come from
    "hour",
    "dayofweek",
    "origin_hour",
    "holiday",
    "holiday_d1",
    "holiday_d2",
    "holiday_w1",
    "holiday_w2",
)
"""The features every dataset has; the series-key codes come before them (:func:`feature_names`)."""


def feature_names(key_names: tuple[str, ...]) -> tuple[str, ...]:
    """All feature columns of a design: one categorical code per series key, then the base features."""
    return (*(KEY_FEATURE_PREFIX + k for k in key_names), *BASE_FEATURE_NAMES)


class FrameError(ValueError):
    """An input frame does not meet the feature-frame contract; the message says what and where."""


@dataclass(frozen=True)
class Panel:
    """All series on one regular time grid: ``values[i, t]`` is series ``keys[i]`` at ``times[t]``.

    ``keys[i]`` is a tuple of codes, one per column of ``key_names`` (any number, at least one);
    ``key_names`` defaults to ``key_0, key_1, ...`` when not given.
    """

    keys: tuple[tuple[str, ...], ...]
    times: pd.Index
    values: np.ndarray
    key_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        width = {len(k) for k in self.keys}
        if len(width) > 1 or 0 in width:
            raise FrameError(
                f"panel keys must be non-empty tuples of one length, got lengths {sorted(width)}"
            )
        if not self.key_names:
            object.__setattr__(
                self, "key_names", tuple(f"key_{i}" for i in range(width.pop() if width else 1))
            )
        elif width and len(self.key_names) != next(iter(width)):
            raise FrameError(f"panel key names {self.key_names} do not match keys of length {width.pop()}")

    def with_values(self, values: np.ndarray, times: pd.Index | None = None) -> Panel:
        """The same series (keys and key names) with other values (and times)."""
        return Panel(self.keys, self.times if times is None else times, values, self.key_names)

    @property
    def n_series(self) -> int:
        return len(self.keys)

    @property
    def n_times(self) -> int:
        return len(self.times)


def panel_from_long(
    frame: pd.DataFrame, where: str = "feature frame", key_names: tuple[str, ...] | None = None
) -> Panel:
    """Pivot a long feature frame onto a complete hourly UTC grid (missing hours become NaN).

    The series keys are ``key_names`` when given (a fitted model passes its own), else every column
    of the frame besides the hour and the value (:func:`components.schemas.key_columns`).
    """
    if not isinstance(frame, pd.DataFrame):
        raise FrameError(f"{where}: expected a pandas DataFrame, got {type(frame).__name__}")
    keys = tuple(key_names) if key_names is not None else schemas.key_columns(frame.columns)
    if not keys:
        raise FrameError(
            f"{where}: no series-key column besides {schemas.DATETIME!r} and {schemas.TARGET!r}; "
            f"got {list(frame.columns)}"
        )
    missing = [c for c in (schemas.DATETIME, *keys, schemas.TARGET) if c not in frame.columns]
    if missing:
        raise FrameError(f"{where}: missing columns {missing}; got {list(frame.columns)}")
    if frame.empty:
        raise FrameError(f"{where}: no rows")
    times = pd.to_datetime(frame[schemas.DATETIME])
    if getattr(times.dt, "tz", None) is None:
        raise FrameError(f"{where}: column {schemas.DATETIME!r} must be timezone-aware (UTC)")
    times = times.dt.tz_convert("UTC")
    if times.isna().any():
        raise FrameError(f"{where}: column {schemas.DATETIME!r} has missing timestamps")
    if (times != times.dt.floor("h")).any():
        raise FrameError(f"{where}: column {schemas.DATETIME!r} has timestamps that are not whole hours")
    target = pd.to_numeric(frame[schemas.TARGET], errors="coerce").astype("float64")
    if target.isna().sum() > frame[schemas.TARGET].isna().sum():
        raise FrameError(f"{where}: column {schemas.TARGET!r} has non-numeric values")
    for key in keys:
        if frame[key].isna().any():
            raise FrameError(f"{where}: series-key column {key!r} has missing values")
    long = pd.DataFrame(
        {
            **{key: frame[key].astype(str).to_numpy() for key in keys},
            schemas.DATETIME: times.to_numpy(),
            schemas.TARGET: target.to_numpy(),
        }
    )
    if long.duplicated([*keys, schemas.DATETIME]).any():
        raise FrameError(f"{where}: duplicate ({', '.join(keys)}, {schemas.DATETIME}) keys")
    grid = pd.date_range(long[schemas.DATETIME].min(), long[schemas.DATETIME].max(), freq="h", tz="UTC")
    wide = long.pivot(index=list(keys), columns=schemas.DATETIME, values=schemas.TARGET)
    wide = wide.reindex(columns=grid)
    index = [k if isinstance(k, tuple) else (k,) for k in wide.index]
    return Panel(
        keys=tuple(tuple(str(c) for c in k) for k in index),
        times=grid,
        values=wide.to_numpy(dtype="float64"),
        key_names=keys,
    )


def panel_to_long(panel: Panel) -> pd.DataFrame:
    """The inverse of :func:`panel_from_long` (NaN cells dropped)."""
    n_s, n_t = panel.values.shape
    frame = pd.DataFrame(
        {
            schemas.DATETIME: np.tile(np.asarray(panel.times), n_s),
            **{name: np.repeat([k[i] for k in panel.keys], n_t) for i, name in enumerate(panel.key_names)},
            schemas.TARGET: panel.values.reshape(-1),
        }
    )
    return frame.dropna(subset=[schemas.TARGET]).reset_index(drop=True)


def _rolling_mean_std(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware trailing mean and std over ``window`` steps ending at (and including) each step."""
    valid = ~np.isnan(values)
    x = np.where(valid, values, 0.0)
    pad = np.zeros((values.shape[0], 1))
    c1 = np.concatenate([pad, np.cumsum(x, axis=1)], axis=1)
    c2 = np.concatenate([pad, np.cumsum(x * x, axis=1)], axis=1)
    cn = np.concatenate([pad, np.cumsum(valid, axis=1)], axis=1)
    end = np.arange(1, values.shape[1] + 1)
    start = np.maximum(end - window, 0)
    n = cn[:, end] - cn[:, start]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (c1[:, end] - c1[:, start]) / n
        var = (c2[:, end] - c2[:, start]) / n - mean * mean
    return mean, np.sqrt(np.clip(var, 0.0, None))


@lru_cache(maxsize=8)
def _holiday_dates(years: tuple[int, ...]) -> frozenset[object]:
    import holidays

    return frozenset(holidays.country_holidays("DK", years=list(years)).keys())


@dataclass(frozen=True)
class Calendar:
    """Calendar columns of every step of a time grid (Danish local time)."""

    hour: np.ndarray
    dayofweek: np.ndarray
    holiday: np.ndarray


def calendar(times: pd.Index, extra_steps: int) -> Calendar:
    """Local hour, day of week and DK public-holiday flag for ``times`` extended by ``extra_steps``.

    Works for any index type: calendar columns are NaN when the index carries no dates.
    """
    n = len(times) + extra_steps
    if isinstance(times, pd.PeriodIndex):
        times = times.to_timestamp()
    if isinstance(times, pd.DatetimeIndex) and len(times) >= 1:
        freq = times.freq or (pd.infer_freq(times) if len(times) >= 3 else None)
        step = pd.tseries.frequencies.to_offset(freq) if freq else pd.Timedelta(hours=1)
        full = pd.date_range(times[0], periods=n, freq=step)
        local = full.tz_localize("UTC").tz_convert(LOCAL_TZ) if full.tz is None else full.tz_convert(LOCAL_TZ)
        dates = local.date
        years = tuple(sorted({int(y) for y in local.year}))
        hol = _holiday_dates(years)
        public = np.fromiter((d in hol for d in dates), dtype=bool, count=n)
        # 2: a public holiday, or Christmas Eve / New Year's Eve (not public holidays, but they
        # behave like them); 1: the Christmas school-holiday weeks (23 Dec .. 2 Jan); 0: other days
        md = local.month * 100 + local.day
        public |= np.isin(md, (1224, 1231))
        season = (md >= 1223) | (md <= 102)
        level = np.where(public, 2.0, np.where(season, 1.0, 0.0))
        return Calendar(
            hour=local.hour.to_numpy(dtype="float64"),
            dayofweek=local.dayofweek.to_numpy(dtype="float64"),
            holiday=level,
        )
    nan = np.full(n, np.nan)
    return Calendar(hour=nan, dayofweek=nan, holiday=nan)


Categories = tuple[tuple[str, ...], ...]
"""Per series-key column, the sorted codes a model was fitted on (code ``i`` is position ``i``)."""


def learn_categories(panel: Panel) -> Categories:
    """The codes of each key column of ``panel``, sorted: stable whatever the order of the rows."""
    return tuple(tuple(sorted({k[i] for k in panel.keys})) for i in range(len(panel.key_names)))


def category_codes(panel: Panel, categories: Categories | None = None) -> np.ndarray:
    """``(n_series, n_keys)`` float codes of each series' key codes in ``categories``.

    ``categories`` are those learned at fit time (:func:`learn_categories`; default: the panel's
    own). A code not seen at fit time gets NaN, which LightGBM treats as a missing category (the
    series is still forecast, from its own history and the shared trees).
    """
    categories = learn_categories(panel) if categories is None else categories
    if len(categories) != len(panel.key_names):
        raise FrameError(f"{len(categories)} category lists for keys {panel.key_names}")
    lookups = [{code: float(i) for i, code in enumerate(codes)} for codes in categories]
    codes = np.array(
        [[lookup.get(code, np.nan) for lookup, code in zip(lookups, key, strict=True)] for key in panel.keys],
        dtype="float64",
    )
    return codes.reshape(panel.n_series, len(categories))


PRIOR_WEEKS = 3
"""How many weeks back :func:`seasonal_prior` looks for a same weekday of the same holiday level."""
PRIOR_DAMPING = 0.5
"""The seasonal prior follows the level change over its weeks to this power (0: not at all, 1: fully)."""
PRIOR_MAX_CHANGE = 2.0
"""... and that level change is clipped to [1 / this, this]."""


def prior_weeks(cal: Calendar, target: np.ndarray, horizon_weeks: np.ndarray) -> np.ndarray:
    """Weeks back from each target step to the day its seasonal prior copies, shaped like ``target``.

    The latest already-known same weekday (``horizon_weeks`` ``(H,)`` is the first known week
    back, ``ceil(h / 168)``) whose holiday level equals the target day's, searching
    :data:`PRIOR_WEEKS` weeks; failing that, the first known week. So the week after Christmas
    is forecast from the last normal week, not from the holidays. Reads only the calendar.
    """
    k = horizon_weeks[None, :, None] + np.arange(PRIOR_WEEKS)[None, None, :]  # (1, H, K)
    idx = target[:, :, None] - WEEK * k
    safe = np.clip(idx, 0, None)
    match = (idx >= 0) & (cal.holiday[safe] == cal.holiday[target][:, :, None])
    first = np.broadcast_to(horizon_weeks[None, :], target.shape)
    return np.where(match.any(axis=2), first + match.argmax(axis=2), first)


@dataclass(frozen=True)
class Design:
    """Feature matrix rows for (series, origin, horizon) triples, with the level to undo scaling
    and the seasonal prior (absolute units)."""

    X: np.ndarray
    level: np.ndarray
    prior: np.ndarray
    series: np.ndarray
    origin: np.ndarray
    horizon: np.ndarray


def seasonal_prior(
    mean24: np.ndarray,
    origins: np.ndarray,
    target: np.ndarray,
    weeks: np.ndarray,
    at: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``(S, O, H)``: the same hour ``weeks`` weeks back, times the damped level change since then.

    The level change is the mean of the 24 h up to the origin over the mean of the 24 h up to the
    origin ``weeks`` weeks earlier, raised to :data:`PRIOR_DAMPING` and clipped: a seasonal naive
    that follows part of a level shift (a cold spell, the end of the holidays) without copying a
    single day's noise. Reads only steps at or before the origin.
    """
    then = origins[:, None] - WEEK * weeks  # (O, H)
    before = np.where(then >= 0, mean24[:, np.clip(then, 0, None)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        change = mean24[:, origins][:, :, None] / before
    change = np.where(np.isfinite(change) & (change > 0), change, 1.0)
    change = np.clip(change, 1.0 / PRIOR_MAX_CHANGE, PRIOR_MAX_CHANGE) ** PRIOR_DAMPING
    return at(target - WEEK * weeks) * change


def build_design(
    panel: Panel,
    origins: np.ndarray,
    horizon: int,
    level_window: int,
    cal: Calendar | None = None,
    codes: np.ndarray | None = None,
) -> Design:
    """Features of every series x origin x horizon 1..``horizon`` (origins are time indices).

    The columns are :func:`feature_names` of the panel's key names; ``codes`` are the series'
    category codes (:func:`category_codes`, default: from the panel's own keys). Only values at
    time index <= origin are read, whatever the origin.
    """
    values = panel.values
    n_s, n_t = values.shape
    origins = np.asarray(origins, dtype=np.int64)
    if origins.size and (origins.min() < 0 or origins.max() >= n_t):
        raise FrameError(f"origins must lie in [0, {n_t}), got {origins.min()}..{origins.max()}")
    if cal is None:
        cal = calendar(panel.times, horizon)
    n_o = origins.size
    hs = np.arange(1, horizon + 1)

    def at(idx: np.ndarray) -> np.ndarray:
        """values[s, idx] with NaN where idx < 0 (idx shaped (n_o,) or (n_o, H))."""
        safe = np.clip(idx, 0, n_t - 1)
        out = values[:, safe]
        return np.where(idx >= 0, out, np.nan)

    mean24, std24 = _rolling_mean_std(values, DAY)
    mean168, _ = _rolling_mean_std(values, WEEK)
    level_all = mean168 if level_window == WEEK else mean24
    level = level_all[:, origins]  # (S, O)
    expanding, _ = _rolling_mean_std(np.abs(values), n_t)  # only the past: no leakage in the fallback
    level = np.where(np.isfinite(level) & (level > 0), level, expanding[:, origins])
    level = np.where(np.isfinite(level) & (level > 0), level, 1.0)

    cols: dict[str, np.ndarray] = {}
    shape3 = (n_s, n_o, horizon)

    def per_origin(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a[:, :, None], shape3)

    codes = category_codes(panel) if codes is None else codes
    for j, name in enumerate(panel.key_names):
        cols[KEY_FEATURE_PREFIX + name] = np.broadcast_to(codes[:, j, None, None], shape3)
    cols["horizon"] = np.broadcast_to(hs[None, None, :].astype("float64"), shape3)
    for k in ORIGIN_LAGS:
        cols[f"lag_{k}"] = per_origin(at(origins - k) / level)
    cols["mean_24"] = per_origin(mean24[:, origins] / level)
    prev = origins - DAY
    cols["mean_24_prev"] = per_origin(np.where(prev >= 0, mean24[:, np.clip(prev, 0, None)], np.nan) / level)
    week = origins - WEEK
    cols["mean_24_w1"] = per_origin(np.where(week >= 0, mean24[:, np.clip(week, 0, None)], np.nan) / level)
    cols["mean_168"] = per_origin(mean168[:, origins] / level)
    cols["std_24"] = per_origin(std24[:, origins] / level)
    cols["log_level"] = per_origin(np.log(level))

    target = origins[:, None] + hs[None, :]  # (O, H)
    days_back = -(-hs // DAY)  # ceil(h / 24): the latest day whose same hour is known
    weeks_back = -(-hs // WEEK)
    d1 = target - DAY * days_back[None, :]
    w1 = target - WEEK * weeks_back[None, :]
    lvl3 = level[:, :, None]
    cols["same_hour_d1"] = at(d1) / lvl3
    cols["same_hour_d2"] = at(d1 - DAY) / lvl3
    cols["same_hour_w1"] = at(w1) / lvl3
    cols["same_hour_w2"] = at(w1 - WEEK) / lvl3
    stack = np.stack([at(d1 - DAY * k) for k in range(7)], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cols["same_hour_mean7"] = np.nanmean(stack, axis=0) / lvl3

    def cal_at(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.where(idx >= 0, a[np.clip(idx, 0, None)], np.nan)[None], shape3)

    cols["hour"] = cal_at(cal.hour, target)
    cols["dayofweek"] = cal_at(cal.dayofweek, target)
    cols["origin_hour"] = cal_at(cal.hour, np.broadcast_to(origins[:, None], target.shape))
    cols["holiday"] = cal_at(cal.holiday, target)
    cols["holiday_d1"] = cal_at(cal.holiday, d1)
    cols["holiday_d2"] = cal_at(cal.holiday, d1 - DAY)
    cols["holiday_w1"] = cal_at(cal.holiday, w1)
    cols["holiday_w2"] = cal_at(cal.holiday, w1 - WEEK)
    prior = seasonal_prior(mean24, origins, target, prior_weeks(cal, target, weeks_back), at)
    # where no week is known yet: the same hour yesterday, else the level
    prior = np.where(np.isfinite(prior), prior, at(d1))
    prior = np.where(np.isfinite(prior), prior, lvl3)
    cols["prior"] = prior / lvl3

    names = feature_names(panel.key_names)
    X = np.empty((n_s * n_o * horizon, len(names)), dtype="float32")
    for j, name in enumerate(names):
        X[:, j] = np.asarray(cols[name], dtype="float32").reshape(-1)
    s_idx, o_idx, h_idx = np.meshgrid(np.arange(n_s), origins, hs, indexing="ij")
    return Design(
        X=X,
        level=np.broadcast_to(lvl3, shape3).reshape(-1).copy(),
        prior=prior.reshape(-1),
        series=s_idx.reshape(-1),
        origin=o_idx.reshape(-1),
        horizon=h_idx.reshape(-1),
    )
