"""The data contract's report (:class:`~components.contracts.ValidationReport`) as Markdown.

Every rule with its outcome and counts, then each blocking rule and each note (a warning or a rule
with findings, e.g. filled gaps) with its sample values, then the quarantined points and the long
gaps (the first :data:`MAX_LISTED` of each; the JSON report keeps them all). The rules are rendered
generically: the report does not know which dataset or which rules it shows.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.contracts import FilledGap, QuarantinedPoint, RuleResult, ValidationReport

MAX_SAMPLE_CHARS = 300
MAX_LISTED = 50
"""quarantined points (and long gaps) listed in the page; the rest are counted"""


def _md(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    if value is None or value == "":
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("\n", " ")


def _code(value: Any) -> str:
    """``value`` as a code span that no backtick inside it can close early (CommonMark: the fence
    is longer than any run of backticks inside, padded when the text starts or ends with one)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > MAX_SAMPLE_CHARS:
        text = text[:MAX_SAMPLE_CHARS] + "…"
    text = text.replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def contract_markdown(report: ValidationReport) -> str:
    """The report: headline, facts, the table of every rule, the blocking rules and the notes."""
    rules, blocking = report.rules, report.blocking
    quarantined, long_gaps = len(report.quarantined), len(report.long_gaps)
    if report.success:
        found = [f"{_count(quarantined, 'point')} quarantined"] if quarantined else []
        found += [f"{_count(long_gaps, 'long gap')} left missing"] if long_gaps else []
        headline = "# Data contract holds" + (f": {', '.join(found)}" if found else "")
    else:
        headline = (
            f"# Data contract BROKEN: {len(blocking)} of {len(rules)} rules failed "
            f"({', '.join(report.failed_rules)})"
        )
    lines = [headline, ""]
    stats = report.statistics
    window = report.window
    hours = f" ({window.hours} h)" if window.hours else ""
    facts: list[tuple[str, Any]] = [
        ("suite", report.suite),
        ("dataset", report.dataset),
        ("window", f"[{window.start.isoformat()}, {window.end.isoformat()}){hours}"),
        ("rows", report.rows),
        ("series", report.series),
        ("source", report.source),
        (
            "rules",
            f"{stats.evaluated_rules} evaluated, {stats.successful_rules} passed, "
            f"{stats.unsuccessful_rules} failed, {stats.warnings} warnings",
        ),
        ("filled gaps", len(report.filled_gaps) or None),
        ("quarantined points", quarantined or None),
        ("long gaps", f"{long_gaps:,} ({report.long_gap_hours:,} h left missing)" if long_gaps else None),
        ("Great Expectations", report.great_expectations.get("version")),
    ]
    lines += ["| fact | value |", "|---|---|"]
    lines += [f"| {_md(name)} | {_md(value)} |" for name, value in facts if value is not None]

    lines += ["", "## Rules", ""]
    lines += [
        "| # | rule | column | result | unexpected | of | check | engine |",
        "|---:|---|---|---|---:|---:|---|---|",
    ]
    for index, rule in enumerate(rules, start=1):
        outcome = "**FAIL**" if rule.blocking else ("warning" if not rule.success else "pass")
        lines.append(
            f"| {index} | {_md(rule.rule)} | {_md(rule.column)} | {outcome} | "
            f"{_md(rule.unexpected_count)} | {_md(rule.element_count)} | "
            f"{_md(rule.check)} | {_md(rule.engine)} |"
        )
    if not rules:
        lines.append("| - | no rule was evaluated | | | | | | |")

    lines += ["", "## Failed rules", ""]
    if not blocking:
        lines.append("No rule failed.")
    for rule in blocking:
        lines += _details(rule)
    if report.notes:
        lines += ["", "## Notes (reported, not blocking)", ""]
        for rule in report.notes:
            lines += _details(rule)
    if report.quarantined:
        lines += _quarantined(report)
    if report.long_gaps:
        lines += _long_gaps(report)
    return "\n".join(lines).rstrip() + "\n"


def _series(codes: list[str], labels: dict[str, dict[str, str]]) -> str:
    """``DK1`` or ``111 Agriculture / DK1``: each code with the label the records gave it."""

    def one(code: str) -> str:
        label = next((names[code] for names in labels.values() if code in names), "")
        return code if not label or label == code else f"{code} {label}"

    return " / ".join(one(code) for code in codes)


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def _number(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:,.2f}"


def _more(shown: int, total: int) -> list[str]:
    return (
        [] if total <= shown else ["", f"… and {total - shown:,} more (the JSON report lists all {total:,})."]
    )


def _quarantined(report: ValidationReport) -> list[str]:
    points: list[QuarantinedPoint] = report.quarantined
    counts = ", ".join(f"{rule}: {n:,}" for rule, n in report.quarantine_counts().items() if n)
    lines = [
        "",
        f"## Quarantined points ({len(points):,})",
        "",
        f"Observations the contract did not believe ({counts}): each became missing, then was filled "
        "like a short gap or, inside a long gap, left missing.",
        "",
        f"| series | hour (UTC) | value ({_md(report.unit)}) | rule | replacement |",
        "|---|---|---:|---|---:|",
    ]
    lines += [
        f"| {_md(_series(p.series, report.labels))} | {p.hour.isoformat()} | {_number(p.value, 'null')} | "
        f"{p.rule} | {_number(p.replacement, 'left missing')} |"
        for p in points[:MAX_LISTED]
    ]
    return lines + _more(MAX_LISTED, len(points))


def _long_gaps(report: ValidationReport) -> list[str]:
    gaps: list[FilledGap] = report.long_gaps
    lines = [
        "",
        f"## Long gaps, left missing ({len(gaps):,}, {report.long_gap_hours:,} h)",
        "",
        "| series | first missing hour (UTC) | hours |",
        "|---|---|---:|",
    ]
    lines += [
        f"| {_md(_series(g.series, report.labels))} | {g.start.isoformat()} | {g.hours:,} |"
        for g in gaps[:MAX_LISTED]
    ]
    return lines + _more(MAX_LISTED, len(gaps))


def _details(rule: RuleResult) -> list[str]:
    column = f" on {_code(rule.column)}" if rule.column else ""
    of = f" of {rule.element_count:,}" if rule.element_count is not None else ""
    lines = [
        f"### {rule.rule}{column}",
        "",
        f"- check: {_md(rule.check)} ({_md(rule.engine)})",
        f"- unexpected: {_md(rule.unexpected_count)}{of}",
    ]
    if rule.sample_values:
        lines.append("- samples: " + ", ".join(_code(s) for s in rule.sample_values))
    if rule.observed not in (None, "", [], {}):
        lines.append(f"- observed: {_code(rule.observed)}")
    if rule.error:
        lines.append(f"- error: {_md(rule.error)}")
    lines.append("")
    return lines
