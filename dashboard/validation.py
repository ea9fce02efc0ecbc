"""The data contract's report (:class:`components.contracts.ValidationReport`, as the API's quality
route serves it) as a table of rules and a list of notes.

A rule that does not block but has findings (a ``warning`` rule, or one that passed with unexpected
values, e.g. ``short_gaps_filled``: the missing hours the validate step filled) is a *note*.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import ValidationError

from components.contracts import RuleResult, ValidationReport, problems

VALIDATION_COLUMNS = ("rule", "check", "column", "passed", "unexpected", "checked", "observed", "samples")
SAMPLES_SHOWN = 5
FILLED_GAPS_RULE = "short_gaps_filled"


class ReportError(ValueError):
    """The served report is not a validation report; the message says what is wrong."""


def parse_report(served: Any) -> ValidationReport:
    """The ``validation`` value of the API's quality answer, checked against the contract."""
    try:
        return ValidationReport.model_validate(served)
    except ValidationError as err:
        raise ReportError(
            f"the API's validation report does not match the contract: {problems(err, 'report', 5)}"
        ) from err


def samples(values: list[Any]) -> str | None:
    if not values:
        return None
    shown = "; ".join(str(v) for v in values[:SAMPLES_SHOWN])
    return shown + (f"; … ({len(values) - SAMPLES_SHOWN} more)" if len(values) > SAMPLES_SHOWN else "")


def validation_table(report: ValidationReport) -> pd.DataFrame:
    """One row per rule; ``passed`` is false only for a blocking rule."""
    rows = [
        {
            "rule": r.rule,
            "check": r.check,
            "column": r.column,
            "passed": not r.blocking,
            "unexpected": r.unexpected_count,
            "checked": r.element_count,
            "observed": None if r.observed is None else str(r.observed)[:80],
            "samples": samples(r.sample_values),
        }
        for r in report.rules
    ]
    return pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))


def note_text(rule: RuleResult) -> str:
    """One sentence per note; the filled-gaps rule in plain words, others generically."""
    shown = samples(rule.sample_values)
    detail = f" ({shown})" if shown else ""
    if rule.rule == FILLED_GAPS_RULE:
        return f"**{rule.unexpected_count} missing hourly values were filled (imputed)**{detail}."
    where = f" in `{rule.column}`" if rule.column else ""
    return f"**{rule.rule}**{where}: {rule.unexpected_count} findings{detail}."
