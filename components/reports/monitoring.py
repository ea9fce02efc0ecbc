"""The monitoring summary as an HTML page: the alert and why, rolling and overall accuracy, drift,
freshness, forecast vs observed, accuracy per forecast run and per hour ahead, the worst series.

Input: the summary (``components.contracts.MonitoringSummary`` as a dict) and its tables
(``by_forecast_run``, ``by_series``, ``by_horizon``, ``pairs``); series keys are the columns that are
not values, so the page names no dataset column.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from components.reports import page
from components.reports.svg import OBSERVED, PALETTE, HLine, Line, line_chart
from components.schemas import DATETIME

if TYPE_CHECKING:
    import pandas as pd

PAIR_VALUES = frozenset({"run_id", DATETIME, "horizon", "forecast", "observed"})
SCORE_VALUES = frozenset({"n", "mape", "wape"})
RECENT_RUNS_PLOTTED = 3
WORST_SERIES = 10


def _keys(frame: pd.DataFrame, values: frozenset[str]) -> list[str]:
    return [c for c in frame.columns if c not in values]


def _observed_vs_forecast(pairs: pd.DataFrame) -> str:
    import pandas as pd

    keys = _keys(pairs, PAIR_VALUES)
    frame = pairs.assign(**{DATETIME: pd.to_datetime(pairs[DATETIME], utc=True)})
    observed = (
        frame.drop_duplicates([*keys, DATETIME]).groupby(DATETIME, sort=True)["observed"].sum(min_count=1)
    )
    lines = [
        Line(
            "observed",
            [t.to_pydatetime() for t in observed.index],
            [float(v) for v in observed],
            OBSERVED,
            width=2.0,
        )
    ]
    runs = sorted(frame["run_id"].astype(str).unique())[-RECENT_RUNS_PLOTTED:]
    for index, run in enumerate(runs):
        part = (
            frame[frame["run_id"].astype(str) == run]
            .groupby(DATETIME, sort=True)["forecast"]
            .sum(min_count=1)
        )
        lines.append(
            Line(
                f"forecast {run}",
                [t.to_pydatetime() for t in part.index],
                [float(v) for v in part],
                PALETTE[index % len(PALETTE)],
            )
        )
    over = " over " + " x ".join(keys) if keys else ""
    return line_chart(
        lines, title="Forecast vs observed, all series summed", y_label=f"total{over}", time_axis=True
    )


def monitoring_html(
    summary: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], info: Mapping[str, Any] | None = None
) -> str:
    """The page. ``info`` may hold ``summary_uri`` and ``snapshot`` (shown under the title)."""
    import pandas as pd

    info = info or {}
    run = summary.get("run_id", "?")
    subtitle = [f"generated {summary.get('generated_at', '?')}"]
    if info.get("summary_uri"):
        subtitle.append(f"summary {info['summary_uri']}")
    if info.get("snapshot"):
        subtitle.append(f"observations from feature snapshot {info['snapshot']}")
    body: list[str] = []
    attention = bool(summary.get("needs_attention"))
    css = "bad" if attention else "ok"
    verdict = "needs attention" if attention else "no alert"
    body.append(
        f'<div class="status {css}"><b>{verdict}</b>: {escape(str(summary.get("reason") or ""))}</div>'
    )

    freshness = summary.get("freshness") or {}
    drift = summary.get("drift") or {}
    threshold = summary.get("wape_threshold")
    body.append(
        page.cards(
            [
                ("rolling WAPE", summary.get("rolling_wape"), True),
                ("WAPE threshold", threshold, True),
                ("overall WAPE", summary.get("overall_wape"), True),
                ("overall MAPE", summary.get("overall_mape"), True),
                ("rolling P10-P90 coverage", summary.get("rolling_coverage_80"), True),
                ("rolling pinball loss", summary.get("rolling_pinball"), True),
                ("drift PSI", drift.get("psi"), False),
                ("data age (hours)", freshness.get("age_hours"), False),
                ("forecast runs evaluated", summary.get("evaluated_forecast_runs"), False),
                ("pairs evaluated", summary.get("evaluated_pairs"), False),
            ]
        )
    )
    facts = [
        {"what": "newest observation", "value": freshness.get("newest_observation")},
        {"what": "data age (hours)", "value": freshness.get("age_hours")},
    ]
    if drift:
        facts += [
            {"what": "drift PSI (target, last week vs before)", "value": drift.get("psi")},
            {
                "what": "drift reference window",
                "value": f"[{drift.get('reference_start')}, {drift.get('reference_end')})",
            },
            {
                "what": "drift current window",
                "value": f"[{drift.get('current_start')}, {drift.get('current_end')})",
            },
        ]
    else:
        facts.append({"what": "drift PSI", "value": "not computed (too little history)"})
    body.append(page.table(facts, ["what", "value"], text=("what", "value")))

    pairs = tables.get("pairs")
    if pairs is None or pairs.empty:
        body.append("<h2>Forecast vs observed</h2><p>No stored forecast has observations yet.</p>")
    else:
        body.append("<h2>Forecast vs observed</h2>")
        body.append(
            page.figure(
                _observed_vs_forecast(pairs),
                f"The {RECENT_RUNS_PLOTTED} most recent evaluated forecast runs and what was observed since.",
            )
        )

    by_run = tables.get("by_forecast_run")
    if by_run is not None and not by_run.empty:
        frame = by_run.sort_values("scheduled_time")
        times = [t.to_pydatetime() for t in pd.to_datetime(frame["scheduled_time"], utc=True)]
        hlines = [HLine("alert threshold", float(threshold))] if isinstance(threshold, int | float) else []
        body.append("<h2>Accuracy per forecast run</h2>")
        body.append(
            page.figure(
                line_chart(
                    [Line("WAPE", times, [float(v) for v in frame["wape"]], PALETTE[0])],
                    hlines=hlines,
                    title="WAPE per forecast run",
                    y_label="WAPE",
                    time_axis=True,
                    percent=True,
                    zero=True,
                ),
                "By the forecast run's scheduled hour.",
            )
        )
        body.append(
            page.table(
                frame.tail(24).iloc[::-1].to_dict("records"),
                ["run_id", "scheduled_time", "n", "wape", "mape"],
                headers={
                    "run_id": "forecast run",
                    "scheduled_time": "scheduled",
                    "n": "pairs",
                    "wape": "WAPE",
                    "mape": "MAPE",
                },
                percent=("wape", "mape"),
                text=("run_id", "scheduled_time"),
            )
        )

    by_horizon = tables.get("by_horizon")
    if by_horizon is not None and not by_horizon.empty:
        frame = by_horizon.sort_values("horizon")
        body.append("<h2>Accuracy per hour ahead</h2>")
        body.append(
            page.figure(
                line_chart(
                    [
                        Line(
                            "WAPE",
                            [int(h) for h in frame["horizon"]],
                            [float(v) for v in frame["wape"]],
                            PALETTE[0],
                        )
                    ],
                    title="WAPE per hour ahead",
                    y_label="WAPE",
                    percent=True,
                    zero=True,
                ),
                "Hours after the forecast's origin, over every evaluated run.",
            )
        )

    by_series = tables.get("by_series")
    if by_series is not None and not by_series.empty:
        keys = _keys(by_series, SCORE_VALUES)
        worst = by_series.sort_values("wape", ascending=False).head(WORST_SERIES)
        body.append(f"<h2>Worst series (highest WAPE, {len(worst)} of {len(by_series)})</h2>")
        body.append(
            page.table(
                worst.to_dict("records"),
                [*keys, "wape", "mape", "n"],
                headers={"wape": "WAPE", "mape": "MAPE", "n": "pairs"},
                percent=("wape", "mape"),
                text=keys,
            )
        )
    return page.page(f"Monitoring {run}", body, subtitle)
