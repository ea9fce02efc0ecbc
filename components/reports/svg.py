"""Inline SVG line charts: axes, ticks, a legend, lines, shaded bands and reference lines.

Small and dependency-free on purpose: a report must render in a sandboxed frame with no network,
and an SVG in the page is text a test can read back (every plotted line is a ``polyline`` of class
``series`` with its label in ``data-label``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
OBSERVED = "#111111"

Number = float | int


@dataclass(frozen=True)
class Line:
    """A line; a non-finite ``y`` breaks it (so one Line can hold several segments)."""

    label: str
    x: Sequence[Number | datetime]
    y: Sequence[Number | None]
    color: str
    dash: str | None = None
    width: float = 1.6


@dataclass(frozen=True)
class Band:
    """A shaded area between ``lower`` and ``upper`` (e.g. a forecast interval)."""

    label: str
    x: Sequence[Number | datetime]
    lower: Sequence[Number | None]
    upper: Sequence[Number | None]
    color: str


@dataclass(frozen=True)
class HLine:
    """A horizontal reference line (e.g. an alert threshold)."""

    label: str
    y: float
    color: str = "#888888"


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _num(value: Number | None) -> float:
    """A finite value as float (call after :func:`_finite`)."""
    return float(value) if value is not None else math.nan


def _xnum(value: Number | datetime) -> float:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    return float(value)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[low, high]``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


_TIME_STEPS_H = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720)


def time_ticks(low: float, high: float, count: int = 7) -> tuple[list[float], str]:
    """Tick positions (epoch seconds, on whole hours or UTC midnights) and their ``strftime`` format."""
    span_h = max((high - low) / 3600, 1.0)
    step_h = next((s for s in _TIME_STEPS_H if span_h / s <= count), _TIME_STEPS_H[-1])
    start = datetime.fromtimestamp(low, UTC).replace(minute=0, second=0, microsecond=0)
    start = start.replace(hour=0 if step_h >= 24 else start.hour - start.hour % step_h)
    ticks = []
    moment = start
    while moment.timestamp() <= high:
        if moment.timestamp() >= low:
            ticks.append(moment.timestamp())
        moment += timedelta(hours=step_h)
    return ticks, ("%Y-%m-%d" if step_h >= 24 else "%m-%d %H:%M")


def format_number(value: float, percent: bool = False) -> str:
    if percent:
        return f"{value * 100:.3g}%"
    for size, suffix in ((1e9, "G"), (1e6, "M")):
        if abs(value) >= size:
            return f"{value / size:.4g}{suffix}"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:,.6g}"


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    y_label: str = "",
    bands: Sequence[Band] = (),
    hlines: Sequence[HLine] = (),
    time_axis: bool = False,
    percent: bool = False,
    zero: bool = False,
    width: int = 880,
    height: int = 320,
) -> str:
    """An ``<svg>`` element with the lines, bands and reference lines on shared axes.

    ``time_axis``: x values are datetimes (naive = UTC) shown as dates; ``percent``: y values are
    fractions shown as percentages; ``zero``: the y axis starts at 0.
    """
    left, right, top, bottom = 78, 16, 34, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [_xnum(x) for line in lines for x, y in zip(line.x, line.y, strict=True) if _finite(y)]
    xs += [_xnum(x) for band in bands for x in band.x]
    ys = [_num(y) for line in lines for y in line.y if _finite(y)]
    ys += [_num(v) for band in bands for v in (*band.lower, *band.upper) if _finite(v)]
    ys += [h.y for h in hlines if math.isfinite(h.y)]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    if not xs or not ys:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#666">'
            "no data to plot</text></svg>"
        )
        return "".join(parts)
    x_lo, x_hi = min(xs), max(xs)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    low, high = (0.0 if zero else min(ys)), max(ys)
    top_value = high + (high - low) * 0.06  # headroom: no line is drawn on the frame
    bottom_value = low if zero else low - (high - low) * 0.04
    y_ticks = nice_ticks(bottom_value, top_value)
    y_lo, y_hi = min([*y_ticks, bottom_value]), max([*y_ticks, top_value])
    if y_hi == y_lo:
        y_hi = y_lo + 1

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h

    # grid and y axis
    for tick in y_ticks:
        y = py(tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">'
            f"{escape(format_number(tick, percent))}</text>"
        )
    # x axis
    if time_axis:
        x_ticks, fmt = time_ticks(x_lo, x_hi)
        labels = [datetime.fromtimestamp(t, UTC).strftime(fmt) for t in x_ticks]
    else:
        x_ticks = nice_ticks(x_lo, x_hi, 8)
        x_ticks = [t for t in x_ticks if x_lo <= t <= x_hi]
        labels = [format_number(t) for t in x_ticks]
    for tick, label in zip(x_ticks, labels, strict=True):
        x = px(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#f0f0f0"/>')
        anchor = "end" if x > left + plot_w - 40 else "middle"  # the last label stays inside
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}" fill="#444">'
            f"{escape(label)}</text>"
        )
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    if y_label:
        parts.append(
            f'<text transform="translate(16 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
            f'fill="#444">{escape(y_label)}</text>'
        )
    legend: list[tuple[str, str, str | None, bool]] = []
    for band in bands:
        upper = [(px(_xnum(bx)), py(_num(v))) for bx, v in zip(band.x, band.upper, strict=True) if _finite(v)]
        lower = [(px(_xnum(bx)), py(_num(v))) for bx, v in zip(band.x, band.lower, strict=True) if _finite(v)]
        if upper and lower:
            points = " ".join(f"{px_:.1f},{py_:.1f}" for px_, py_ in [*upper, *reversed(lower)])
            parts.append(
                f'<polygon class="band" data-label="{escape(band.label)}" points="{points}" '
                f'fill="{band.color}" fill-opacity="0.18" stroke="none"/>'
            )
            legend.append((band.label, band.color, None, True))
    for ref in hlines:
        ref_y = py(ref.y)
        parts.append(
            f'<line class="reference" x1="{left}" x2="{left + plot_w}" y1="{ref_y:.1f}" y2="{ref_y:.1f}" '
            f'stroke="{ref.color}" stroke-dasharray="3 3"/>'
        )
        legend.append((ref.label, ref.color, "3 3", False))
    for line in lines:
        segment: list[str] = []
        segments: list[list[str]] = []
        for lx, ly in zip(line.x, line.y, strict=True):
            if _finite(ly):
                segment.append(f"{px(_xnum(lx)):.1f},{py(_num(ly)):.1f}")
            elif segment:
                segments.append(segment)
                segment = []
        if segment:
            segments.append(segment)
        dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{line.color}"/>')
            parts.append(
                f'<polyline class="series" data-label="{escape(line.label)}" points="{" ".join(seg)}" '
                f'fill="none" stroke="{line.color}" stroke-width="{line.width}"{dash} '
                'stroke-linejoin="round"/>'
            )
        if segments and not any(label == line.label for label, *_ in legend):
            legend.append((line.label, line.color, line.dash, False))
    at = float(left)
    y_legend = top + plot_h + 40
    for label, color, pattern, filled in legend:
        if filled:
            parts.append(
                f'<rect x="{at:.1f}" y="{y_legend - 8}" width="18" height="10" '
                f'fill="{color}" fill-opacity="0.3"/>'
            )
        else:
            style = f' stroke-dasharray="{pattern}"' if pattern else ""
            parts.append(
                f'<line x1="{at:.1f}" x2="{at + 18:.1f}" y1="{y_legend - 3}" y2="{y_legend - 3}" '
                f'stroke="{color}" stroke-width="2"{style}/>'
            )
        parts.append(f'<text x="{at + 24:.1f}" y="{y_legend + 1}" fill="#222">{escape(label)}</text>')
        at += 34 + 6.5 * len(label)
    parts.append("</svg>")
    return "".join(parts)
