"""Validate: cleaning of a dataset's raw records and its data contract (a Great Expectations 1.x suite).

``check_contract(raw, window, spec)`` cleans the raw frame (``cleaning``), checks it against the
contract built from the spec (``contract``), applies the gap policy (``gaps``: short gaps filled and
flagged, long gaps a failure) and returns the clean frame on the complete hourly grid with a
JSON-serialisable result. Hard failures (schema, duplicates, impossible values, unknown keys, long
gaps) are rules of severity ``error`` and block the run (``enforce`` raises
``DataContractError``); bounded faults (filled gaps) are ``warning`` rules and are reported only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.datasets import UNIT, DatasetSpec
from components.validation.cleaning import clean_frame, learned_labels, parse_number
from components.validation.contract import code_count_rules, dtype_rules, gx_rules
from components.validation.gaps import find_and_fill, gap_rules
from components.validation.results import jsonable

if TYPE_CHECKING:
    import pandas as pd

    from components.source.window import Window

__all__ = [
    "ContractOutcome",
    "DataContractError",
    "check_contract",
    "clean_frame",
    "enforce",
    "parse_number",
    "summary",
    "summary_text",
]

log = logging.getLogger(__name__)


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


def check_contract(raw: pd.DataFrame, window: Window, spec: DatasetSpec) -> ContractOutcome:
    """Clean ``raw`` and check it against ``spec``'s contract; never raises for bad data."""
    import great_expectations as gx

    clean, problems = clean_frame(raw, spec)
    suite_rules, gx_result = gx_rules(clean, window, spec)
    rules = [*problems, *dtype_rules(clean, spec), *suite_rules, *code_count_rules(clean, spec)]
    keyed = all(c in clean for c in spec.feature_columns)
    filled, short, long = find_and_fill(clean, window, spec) if keyed else (clean, [], [])
    series = int(filled[list(spec.key_names)].drop_duplicates().shape[0]) if keyed and len(filled) else 0
    if keyed:
        rules += gap_rules(short, long, series, window, spec)
    failed = [r for r in rules if not r["success"] and r["severity"] == "error"]
    warnings = [r for r in rules if not r["success"] and r["severity"] == "warning"]
    result = jsonable(
        {
            "success": not failed,
            "suite": f"{spec.name} data contract",
            "dataset": spec.name,
            "unit": UNIT,
            "window": window.as_dict(),
            "rows": len(filled),
            "series": series,
            "statistics": {
                "evaluated_rules": len(rules),
                "successful_rules": len(rules) - len(failed) - len(warnings),
                "unsuccessful_rules": len(failed),
                "warnings": len(warnings),
            },
            "failed_rules": sorted({r["rule"] for r in failed}),
            "warnings": sorted({r["rule"] for r in warnings}),
            "filled_gaps": [g.as_dict() for g in short],
            "labels": learned_labels(raw, spec),
            "rules": rules,
            "great_expectations": {"version": gx.__version__, "result": gx_result},
        }
    )
    if result["success"]:
        log.info(
            "data contract holds: %d rows, %d series, %s; %d short gaps filled",
            result["rows"],
            series,
            window,
            len(short),
        )
    else:
        log.error("%s", summary_text(result))
    return ContractOutcome(filled if not failed else clean, result)


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
        "filled_gaps": result.get("filled_gaps", []),
        "failed": [
            {k: r.get(k) for k in ("rule", "column", "severity", "unexpected_count", "sample_values")}
            for r in result.get("rules", [])
            if not r["success"]
        ],
    }


def summary_text(result: dict[str, Any]) -> str:
    """A readable summary: one line per failed rule with column, count and sample values."""
    window = result.get("window") or {}
    failed = [r for r in result.get("rules", []) if not r["success"]]
    blocking = [r for r in failed if r.get("severity", "error") == "error"]
    if not blocking:
        filled = sum(r["unexpected_count"] for r in failed)
        note = f"; {filled} missing hours filled" if filled else ""
        return f"data contract holds for [{window.get('start')}, {window.get('end')}){note}"
    lines = [
        f"data contract broken for window [{window.get('start')}, {window.get('end')}): "
        f"{len(blocking)} of {len(result.get('rules', []))} rules failed "
        f"({', '.join(result.get('failed_rules', []))})"
    ]
    for r in failed:
        count = r["unexpected_count"]
        of = f" of {r['element_count']}" if r.get("element_count") else ""
        kind = "" if r.get("severity", "error") == "error" else " [warning]"
        line = f"  - rule {r['rule']}{kind} on column {r['column']!r} ({r['check']}): {count} unexpected{of}"
        if r.get("sample_values"):
            line += f", sample values {r['sample_values']}"
        if r.get("error"):
            line += f"; error: {r['error']}"
        lines.append(line)
    return "\n".join(lines)
