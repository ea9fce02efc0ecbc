"""The page, tables and figures every HTML report is made of (inline CSS, no script)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from components.reports.svg import format_number

STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 16px 24px;
       color: #222; background: #fff; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 4px 0; }
h2 { font-size: 16px; margin: 22px 0 8px 0; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
p.meta { color: #555; margin: 2px 0; font-size: 13px; }
.status { padding: 8px 12px; border-radius: 4px; margin: 10px 0; font-size: 14px; }
.status.ok { background: #e8f5e9; border: 1px solid #a5d6a7; }
.status.warn { background: #fff3e0; border: 1px solid #ffb74d; }
.status.bad { background: #ffebee; border: 1px solid #e57373; }
table { border-collapse: collapse; font-size: 12px; margin: 4px 0 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f5f5f5; }
td.text, th.text { text-align: left; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.card { border: 1px solid #ddd; border-radius: 4px; padding: 6px 10px; min-width: 110px; }
.card .label { color: #666; font-size: 11px; }
.card .value { font-size: 17px; font-weight: bold; }
figure { margin: 6px 0 12px 0; }
figcaption { color: #555; font-size: 12px; }
code { background: #f5f5f5; padding: 0 3px; }
"""


def _missing(value: Any) -> bool:
    """NaN-likes (pandas NaT and NA too): the only values that are not equal to themselves."""
    if isinstance(value, str | bytes | int):
        return False
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pd.NA: its truth value is ambiguous
        return True


def cell(value: Any, percent: bool = False) -> str:
    """A value as table text: numbers rounded, times in UTC, missing values as a dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if _missing(value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC") if value.tzinfo else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return format_number(value, percent)
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        return cell(value.to_pydatetime())
    if hasattr(value, "item"):  # a numpy scalar
        return cell(value.item(), percent)
    return str(value)


def table(
    rows: Iterable[Mapping[Any, Any]],
    columns: Sequence[str],
    *,
    headers: Mapping[str, str] | None = None,
    percent: Iterable[str] = (),
    text: Iterable[str] = (),
    css_class: str = "",
) -> str:
    """An HTML table of ``rows`` (mappings) with ``columns`` in order; ``percent`` columns are
    fractions shown as percentages, ``text`` columns are left-aligned."""
    headers = headers or {}
    as_percent, as_text = set(percent), set(text)
    head = "".join(
        f'<th class="{"text" if c in as_text else ""}">{escape(headers.get(c, c))}</th>' for c in columns
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{"text" if c in as_text else ""}">{escape(cell(row.get(c), c in as_percent))}</td>'
            for c in columns
        )
        body.append(f"<tr>{cells}</tr>")
    cls = f' class="{css_class}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def cards(items: Sequence[tuple[str, Any, bool]]) -> str:
    """Headline figures: ``(label, value, percent)``."""
    out = []
    for label, value, percent in items:
        out.append(
            f'<div class="card"><div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(cell(value, percent))}</div></div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def page(title: str, body: Sequence[str], subtitle: Sequence[str] = ()) -> str:
    """A whole HTML document: inline style, no script, nothing loaded from elsewhere."""
    meta = "".join(f'<p class="meta">{escape(line)}</p>' for line in subtitle)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{meta}{''.join(body)}</body></html>\n"
    )
