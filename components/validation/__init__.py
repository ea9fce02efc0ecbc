"""Validate: cleaning of a dataset's raw records and its data contract (a Great Expectations 1.x suite).

``check_contract(raw, window, spec)`` cleans the raw frame (``cleaning``), checks it against the
contract built from the spec (``contract``), quarantines point faults (``faults``), applies the gap
policy (``gaps``: short gaps filled and flagged, long gaps left missing) and returns the clean frame
on the complete hourly grid with a :class:`~components.contracts.ValidationReport`. Hard failures
(schema, types, duplicate or unknown keys, too large a share of bad hours, no recent data) are rules
of severity ``error`` and block the run (``enforce`` raises ``DataContractError``); point faults and
gaps are ``warning`` rules: the points are listed in the report and the run goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.contracts import FilledGap, ValidationReport, ValidationWindow
from components.datasets import UNIT, DatasetSpec
from components.validation.cleaning import clean_frame, learned_labels, parse_number
from components.validation.contract import code_count_rules, dtype_rules, gx_rules
from components.validation.gaps import Grid, find_and_fill, gap_rules
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
    "summary_text",
]

log = logging.getLogger(__name__)


class DataContractError(RuntimeError):
    """The data broke the contract; ``report`` is the whole validation report."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(summary_text(report))


@dataclass(frozen=True)
class ContractOutcome:
    clean: pd.DataFrame
    report: ValidationReport

    @property
    def success(self) -> bool:
        return self.report.success


def check_contract(
    raw: pd.DataFrame, window: Window, spec: DatasetSpec, source: str | None = None
) -> ContractOutcome:
    """Clean ``raw`` and check it against ``spec``'s contract; never raises for bad data."""
    import great_expectations as gx

    clean, problems = clean_frame(raw, spec)
    suite_rules, gx_result = gx_rules(clean, window, spec)
    rules = [*problems, *dtype_rules(clean, spec), *suite_rules, *code_count_rules(clean, spec)]
    keyed = all(c in clean for c in spec.feature_columns)
    grid = find_and_fill(clean, window, spec) if keyed else Grid(clean, [], [], [])
    filled = grid.frame
    series = int(filled[list(spec.key_names)].drop_duplicates().shape[0]) if keyed and len(filled) else 0
    if keyed:
        rules += gap_rules(grid, series, window, spec)
    report = ValidationReport.from_rules(
        rules,
        suite=f"{spec.name} data contract",
        dataset=spec.name,
        unit=UNIT,
        window=ValidationWindow(start=window.start, end=window.end, hours=window.hours),
        rows=len(filled),
        series=series,
        source=source,
        filled_gaps=[FilledGap.model_validate(g.as_dict()) for g in grid.short],
        long_gaps=[FilledGap.model_validate(g.as_dict()) for g in grid.long],
        quarantined=grid.quarantined,
        labels=learned_labels(raw, spec),
        great_expectations={"version": gx.__version__, "result": jsonable(gx_result)},
    )
    if report.success:
        log.info(
            "data contract holds: %d rows, %d series, %s; %d points quarantined, %d short gaps filled, "
            "%d long gaps skipped",
            report.rows,
            series,
            window,
            len(grid.quarantined),
            len(grid.short),
            len(grid.long),
        )
    else:
        log.error("%s", summary_text(report))
    return ContractOutcome(filled if report.success else clean, report)


def enforce(outcome: ContractOutcome) -> pd.DataFrame:
    """The clean frame, or ``DataContractError`` when the contract is broken."""
    if not outcome.success:
        raise DataContractError(outcome.report)
    return outcome.clean


def summary_text(report: ValidationReport) -> str:
    """A readable summary: one line per failed rule with column, count and sample values."""
    window = f"[{report.window.start.isoformat()}, {report.window.end.isoformat()})"
    failed = [r for r in report.rules if not r.success]
    blocking = report.blocking
    if not blocking:
        filled = sum(r.unexpected_count for r in failed)
        note = f"; {filled} missing hours filled" if filled else ""
        return f"data contract holds for {window}{note}"
    lines = [
        f"data contract broken for window {window}: {len(blocking)} of {len(report.rules)} rules failed "
        f"({', '.join(report.failed_rules)})"
    ]
    for r in failed:
        of = f" of {r.element_count}" if r.element_count else ""
        kind = "" if r.blocking else " [warning]"
        line = (
            f"  - rule {r.rule}{kind} on column {r.column!r} ({r.check}): {r.unexpected_count} unexpected{of}"
        )
        if r.sample_values:
            line += f", sample values {r.sample_values}"
        if r.error:
            line += f"; error: {r.error}"
        lines.append(line)
    return "\n".join(lines)
