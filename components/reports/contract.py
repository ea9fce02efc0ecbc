"""The data contract result (``components.validation``'s JSON) as a Markdown report.

Every rule with its outcome and counts, then each failed rule with its sample values. Only the
result's generic shape is read (``rules`` entries with ``rule``, ``column``, ``success``,
``unexpected_count``, ``element_count``, ``sample_values``, ``check``, ``engine``, ``error``): the
report does not know which dataset or which rules it shows. Top-level facts it does not know (e.g.
counts of filled gaps) are listed as they are.
"""

from __future__ import annotations

import json
from typing import Any

_KNOWN = {
    "success",
    "suite",
    "window",
    "rows",
    "series",
    "statistics",
    "failed_rules",
    "rules",
    "great_expectations",
    "source",
}
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


def contract_markdown(result: dict[str, Any]) -> str:
    """The report: headline, facts, the table of every rule, the failed rules with samples."""
    rules: list[dict[str, Any]] = list(result.get("rules") or [])
    failed = [r for r in rules if not r.get("success")]
    success = bool(result.get("success")) and not failed
    if success:
        headline = "# Data contract holds"
    else:
        names = ", ".join(result.get("failed_rules") or sorted({str(r.get("rule")) for r in failed}))
        headline = f"# Data contract BROKEN: {len(failed)} of {len(rules)} rules failed ({names})"
    lines = [headline, ""]

    window = result.get("window") or {}
    facts: list[tuple[str, Any]] = [("suite", result.get("suite"))]
    if window:
        hours = f" ({window['hours']} h)" if window.get("hours") else ""
        facts.append(("window", f"[{window.get('start')}, {window.get('end')}){hours}"))
    facts += [
        ("rows", result.get("rows")),
        ("series", result.get("series")),
        ("source", result.get("source")),
    ]
    stats = result.get("statistics") or {}
    if stats:
        facts.append(
            (
                "rules",
                f"{stats.get('evaluated_rules', len(rules))} evaluated, "
                f"{stats.get('successful_rules', len(rules) - len(failed))} passed, "
                f"{stats.get('unsuccessful_rules', len(failed))} failed",
            )
        )
    gx = result.get("great_expectations") or {}
    if isinstance(gx, dict) and gx.get("version"):
        facts.append(("Great Expectations", gx["version"]))
    for key in sorted(k for k in result if k not in _KNOWN):
        value = result[key]
        if isinstance(value, str | int | float | bool) or value is None:
            facts.append((key, value))
        else:
            facts.append((key, _code(value)))
    lines += ["| fact | value |", "|---|---|"]
    lines += [f"| {_md(name)} | {_md(value)} |" for name, value in facts if value is not None]

    lines += ["", "## Rules", ""]
    lines += [
        "| # | rule | column | result | unexpected | of | check | engine |",
        "|---:|---|---|---|---:|---:|---|---|",
    ]
    for index, rule in enumerate(rules, start=1):
        outcome = "pass" if rule.get("success") else "**FAIL**"
        lines.append(
            f"| {index} | {_md(rule.get('rule'))} | {_md(rule.get('column'))} | {outcome} | "
            f"{_md(rule.get('unexpected_count'))} | {_md(rule.get('element_count'))} | "
            f"{_md(rule.get('check'))} | {_md(rule.get('engine'))} |"
        )
    if not rules:
        lines.append("| - | no rule was evaluated | | | | | | |")

    lines += ["", "## Failed rules", ""]
    if not failed:
        lines.append("No rule failed.")
    for rule in failed:
        column = f" on `{rule.get('column')}`" if rule.get("column") else ""
        lines += [f"### {rule.get('rule')}{column}", ""]
        of = f" of {rule['element_count']:,}" if isinstance(rule.get("element_count"), int) else ""
        lines.append(f"- check: {_md(rule.get('check'))} ({_md(rule.get('engine'))})")
        lines.append(f"- unexpected: {_md(rule.get('unexpected_count'))}{of}")
        samples = rule.get("sample_values") or []
        if samples:
            lines.append("- samples: " + ", ".join(_code(s) for s in samples))
        if rule.get("observed") not in (None, "", [], {}):
            lines.append(f"- observed: {_code(rule['observed'])}")
        if rule.get("error"):
            lines.append(f"- error: {_md(rule['error'])}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
