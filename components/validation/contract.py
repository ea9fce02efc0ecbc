"""The data contract of a dataset as a Great Expectations 1.x suite built from its spec.

=======================  ======================================================================
rule                     meaning
=======================  ======================================================================
exact_columns            the clean frame has exactly ``spec.feature_columns``, in order
column_dtype             each column has its dtype (raw values parse)
not_null                 no null hour or key (a null *value* is a gap, see ``gaps``)
<key>_in_set             a closed key's codes are the spec's (e.g. ``area_in_set``)
<key>_code_pattern       an open key's codes match its pattern (e.g. ``industry_code_pattern``)
<key>_max_codes          an open key has at most ``max_codes`` codes
value_range              ``0 <= value <= spec.value_max`` (a warning: such points are quarantined)
inside_window            ``window.start <= datetime_utc < window.end``
unique_key               no duplicate (keys…, datetime_utc)
=======================  ======================================================================
"""

from __future__ import annotations

import logging
import os
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from components.contracts import RuleResult
from components.datasets import DATETIME, TARGET, DatasetSpec
from components.validation.results import SAMPLE_SIZE, jsonable, rule

if TYPE_CHECKING:
    import pandas as pd

    from components.source.window import Window

log = logging.getLogger(__name__)

QUARANTINING = frozenset({"value_range"})
"""Expectations whose unexpected values are point faults (quarantined, see ``faults``), not a hard stop."""


@lru_cache(maxsize=1)
def _gx_context() -> Any:
    """One ephemeral GX context per process (each new one leaves a temporary docs folder behind)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no usage statistics from offline runs
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _expectations(clean: pd.DataFrame, window: Window, spec: DatasetSpec) -> list[tuple[str, Any]]:
    import great_expectations.expectations as gxe

    columns = list(spec.feature_columns)
    out: list[tuple[str, Any]] = [
        ("exact_columns", gxe.ExpectTableColumnsToMatchOrderedList(column_list=columns))
    ]
    for column in (DATETIME, *spec.key_names):
        if column in clean:
            out.append(("not_null", gxe.ExpectColumnValuesToNotBeNull(column=column)))
    for key in spec.keys:
        if key.name not in clean:
            continue
        if key.closed:
            out.append(
                (
                    f"{key.name}_in_set",
                    gxe.ExpectColumnValuesToBeInSet(column=key.name, value_set=sorted(key.codes)),
                )
            )
        else:
            out.append(
                (
                    f"{key.name}_code_pattern",
                    gxe.ExpectColumnValuesToMatchRegex(column=key.name, regex=key.pattern),
                )
            )
    if TARGET in clean:
        out.append(
            (
                "value_range",
                gxe.ExpectColumnValuesToBeBetween(column=TARGET, min_value=0, max_value=spec.value_max),
            )
        )
    if DATETIME in clean:
        out.append(
            (
                "inside_window",
                gxe.ExpectColumnValuesToBeBetween(
                    column=DATETIME, min_value=window.start, max_value=window.end, strict_max=True
                ),
            )
        )
    if all(c in clean for c in (DATETIME, *spec.key_names)):
        out.append(
            ("unique_key", gxe.ExpectCompoundColumnsToBeUnique(column_list=[*spec.key_names, DATETIME]))
        )
    return out


def gx_rules(
    clean: pd.DataFrame, window: Window, spec: DatasetSpec
) -> tuple[list[RuleResult], dict[str, Any]]:
    """The suite's rule results and the full GX result."""
    context = _gx_context()
    name = f"{spec.feature_group}-{uuid.uuid4().hex[:12]}"
    try:
        return _run_suite(context, name, clean, window, spec)
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
    context: Any, name: str, clean: pd.DataFrame, window: Window, spec: DatasetSpec
) -> tuple[list[RuleResult], dict[str, Any]]:
    import great_expectations as gx

    batch = (
        context.data_sources.add_pandas(name)
        .add_dataframe_asset("clean")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = gx.ExpectationSuite(name=name, meta={"contract": f"{spec.name} data contract"})
    planned = _expectations(clean, window, spec)
    for _, expectation in planned:
        suite.add_expectation(expectation)
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": clean},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
    )
    full = jsonable(result.to_json_dict())
    by_config = {(e.expectation_type, str(e.configuration.kwargs.get("column"))): n for n, e in planned}
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
            expected = list(spec.feature_columns)
            samples = [f"missing {c}" for c in expected if c not in observed] + [
                f"unexpected {c}" for c in observed if c not in expected
            ]
        name = by_config.get((config["type"], str(kwargs.get("column"))), config["type"])
        rules.append(
            rule(
                name,
                kwargs.get("column") or ", ".join(kwargs.get("column_list", [])),
                bool(item["success"]),
                severity="warning" if name in QUARANTINING else "error",
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


def dtype_rules(clean: pd.DataFrame, spec: DatasetSpec) -> list[RuleResult]:
    out = []
    for column, expected in spec.feature_dtypes.items():
        if column not in clean:
            continue
        observed = str(clean[column].dtype)
        out.append(
            rule(
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


def code_count_rules(clean: pd.DataFrame, spec: DatasetSpec) -> list[RuleResult]:
    out = []
    for key in spec.keys:
        if key.closed or key.name not in clean:
            continue
        codes = sorted(clean[key.name].dropna().unique().tolist())
        out.append(
            rule(
                f"{key.name}_max_codes",
                key.name,
                len(codes) <= key.max_codes,
                check=f"at most {key.max_codes} {key.plural}",
                engine="pandas",
                unexpected_count=max(0, len(codes) - key.max_codes),
                element_count=len(codes),
                sample_values=codes[key.max_codes : key.max_codes + SAMPLE_SIZE],
                observed=len(codes),
            )
        )
    return out
