"""Cleaning: a dataset's raw records as a clean feature frame (the spec's columns, dtypes and unit).

Values that do not parse become nulls in the clean frame and a ``column_dtype`` failure in the
results; missing raw columns are left out (``exact_columns`` then fails). A PT15M dataset is summed
to hours (an hour needs all four quarters, else it is a gap). Labels found in the records (a key's
``label_source``) are collected for the report.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from components.contracts import RuleResult
from components.datasets import DATETIME, TARGET, DatasetSpec
from components.validation.results import SAMPLE_SIZE, rule

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def _parse_datetime(values: pd.Series) -> pd.Series:
    import pandas as pd

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return parsed.astype("datetime64[ns, UTC]")


def parse_number(values: pd.Series) -> pd.Series:
    """Numbers as float64; text may use a decimal comma (``1234,5``) or both (``1.234,5``)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(float("nan"), index=values.index, dtype="float64")  # True/False is no energy
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype("string").str.replace(r"\s", "", regex=True)
    both = text.str.contains(".", regex=False) & text.str.contains(",", regex=False)
    text = text.where(~both.fillna(False), text.str.replace(".", "", regex=False))
    text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _parse_code(values: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.notna() & (values == values.round())
        text = values.astype("string").where(~whole, values.round().astype("Int64").astype("string"))
        return text.astype("string")
    return values.astype("string").str.strip().astype("string")


def learned_labels(raw: pd.DataFrame, spec: DatasetSpec) -> dict[str, dict[str, str]]:
    """key name -> code -> label, from the records' label columns (e.g. DK36Title)."""
    out: dict[str, dict[str, str]] = {}
    for key in spec.keys:
        if key.label_source and key.label_source in raw and key.source in raw:
            pairs = raw[[key.source, key.label_source]].dropna().drop_duplicates(key.source, keep="last")
            out[key.name] = {str(c).strip(): str(t).strip() for c, t in pairs.itertuples(index=False)}
    return out


def clean_frame(raw: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, list[RuleResult]]:
    """The raw records as a clean feature frame, and the cleaning problems as rule results."""
    import pandas as pd

    mapping = {spec.time_column: DATETIME, **{k.source: k.name for k in spec.keys}, spec.value_column: TARGET}
    problems: list[RuleResult] = []
    missing = [raw_name for raw_name in mapping if raw_name not in raw]
    if missing:
        problems.append(
            rule(
                "exact_columns",
                ", ".join(mapping[m] for m in missing),
                False,
                check="cleaning: required raw columns present",
                engine="pandas",
                unexpected_count=len(missing),
                sample_values=missing,
                observed=list(raw.columns),
                error=f"raw records lack column(s) {missing}",
            )
        )
    parsers: dict[str, Any] = {DATETIME: _parse_datetime, TARGET: parse_number}
    dtypes = spec.feature_dtypes
    columns: dict[str, pd.Series] = {}
    for raw_name, clean_name in mapping.items():
        if raw_name not in raw:
            continue
        original = raw[raw_name].reset_index(drop=True)
        parser = parsers.get(clean_name, _parse_code)
        try:
            parsed = parser(original)
        except (TypeError, ValueError, OverflowError) as err:
            problems.append(
                rule(
                    "column_dtype",
                    clean_name,
                    False,
                    check=f"cleaning: {raw_name} converts to {dtypes[clean_name]}",
                    engine="pandas",
                    unexpected_count=int(original.notna().sum()),
                    element_count=len(original),
                    sample_values=original.head(SAMPLE_SIZE).tolist(),
                    observed=str(original.dtype),
                    error=f"{type(err).__name__}: {err}",
                )
            )
            continue
        bad = original.notna() & parsed.isna()
        if bad.any():
            problems.append(
                rule(
                    "column_dtype",
                    clean_name,
                    False,
                    check=f"cleaning: {raw_name} values parse as {dtypes[clean_name]}",
                    engine="pandas",
                    unexpected_count=int(bad.sum()),
                    element_count=len(original),
                    sample_values=original[bad].head(SAMPLE_SIZE).tolist(),
                    observed=str(original.dtype),
                )
            )
        columns[clean_name] = parsed
    if TARGET in columns:
        columns[TARGET] = columns[TARGET] * spec.unit_factor
    clean = pd.DataFrame({name: columns[name] for name in spec.feature_columns if name in columns})
    if spec.resolution == "PT15M" and DATETIME in clean and TARGET in clean:
        clean = _to_hours(clean, spec)
    sort_keys = [c for c in (DATETIME, *spec.key_names) if c in clean]
    if sort_keys:
        clean = clean.sort_values(sort_keys, kind="stable", na_position="last").reset_index(drop=True)
    return clean, problems


def _to_hours(clean: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Quarter-hours summed to hours; an hour without all four quarters is a null (a gap)."""
    keys = [k for k in spec.key_names if k in clean]
    frame = clean.assign(**{DATETIME: clean[DATETIME].dt.floor("h")})
    grouped = frame.groupby([DATETIME, *keys], observed=True, dropna=False)[TARGET]
    hourly = grouped.agg(["sum", "count"]).reset_index()
    hourly[TARGET] = hourly["sum"].where(hourly["count"] == 4)
    return hourly[[DATETIME, *keys, TARGET]]
