"""The benchmark's data: an export read and gap-filled as the pipeline does it, and sktime's views.

``bench/accuracy.py`` reads its ``--data`` file with :func:`load_frame` and hands every method the
views of :func:`to_sktime`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.datasets import DATETIME, TARGET, DatasetSpec

FILLED = "filled"
"""Column of :func:`load_frame`: the value was interpolated (not observed); such hours are not scored."""


def load_frame(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """The clean frame (``spec.feature_columns``, MWh) plus :data:`FILLED`, on a complete hourly grid.

    An export is read, cleaned and gap-filled exactly as the pipeline does it (``read_snapshot_file``,
    the contract's ``clean_frame`` and ``find_and_fill``): runs of at most ``spec.max_gap_hours``
    missing or null hours inside a series are filled; longer runs stay NaN. A clean feature frame
    (Parquet with ``spec.feature_columns``) is taken as it is and gap-filled the same way.
    """
    from components.source.files import SnapshotError, read_snapshot_file
    from components.source.window import Window
    from components.validation.cleaning import clean_frame
    from components.validation.gaps import find_and_fill

    if not path.exists():
        raise SystemExit(f"--data {path}: no such file")
    keys = list(spec.key_names)
    features = pd.read_parquet(path) if path.suffix == ".parquet" else None
    if features is not None and set(spec.feature_columns) <= set(features.columns):
        clean = features[list(spec.feature_columns)].astype(spec.feature_dtypes)
    else:
        try:
            raw = read_snapshot_file(path, spec)
        except SnapshotError as err:
            raise SystemExit(f"--data {path}: {err}") from err
        clean, problems = clean_frame(raw, spec)
        broken = [p for p in problems if not p.get("success", True)]
        if broken:
            raise SystemExit(
                f"--data {path}: not a clean {spec.name} export: {broken[0].get('error', broken[0])}"
            )
    if clean.duplicated([*keys, DATETIME]).any():
        raise SystemExit(f"--data {path}: duplicate ({', '.join(keys)}, hour) rows")
    window = Window(
        clean[DATETIME].min().to_pydatetime(), clean[DATETIME].max().to_pydatetime() + pd.Timedelta(hours=1)
    )
    found = find_and_fill(clean, window, spec)
    filled, short = found.frame, found.short
    grid = pd.date_range(window.start, window.end, freq="h", inclusive="left", tz="UTC", unit="ns")
    series = clean[keys].drop_duplicates().sort_values(keys)
    full = series.merge(pd.DataFrame({DATETIME: grid}), how="cross")
    full = full.merge(filled, on=[*keys, DATETIME], how="left").sort_values([*keys, DATETIME])
    full = full.reset_index(drop=True)
    full[FILLED] = False
    for gap in short:
        hours = pd.date_range(gap.start, periods=gap.hours, freq="h")
        mask = full[DATETIME].isin(hours)
        for key, code in zip(keys, gap.series, strict=True):
            mask &= full[key].astype(str) == code
        full.loc[mask, FILLED] = True
    return full[[*spec.feature_columns, FILLED]].reset_index(drop=True)


def fill_causal(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Gap-free history for methods that take no NaN: each missing hour from the same hour a week
    before, else a day before, else the last value (only the past is used); leading gaps stay."""
    keys = list(spec.key_names)

    def fill(y: pd.Series) -> pd.Series:
        for lag in (168, 24):
            while y.isna().any():  # a gap longer than `lag` fills from the hours filled just before
                before = int(y.isna().sum())
                y = y.fillna(y.shift(lag))
                if int(y.isna().sum()) == before:
                    break
        return y.ffill()

    return frame.assign(**{TARGET: frame.groupby(keys, sort=False)[TARGET].transform(fill)})


@dataclass(frozen=True)
class Data:
    """One benchmark's data: the clean frame and sktime's views of it."""

    frame: pd.DataFrame
    """:func:`load_frame`'s frame (NaN where missing)."""
    filled: pd.DataFrame
    """The same, gap-free (:func:`fill_causal`): what methods that take no NaN see."""
    y: pd.DataFrame
    """Hourly PeriodIndex per series (NaN where missing), MultiIndex (*keys, datetime)."""
    y_filled: pd.DataFrame
    X: pd.DataFrame
    """The course's exogenous X: the series keys as numbers."""
    observed: pd.Series
    """True where the value was observed (not missing, not interpolated): the scored hours."""


def to_sktime(frame: pd.DataFrame, spec: DatasetSpec) -> Data:
    keys = list(spec.key_names)
    period = frame[DATETIME].dt.tz_convert(None).dt.to_period("h")
    index = pd.MultiIndex.from_arrays([*(frame[k] for k in keys), period], names=[*keys, "datetime"])
    filled = fill_causal(frame, spec)

    def series(values: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({TARGET: values.to_numpy(dtype="float64")}, index=index).sort_index()

    y = series(frame[TARGET])
    observed = pd.Series(
        ~frame[FILLED].to_numpy() & frame[TARGET].notna().to_numpy(), index=index
    ).sort_index()
    columns = {}
    for level, key in enumerate(keys):
        codes = y.index.get_level_values(level)
        if all(str(c).isdigit() for c in codes.unique()):
            columns[key] = codes.astype("int64")
        else:
            order = {c: i for i, c in enumerate(sorted(codes.unique()))}
            columns[key] = codes.map(order).astype("int64")
    X = pd.DataFrame(columns, index=y.index)
    return Data(frame, filled, y, series(filled[TARGET]), X, observed)
