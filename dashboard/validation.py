"""The validation report of a feature snapshot as a table: any report shape, rules rendered generically.

The validate step reports every rule in one format (``rule``, ``column``, ``success``,
``unexpected_count``, ``sample_values``…); a rule that passed with findings (``unexpected_count``
above 0, e.g. ``short_gaps_filled``: the missing hours the validate step filled) is a *note*.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

VALIDATION_COLUMNS = ("rule", "check", "column", "passed", "unexpected", "checked", "observed", "samples")
SAMPLES_SHOWN = 5
FILLED_GAPS_RULE = "short_gaps_filled"


def _first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _either(value: Any, fallback: Any) -> Any:
    """``value`` unless it is None (0 and "" are values)."""
    return fallback if value is None else value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _rule_row(item: dict[str, Any], passed_default: bool | None = None) -> dict[str, Any]:
    config = _dict(item.get("expectation_config"))
    kwargs = _dict(_first(item, "kwargs") or config.get("kwargs"))
    result = _dict(item.get("result"))
    check = _either(
        _first(item, "check", "expectation_type", "type"), _first(config, "type", "expectation_type")
    )
    observed = _either(_first(item, "observed"), _first(result, "observed_value"))
    success = item.get("success")
    passed = bool(success) if success is not None else passed_default
    if passed is False and item.get("severity") == "warning":
        passed = True  # the validate step's warnings are findings, never failures (e.g. filled gaps)
    rule = _either(_first(item, "rule", "name", "expectation"), check)
    return {
        "rule": "?" if rule is None else str(rule),
        "check": None if check is None else str(check),
        "column": _either(_first(item, "column"), kwargs.get("column")),
        "passed": passed,
        "unexpected": _int(_either(_first(item, "unexpected_count"), _first(result, "unexpected_count"))),
        "checked": _int(_either(_first(item, "element_count"), _first(result, "element_count"))),
        "observed": None if observed is None else str(observed)[:80],
        "samples": _samples(
            _either(_first(item, "sample_values"), _first(result, "partial_unexpected_list"))
        ),
    }


def _samples(values: Any) -> str | None:
    if not isinstance(values, list) or not values:
        return None
    shown = "; ".join(str(v) for v in values[:SAMPLES_SHOWN])
    return shown + (f"; … ({len(values) - SAMPLES_SHOWN} more)" if len(values) > SAMPLES_SHOWN else "")


def validation_table(validation: Any) -> tuple[bool | None, dict[str, int | None], pd.DataFrame]:
    """A validation result as (success, counts of rules run/passed/failed, one row per rule).

    Accepts the validate step's full result (``rules`` + ``statistics.evaluated_rules``...), its
    short manifest form (``statistics`` + the ``failed`` rules only), a Great Expectations result
    (``results``/``expectations`` with ``statistics.evaluated_expectations``...) and a bare bool.
    Unknown shapes give no rows and no counts rather than an error.
    """
    if not isinstance(validation, dict):
        validation = {"success": validation} if isinstance(validation, bool) else {}
    items = _first(validation, "rules", "results", "expectations", "checks")
    rows = [_rule_row(item) for item in (items if isinstance(items, list) else []) if isinstance(item, dict)]
    if not rows and isinstance(validation.get("failed"), list):
        rows = [
            _rule_row(item, passed_default=False) for item in validation["failed"] if isinstance(item, dict)
        ]
    table = pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))

    stats = _dict(validation.get("statistics"))
    evaluated = _int(_first(stats, "evaluated_rules", "evaluated_expectations"))
    passed = _int(_first(stats, "successful_rules", "successful_expectations"))
    failed = _int(_first(stats, "unsuccessful_rules", "unsuccessful_expectations"))
    if items and isinstance(items, list):
        evaluated = evaluated if evaluated is not None else len(table)
        passed = passed if passed is not None else int((table["passed"] == True).sum())  # noqa: E712
    if failed is None and evaluated is not None and passed is not None:
        failed = evaluated - passed
    if passed is None and evaluated is not None and failed is not None:
        passed = evaluated - failed
    success = validation.get("success")
    counts = {"evaluated": evaluated, "passed": passed, "failed": failed}
    return (None if success is None else bool(success)), counts, table


def notes(table: pd.DataFrame) -> pd.DataFrame:
    """Rules that passed with findings (e.g. gaps that were filled), most findings first."""
    found = table[(table["passed"] == True) & (table["unexpected"].fillna(0) > 0)]  # noqa: E712
    return found.sort_values("unexpected", ascending=False, kind="stable").reset_index(drop=True)


def note_text(row: Any) -> str:
    """One sentence per note; the filled-gaps rule in plain words, others generically."""
    samples = f" ({row['samples']})" if row.get("samples") else ""
    if row["rule"] == FILLED_GAPS_RULE:
        return f"**{int(row['unexpected'])} missing hourly values were filled (imputed)**{samples}."
    where = f" in `{row['column']}`" if row.get("column") else ""
    return f"**{row['rule']}**{where}: {int(row['unexpected'])} findings{samples}."
