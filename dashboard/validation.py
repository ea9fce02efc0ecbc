"""The data contract's report (:class:`components.contracts.ValidationReport`, as the API's quality
route serves it) as a table of rules and a list of notes.

A rule that does not block but has findings (a ``warning`` rule, or one that passed with unexpected
values, e.g. ``short_gaps_filled``: the missing hours the validate step filled) is a *note*. The
quarantined points and the long gaps left missing are tables of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import ValidationError

from components.contracts import RuleResult, ValidationReport, problems

if TYPE_CHECKING:
    from dashboard.client import Dataset

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


QUARANTINE_COLUMNS = ("series", "hour", "value", "rule", "replacement", "codes")
LONG_GAP_COLUMNS = ("series", "start", "hours", "codes")


def _series_name(dataset: Dataset, codes: list[str]) -> str:
    """The series' readable name; its bare codes if they do not fit the dataset's keys."""
    return dataset.series(codes) if len(codes) == len(dataset.keys) else " / ".join(codes)


def quarantine_table(report: ValidationReport, dataset: Dataset) -> pd.DataFrame:
    """One row per quarantined point, oldest first: ``value`` what the source said (empty: null),
    ``replacement`` what the clean frame has (empty: left missing in a long gap); ``codes`` the
    series' codes, to pick its observations."""
    rows = [
        (_series_name(dataset, p.series), p.hour, p.value, p.rule, p.replacement, tuple(p.series))
        for p in sorted(report.quarantined, key=lambda p: (p.hour, p.series))
    ]
    frame = pd.DataFrame(rows, columns=list(QUARANTINE_COLUMNS))
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    for column in ("value", "replacement"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def long_gap_table(report: ValidationReport, dataset: Dataset) -> pd.DataFrame:
    """One row per long gap left missing: its series, first missing hour and length."""
    rows = [(_series_name(dataset, g.series), g.start, g.hours, tuple(g.series)) for g in report.long_gaps]
    frame = pd.DataFrame(rows, columns=list(LONG_GAP_COLUMNS))
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    return frame
