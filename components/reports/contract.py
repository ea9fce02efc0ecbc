"""The data contract's report (:class:`~components.contracts.ValidationReport`) as Markdown.

Every rule with its outcome and counts, then each blocking rule and each note (a warning or a rule
with findings, e.g. filled gaps) with its sample values. The rules are rendered generically: the
report does not know which dataset or which rules it shows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.contracts import RuleResult, ValidationReport

MAX_SAMPLE_CHARS = 300


def _md(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    if value is None or value == "":
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > MAX_SAMPLE_CHARS:
        text = text[:MAX_SAMPLE_CHARS] + "…"
    fence = "``" if "`" in text else "`"
    return f"{fence}{text.replace(chr(10), ' ')}{fence}"


def contract_markdown(report: ValidationReport) -> str:
    """The report: headline, facts, the table of every rule, the blocking rules and the notes."""
    rules, blocking = report.rules, report.blocking
    if report.success:
        headline = "# Data contract holds"
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
    return "\n".join(lines).rstrip() + "\n"


def _details(rule: RuleResult) -> list[str]:
    column = f" on `{rule.column}`" if rule.column else ""
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
