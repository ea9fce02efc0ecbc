"""Validate: cleaning of the raw records and the data contract (a Great Expectations 1.x suite).

``check_contract(raw, window)`` cleans the raw frame (names, UTC timestamps, dtypes of
``schemas.FEATURE_DTYPES``, HourDK dropped) and checks the clean frame against the contract. Every
rule reports in one format (``rule``, ``column``, ``success``, ``unexpected_count``,
``sample_values``), whether Great Expectations or pandas evaluated it; a cleaning problem (a missing
column, a value that does not parse) is reported as a failure of the rule it breaks, never as a
KeyError. ``enforce`` raises ``DataContractError`` with a readable summary.

The rules:

=====================  =========================================================================
rule                   meaning
=====================  =========================================================================
exact_columns          the clean frame has exactly ``schemas.FEATURE_COLUMNS``, in order
column_dtype           each column has its ``schemas.FEATURE_DTYPES`` dtype (raw values parse)
not_null               no nulls in any column
area_in_set            ``area`` in ``schemas.AREAS``
consumer_type_in_set   ``consumer_type`` in the 38 DE35 codes
non_negative           ``energy_consumption >= 0``
inside_window          ``window.start <= datetime_utc < window.end``
unique_key             no duplicate (area, consumer_type, datetime_utc)
complete_hourly_grid   every series present has exactly one row per hour of the window
=====================  =========================================================================

Gap policy: no gaps are allowed inside a series; a series absent from the whole window is not an
error of the grid rule (the manifest records the series count).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from components import schemas
from components.schemas import AREA, CONSUMER_TYPE, DATETIME, FEATURE_COLUMNS, FEATURE_DTYPES, TARGET

if TYPE_CHECKING:
    import pandas as pd

    from components.extract import Window

log = logging.getLogger(__name__)

RAW_TO_CLEAN = {
    "HourUTC": DATETIME,
    "PriceArea": AREA,
    "ConsumerType_DE35": CONSUMER_TYPE,
    "TotalCon": TARGET,
}
DROPPED_RAW = ("HourDK",)
SAMPLE_SIZE = 5
_DTYPES: dict[str, Any] = dict(FEATURE_DTYPES)  # str -> Any: pandas-stubs only take literal dtypes


class DataContractError(RuntimeError):
    """The data broke the contract; ``result`` is the full JSON-serialisable validation result."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        super().__init__(summary_text(result))


@dataclass(frozen=True)
class ContractOutcome:
    clean: pd.DataFrame
    result: dict[str, Any]

    @property
    def success(self) -> bool:
        return bool(self.result["success"])


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _rule(
    rule: str,
    column: str | None,
    success: bool,
    *,
    check: str,
    engine: str,
    unexpected_count: int = 0,
    element_count: int | None = None,
    sample_values: list[Any] | None = None,
    observed: Any = None,
    error: str | None = None,
) -> dict[str, Any]:
    return _jsonable(
        {
            "rule": rule,
            "column": column,
            "success": success,
            "check": check,
            "engine": engine,
            "unexpected_count": unexpected_count,
            "element_count": element_count,
            "sample_values": sample_values or [],
            "observed": observed,
            "error": error,
        }
    )


# --- cleaning ---------------------------------------------------------------------------------
def _unparsed(original: pd.Series, parsed: pd.Series) -> pd.Series:
    return original.notna() & parsed.isna()


def _parse_datetime(values: pd.Series) -> pd.Series:
    import pandas as pd

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(_DTYPES[DATETIME])
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").astype(_DTYPES[DATETIME])
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return parsed.astype(_DTYPES[DATETIME])


def _parse_number(values: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(float("nan"), index=values.index, dtype="float64")  # True/False is no kWh
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype("string").str.replace(r"\s", "", regex=True)
    both = text.str.contains(".", regex=False) & text.str.contains(",", regex=False)
    text = text.where(~both.fillna(False), text.str.replace(".", "", regex=False))  # 1.234,5
    text = text.str.replace(",", ".", regex=False)  # 1234,5 (the CSV export's decimal comma)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _parse_code(values: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.notna() & (values == values.round())
        text = values.astype("string").where(~whole, values.round().astype("Int64").astype("string"))
        return text.astype(_DTYPES[CONSUMER_TYPE])
    return values.astype("string").str.strip().astype(_DTYPES[CONSUMER_TYPE])


def clean_frame(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The raw records as a clean feature frame, and the cleaning problems as rule results.

    Values that do not parse become nulls in the clean frame and a ``column_dtype`` failure in the
    results; missing raw columns are left out (``exact_columns`` then fails).
    """
    import pandas as pd

    problems: list[dict[str, Any]] = []
    present = {raw_name: clean_name for raw_name, clean_name in RAW_TO_CLEAN.items() if raw_name in raw}
    missing = [raw_name for raw_name in RAW_TO_CLEAN if raw_name not in raw]
    if missing:
        problems.append(
            _rule(
                "exact_columns",
                ", ".join(RAW_TO_CLEAN[m] for m in missing),
                False,
                check="cleaning: required raw columns present",
                engine="pandas",
                unexpected_count=len(missing),
                sample_values=missing,
                observed=list(raw.columns),
                error=f"raw records lack column(s) {missing}",
            )
        )
    ignored = [c for c in raw.columns if c not in RAW_TO_CLEAN and c not in DROPPED_RAW]
    if ignored:
        log.info("cleaning ignores raw columns %s", ignored)

    parsers = {DATETIME: _parse_datetime, AREA: None, CONSUMER_TYPE: _parse_code, TARGET: _parse_number}
    columns: dict[str, pd.Series] = {}
    for raw_name, clean_name in present.items():
        original = raw[raw_name].reset_index(drop=True)
        parser = parsers[clean_name]
        try:
            if parser is None:
                parsed = original.astype("string").str.strip().astype(_DTYPES[clean_name])
            else:
                parsed = parser(original)
        except (TypeError, ValueError, OverflowError) as err:
            problems.append(
                _rule(
                    "column_dtype",
                    clean_name,
                    False,
                    check=f"cleaning: {raw_name} converts to {FEATURE_DTYPES[clean_name]}",
                    engine="pandas",
                    unexpected_count=int(original.notna().sum()),
                    element_count=len(original),
                    sample_values=original.head(SAMPLE_SIZE).tolist(),
                    observed=str(original.dtype),
                    error=f"{type(err).__name__}: {err}",
                )
            )
            continue
        bad = _unparsed(original, parsed)
        if bad.any():
            problems.append(
                _rule(
                    "column_dtype",
                    clean_name,
                    False,
                    check=f"cleaning: {raw_name} values parse as {FEATURE_DTYPES[clean_name]}",
                    engine="pandas",
                    unexpected_count=int(bad.sum()),
                    element_count=len(original),
                    sample_values=original[bad].head(SAMPLE_SIZE).tolist(),
                    observed=str(original.dtype),
                )
            )
        columns[clean_name] = parsed
    clean = pd.DataFrame({name: columns[name] for name in FEATURE_COLUMNS if name in columns})
    sort_keys = [c for c in (DATETIME, AREA, CONSUMER_TYPE) if c in clean]
    if sort_keys:
        clean = clean.sort_values(sort_keys, kind="stable", na_position="last").reset_index(drop=True)
    return clean, problems


# --- the contract -----------------------------------------------------------------------------
_EXPECTATION_RULES = {
    "expect_table_columns_to_match_ordered_list": "exact_columns",
    "expect_column_values_to_not_be_null": "not_null",
    "expect_compound_columns_to_be_unique": "unique_key",
}


def _rule_of(expectation_type: str, kwargs: dict[str, Any]) -> str:
    if expectation_type in _EXPECTATION_RULES:
        return _EXPECTATION_RULES[expectation_type]
    column = kwargs.get("column")
    if expectation_type == "expect_column_values_to_be_in_set":
        return f"{column}_in_set"
    if expectation_type == "expect_column_values_to_be_between":
        return "inside_window" if column == DATETIME else "non_negative"
    return expectation_type


def _dtype_rules(clean: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for column, expected in FEATURE_DTYPES.items():
        if column not in clean:
            continue
        observed = str(clean[column].dtype)
        out.append(
            _rule(
                "column_dtype",
                column,
                observed == expected,
                check=f"dtype is {expected}",
                engine="pandas",
                unexpected_count=0 if observed == expected else 1,
                element_count=len(clean),
                sample_values=[] if observed == expected else [observed],
                observed=observed,
            )
        )
    return out


def _grid_rule(clean: pd.DataFrame, window: Window) -> dict[str, Any]:
    import pandas as pd

    check = f"every series has one row per hour of {window}"
    keys = [AREA, CONSUMER_TYPE]
    frame = clean.dropna(subset=[DATETIME, *keys])
    frame = frame[(frame[DATETIME] >= window.start) & (frame[DATETIME] < window.end)]
    if frame.empty:
        return _rule("complete_hourly_grid", DATETIME, False, check=check, engine="pandas", error="no rows")
    grid = pd.date_range(window.start, window.end, freq="h", inclusive="left").astype(
        FEATURE_DTYPES[DATETIME]
    )
    counts = frame.groupby(keys, observed=True)[DATETIME].nunique()
    series = len(counts)
    incomplete = counts[counts != window.hours]
    samples: list[str] = []
    missing_cells = int((window.hours - incomplete).clip(lower=0).sum())
    for key in incomplete.head(SAMPLE_SIZE).index:
        area, code = key
        have = frame.loc[(frame[AREA] == area) & (frame[CONSUMER_TYPE] == code), DATETIME]
        gaps = grid.difference(pd.DatetimeIndex(have))
        first = gaps[0].isoformat() if len(gaps) else "-"
        samples.append(f"{area}/{code}: {len(gaps)} missing hours, first {first}")
    return _rule(
        "complete_hourly_grid",
        DATETIME,
        incomplete.empty,
        check=check,
        engine="pandas",
        unexpected_count=missing_cells,
        element_count=series * window.hours,
        sample_values=samples,
        observed={"series": series, "incomplete_series": len(incomplete), "hours": window.hours},
    )


@lru_cache(maxsize=1)
def _gx_context() -> Any:
    """One ephemeral GX context per process (each new one leaves a temporary docs folder behind)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no usage statistics from offline runs
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _gx_rules(clean: pd.DataFrame, window: Window) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    context = _gx_context()
    name = f"features-{uuid.uuid4().hex[:12]}"
    try:
        return _run_suite(context, name, clean, window)
    finally:  # the context is shared: leave nothing of this run in it
        for remove in (
            context.validation_definitions.delete,
            context.suites.delete,
            context.data_sources.delete,
        ):
            try:
                remove(name)
            except Exception:  # not created because an earlier step failed
                log.debug("nothing to delete for %s", name)


def _run_suite(
    context: Any, name: str, clean: pd.DataFrame, window: Window
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    batch = (
        context.data_sources.add_pandas(name)
        .add_dataframe_asset("clean")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = gx.ExpectationSuite(name=name, meta={"contract": "energy_consumption_contract"})
    suite.add_expectation(gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(FEATURE_COLUMNS)))
    for column in FEATURE_COLUMNS:
        if column in clean:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    if AREA in clean:
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=AREA, value_set=sorted(schemas.AREAS)))
    if CONSUMER_TYPE in clean:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(column=CONSUMER_TYPE, value_set=sorted(schemas.CONSUMER_TYPES))
        )
    if TARGET in clean:
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=TARGET, min_value=0))
    if DATETIME in clean:
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=DATETIME, min_value=window.start, max_value=window.end, strict_max=True
            )
        )
    if all(c in clean for c in (AREA, CONSUMER_TYPE, DATETIME)):
        suite.add_expectation(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=[AREA, CONSUMER_TYPE, DATETIME])
        )
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": clean},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
    )
    full = _jsonable(result.to_json_dict())
    rules = []
    for item in full["results"]:
        config = item["expectation_config"]
        kwargs = config.get("kwargs", {})
        res = item.get("result") or {}
        exception = item.get("exception_info") or {}
        error = exception.get("exception_message") if exception.get("raised_exception") else None
        samples = res.get("partial_unexpected_list") or []
        if config["type"] == "expect_table_columns_to_match_ordered_list" and not item["success"]:
            observed = res.get("observed_value") or []
            samples = [f"missing {c}" for c in FEATURE_COLUMNS if c not in observed] + [
                f"unexpected {c}" for c in observed if c not in FEATURE_COLUMNS
            ]
        rules.append(
            _rule(
                _rule_of(config["type"], kwargs),
                kwargs.get("column") or ", ".join(kwargs.get("column_list", [])),
                bool(item["success"]),
                check=config["type"],
                engine="great_expectations",
                unexpected_count=int(res.get("unexpected_count") or (0 if item["success"] else 1)),
                element_count=res.get("element_count"),
                sample_values=samples[:SAMPLE_SIZE],
                observed=res.get("observed_value"),
                error=error,
            )
        )
    return rules, full


def validate_clean(
    clean: pd.DataFrame, window: Window, cleaning: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The full, JSON-serialisable validation result of a clean frame (plus cleaning problems)."""
    import great_expectations as gx

    gx_rules, gx_result = _gx_rules(clean, window)
    rules = list(cleaning or []) + _dtype_rules(clean) + gx_rules
    if all(c in clean for c in (DATETIME, AREA, CONSUMER_TYPE)):
        rules.append(_grid_rule(clean, window))
    failed = [r for r in rules if not r["success"]]
    series = (
        int(clean[[AREA, CONSUMER_TYPE]].dropna().drop_duplicates().shape[0])
        if all(c in clean for c in (AREA, CONSUMER_TYPE))
        else 0
    )
    return _jsonable(
        {
            "success": not failed,
            "suite": "energy_consumption_contract",
            "window": window.as_dict(),
            "rows": len(clean),
            "series": series,
            "statistics": {
                "evaluated_rules": len(rules),
                "successful_rules": len(rules) - len(failed),
                "unsuccessful_rules": len(failed),
            },
            "failed_rules": sorted({r["rule"] for r in failed}),
            "rules": rules,
            "great_expectations": {"version": gx.__version__, "result": gx_result},
        }
    )


def check_contract(raw: pd.DataFrame, window: Window) -> ContractOutcome:
    """Clean ``raw`` and check it against the contract; never raises for bad data."""
    clean, problems = clean_frame(raw)
    result = validate_clean(clean, window, problems)
    if result["success"]:
        log.info("data contract holds: %d rows, %d series, %s", result["rows"], result["series"], window)
    else:
        log.error("%s", summary_text(result))
    return ContractOutcome(clean, result)


def enforce(outcome: ContractOutcome) -> pd.DataFrame:
    """The clean frame, or ``DataContractError`` when the contract is broken."""
    if not outcome.success:
        raise DataContractError(outcome.result)
    return outcome.clean


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The short form kept next to the full result (e.g. in a snapshot manifest)."""
    return {
        "success": result["success"],
        "suite": result.get("suite"),
        "rows": result.get("rows"),
        "series": result.get("series"),
        "statistics": result.get("statistics"),
        "failed": [
            {k: r[k] for k in ("rule", "column", "unexpected_count", "sample_values")}
            for r in result.get("rules", [])
            if not r["success"]
        ],
    }


def summary_text(result: dict[str, Any]) -> str:
    """A readable summary: one line per failed rule with column, count and sample values."""
    window = result.get("window") or {}
    failed = [r for r in result.get("rules", []) if not r["success"]]
    if not failed:
        return f"data contract holds for [{window.get('start')}, {window.get('end')})"
    lines = [
        f"data contract broken for window [{window.get('start')}, {window.get('end')}): "
        f"{len(failed)} of {len(result.get('rules', []))} rules failed "
        f"({', '.join(result.get('failed_rules', []))})"
    ]
    for r in failed:
        count = r["unexpected_count"]
        of = f" of {r['element_count']}" if r.get("element_count") else ""
        line = f"  - rule {r['rule']} on column {r['column']!r} ({r['check']}): {count} unexpected{of}"
        if r.get("sample_values"):
            line += f", sample values {r['sample_values']}"
        if r.get("error"):
            line += f"; error: {r['error']}"
        lines.append(line)
    return "\n".join(lines)
