"""The reports of ``components.reports`` on made-up data of a dataset the code has never heard of
(series keys ``region`` x ``code``, codes with leading zeros): what each page says, that every plot
is well-formed SVG, that nothing is loaded from elsewhere, and (marked ``browser``) that Chromium draws
the plots (screenshots under ``test-artifacts/report-synthetic-*.png``).

The same reports made by a real pipeline run are checked in ``tests/pipeline/test_pipeline_local.py``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components.contracts import Drift, Freshness, MonitoringSummary, ValidationReport
from components.reports.backtest import backtest_html, read_backtest_folder
from components.reports.contract import contract_markdown
from components.reports.monitoring import monitoring_html
from components.reports.names import MONITOR_METRICS, TRAIN_METRICS, backtest_metric
from components.reports.svg import PALETTE, Line, line_chart, nice_ticks, time_ticks
from tests.browser_fixtures import chromium_or_skip
from tests.conftest import EBN_2019
from tests.report_rendering import markdown_page, pixels_of, screenshot

KEYS = ("region", "code")
SERIES = [("N", "01"), ("N", "02"), ("S", "01"), ("S", "10")]
START = datetime(2024, 3, 1, tzinfo=UTC)


def svgs(page: str) -> list[ET.Element]:
    """Every inline ``<svg>`` of a page, parsed as XML (a malformed one fails the test)."""
    return [ET.fromstring(found) for found in re.findall(r"<svg.*?</svg>", page, flags=re.S)]


def labels(page: str) -> set[str]:
    ns = "{http://www.w3.org/2000/svg}"
    return {line.get("data-label", "") for svg in svgs(page) for line in svg.iter(f"{ns}polyline")}


def assert_self_contained(page: str) -> None:
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']""", page)
    assert not re.search(r"url\(", page)


def scores(frame: pd.DataFrame, by: list[str] | None) -> pd.DataFrame:
    def one(part: pd.DataFrame) -> pd.Series:
        err = (part["actual"] - part["forecast"]).abs()
        return pd.Series(
            {
                "mape": float((err / part["actual"].abs()).mean()),
                "wape": float(err.sum() / part["actual"].abs().sum()),
                "rmse": float(np.sqrt((err**2).mean())),
                "n": float(len(part)),
            }
        )

    if not by:
        return pd.DataFrame([one(frame)])
    return frame.groupby(by, sort=True).apply(one, include_groups=False).reset_index()


@pytest.fixture(scope="module")
def backtest_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What training logs under ``backtest/``: two origins, 24 h ahead, the model and two naives."""
    rng = np.random.default_rng(3)
    rows = []
    for origin_day in (1, 2):
        origin = START + timedelta(days=origin_day)
        for region, code in SERIES:
            level = 100.0 if region == "N" else 40.0
            for h in range(1, 25):
                moment = origin + timedelta(hours=h)
                actual = level * (1.3 + np.sin(moment.hour / 24 * 2 * np.pi))
                for method, noise in (("model", 0.04), ("naive_24", 0.12), ("naive_168", 0.2)):
                    scale = 3 if (region, code) == ("S", "10") else 1  # the worst series
                    rows.append(
                        {
                            "method": method,
                            "origin": origin,
                            "region": region,
                            "code": code,
                            "datetime_utc": moment,
                            "horizon": h,
                            "actual": actual,
                            "forecast": actual * (1 + rng.normal(0, noise * scale)),
                            "forecast_lower": np.nan,
                            "forecast_upper": np.nan,
                        }
                    )
    predictions = pd.DataFrame(rows)
    predictions["region"] = predictions["region"].astype("string")
    predictions["code"] = predictions["code"].astype("string")
    folder = tmp_path_factory.mktemp("backtest")
    for method, part in predictions.groupby("method"):
        views = {
            "overall": scores(part, None),
            "per_origin": scores(part, ["origin"]),
            "per_series": scores(part, list(KEYS)),
            "per_horizon": scores(part, ["horizon"]),
        }
        for view, table in views.items():
            table.to_csv(folder / f"{method}_{view}.csv", index=False)
    predictions.to_parquet(folder / "backtest_predictions.parquet", index=False)
    return folder


INFO = {
    "model_name": "energy-forecaster-somewhere",
    "version": "3",
    "run_id": "abc123",
    "tracking_uri": "sqlite:///mlflow.db",
    "snapshot": "gs://bucket/features/g/v1/snapshots/20240303T0000Z.parquet",
    "promoted": True,
    "alias": "champion",
    "reason": "v3 backtest WAPE 0.04 <= champion v2 re-scored on the same snapshot 0.05",
    "champion_wape": 0.05,
    "champion_version": "2",
    "origins": "2",
    "horizon": "24",
}


@pytest.fixture(scope="module")
def backtest_page(backtest_folder: Path) -> str:
    return backtest_html(read_backtest_folder(backtest_folder), INFO)


def test_backtest_report(backtest_page: str, backtest_folder: Path) -> None:
    backtest = read_backtest_folder(backtest_folder)
    assert backtest.methods == ["model", "naive_24", "naive_168"]
    # series codes keep their spelling (read as text, not as numbers)
    assert list(backtest.tables["model"]["per_series"]["code"]) == ["01", "02", "01", "10"]
    page = backtest_page
    assert_self_contained(page)
    assert "Backtest of energy-forecaster-somewhere v3" in page
    assert "promoted to champion" in page and "champion v2 WAPE" in page
    assert {"observed", "model forecast", "naive_24", "naive_168", "model"} <= labels(page)
    for section in ("Accuracy per hour ahead", "Accuracy per origin", "Worst series"):
        assert section in page
    worst = page.split("Worst series")[1]
    assert worst.index(">10<") < worst.index(">01<"), "the worst series (S/10) comes first"
    assert "Worst series S / 10: forecast vs observed" in page
    wape = float(backtest.tables["model"]["overall"]["wape"].iloc[0])
    assert f"{wape * 100:.3g}%" in page
    assert len(svgs(page)) == 3


def test_backtest_report_of_an_empty_run() -> None:
    page = backtest_html(read_backtest_folder(Path("/nonexistent")), {"version": "1"})
    assert "No backtest tables" in page
    assert_self_contained(page)


def monitoring_inputs(with_pairs: bool) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    runs = [START + timedelta(days=d) for d in range(3)]
    pairs = []
    for run in runs if with_pairs else []:
        for region, code in SERIES:
            for h in range(1, 25):
                moment = run + timedelta(hours=h - 1)
                observed = 50 + 10 * np.sin(h / 4)
                pairs.append(
                    {
                        "run_id": run.strftime("%Y%m%dT%H%MZ"),
                        "region": region,
                        "code": code,
                        "datetime_utc": moment,
                        "horizon": h,
                        "forecast": observed * 1.07,
                        "observed": observed,
                    }
                )
    frame = pd.DataFrame(pairs, columns=["run_id", *KEYS, "datetime_utc", "horizon", "forecast", "observed"])
    by_run = pd.DataFrame(
        {
            "run_id": [r.strftime("%Y%m%dT%H%MZ") for r in runs],
            "scheduled_time": pd.to_datetime(runs, utc=True),
            "n": 96,
            "mape": [0.07, 0.08, 0.2],
            "wape": [0.07, 0.08, 0.2],
        }
    )
    by_series = pd.DataFrame(
        {
            "region": ["N", "N", "S", "S"],
            "code": ["01", "02", "01", "10"],
            "n": 72,
            "mape": 0.1,
            "wape": [0.05, 0.3, 0.1, 0.2],
        }
    )
    by_horizon = pd.DataFrame(
        {"horizon": range(1, 25), "n": 12, "mape": 0.07, "wape": np.linspace(0.05, 0.12, 24)}
    )
    summary = MonitoringSummary(
        run_id="20240304T0000Z",
        generated_at=START + timedelta(days=3),
        evaluated_forecast_runs=3 if with_pairs else 0,
        evaluated_pairs=len(frame),
        overall_mape=0.07 if with_pairs else None,
        overall_wape=0.07 if with_pairs else None,
        rolling_wape=0.18 if with_pairs else None,
        wape_threshold=0.15,
        needs_attention=with_pairs,
        reason="rolling WAPE 0.180 over the last 3 forecast runs exceeds the threshold 0.150"
        if with_pairs
        else "no stored forecast has observations yet",
        freshness=Freshness(newest_observation=START + timedelta(days=3), age_hours=1.0),
        drift=Drift(
            psi=0.07,
            reference_start=START,
            reference_end=START + timedelta(days=2),
            current_start=START + timedelta(days=2),
            current_end=START + timedelta(days=3),
        )
        if with_pairs
        else None,
        tables={},
    ).model_dump(mode="json")
    if not with_pairs:
        return summary, {"pairs": frame}
    return summary, {
        "pairs": frame,
        "by_forecast_run": by_run,
        "by_series": by_series,
        "by_horizon": by_horizon,
    }


def test_monitoring_report() -> None:
    summary, tables = monitoring_inputs(with_pairs=True)
    page = monitoring_html(summary, tables, {"summary_uri": "gs://b/monitoring/runs/x/summary.json"})
    assert_self_contained(page)
    assert "Monitoring 20240304T0000Z" in page
    assert 'class="status bad"' in page and "exceeds the threshold" in page
    assert {"observed", "WAPE"} <= labels(page)
    assert any(label.startswith("forecast 2024030") for label in labels(page))
    assert 'class="reference"' in page  # the alert threshold line
    worst = page.split("Worst series")[1]
    assert worst.index(">02<") < worst.index(">10<")
    assert "18%" in page and "0.07" in page  # rolling WAPE, PSI


def test_monitoring_report_before_any_observation() -> None:
    summary, tables = monitoring_inputs(with_pairs=False)
    page = monitoring_html(summary, tables)
    assert 'class="status ok"' in page and "No stored forecast has observations yet" in page
    assert "not computed" in page  # no drift yet
    assert labels(page) == set()
    assert_self_contained(page)


RESULT = ValidationReport.model_validate({
    "success": False,
    "suite": "some_contract",
    "window": {"start": "2024-03-01T00:00:00+00:00", "end": "2024-03-04T00:00:00+00:00", "hours": 72},
    "rows": 288,
    "series": 4,
    "source": "api:SomeDataset",
    "statistics": {"evaluated_rules": 4, "successful_rules": 2, "unsuccessful_rules": 1, "warnings": 1},
    "failed_rules": ["code_in_set"],
    "warnings": ["short_gaps_filled"],
    "filled_gaps": [{"series": ["A"], "start": "2024-03-02T05:00:00+00:00", "hours": 2}],
    "rules": [
        {"rule": "not_null", "column": "code", "success": True, "check": "expect_not_null", "engine": "gx",
         "unexpected_count": 0, "element_count": 288, "sample_values": []},
        {"rule": "code_in_set", "column": "code", "success": False, "check": "expect_in_set", "engine": "gx",
         "unexpected_count": 2, "element_count": 288, "sample_values": ["9|9", "X"], "observed": None},
        {"rule": "complete_hourly_grid", "column": "datetime_utc", "success": True, "check": "grid",
         "engine": "pandas", "unexpected_count": 0, "element_count": 288, "sample_values": []},
        {"rule": "short_gaps_filled", "column": "energy_consumption", "success": False, "severity": "warning",
         "check": "fill_short_gaps", "engine": "pandas", "unexpected_count": 2,
         "sample_values": ["A: 2024-03-02T05:00:00+00:00 (2 h)"]},
    ],
})  # fmt: skip


def test_contract_report() -> None:
    from markdown_it import MarkdownIt

    text = contract_markdown(RESULT)
    assert text.startswith("# Data contract BROKEN: 1 of 4 rules failed (code_in_set)")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == (1 + 7) + (1 + 4)  # the facts table and the rules table, header rows included
    assert "| 2 | code_in_set | code | **FAIL** | 2 | 288 |" in text
    assert "| 4 | short_gaps_filled | energy_consumption | warning | 2 |" in text
    assert "### code_in_set on `code`" in text and "`9|9`" in text and "`X`" in text
    assert "| filled gaps | 1 |" in text
    notes = text.split("## Notes (reported, not blocking)")[1]
    assert "### short_gaps_filled" in notes and "code_in_set" not in notes


def test_a_warning_alone_does_not_break_the_contract_report() -> None:
    """Filled gaps are a warning: the report says the contract holds and lists them as a note."""
    rules = [RESULT.rules[0], RESULT.rules[3]]
    stats = {"evaluated_rules": 2, "successful_rules": 1, "unsuccessful_rules": 0, "warnings": 1}
    ok = contract_markdown(
        RESULT.model_validate({**RESULT.model_dump(), "success": True, "failed_rules": [], "rules": rules,
                               "statistics": stats})
    )  # fmt: skip
    assert ok.startswith("# Data contract holds\n") and "No rule failed." in ok
    assert "## Notes (reported, not blocking)" in ok and "**FAIL**" not in ok


def test_metric_names() -> None:
    assert TRAIN_METRICS[:3] == ("wape", "mape", "rmse")
    assert backtest_metric("wape", "naive_24") in TRAIN_METRICS and "promoted" in TRAIN_METRICS
    assert len(set(TRAIN_METRICS)) == len(TRAIN_METRICS) == 13
    assert "needs_attention" in MONITOR_METRICS and "rolling_wape" in MONITOR_METRICS


def test_svg_axes() -> None:
    assert nice_ticks(0.0, 0.23) == [0.0, 0.05, 0.1, 0.15, 0.2]
    ticks, fmt = time_ticks(START.timestamp(), (START + timedelta(days=3)).timestamp())
    assert fmt == "%m-%d %H:%M" and ticks[0] == START.timestamp()
    empty = line_chart([], title="nothing")
    assert "no data to plot" in empty and ET.fromstring(empty) is not None
    one = line_chart([Line("x", [1.0], [2.0], PALETTE[0])], title="a point")
    assert "<circle" in one and ET.fromstring(one) is not None


@pytest.mark.browser
def test_reports_render_in_chromium(backtest_page: str, tmp_path: Path) -> None:
    """Chromium opens each page offline and draws its plots (the model's blue line is on screen)."""
    chromium = chromium_or_skip()
    summary, tables = monitoring_inputs(with_pairs=True)
    pages = {
        "report-synthetic-backtest": backtest_page,
        "report-synthetic-monitoring": monitoring_html(summary, tables),
        "report-synthetic-contract": markdown_page(contract_markdown(RESULT)),
    }
    for name, page in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(page, encoding="utf-8")
        shot = screenshot(chromium, path, name, tmp_path / "profile")
        if name != "report-synthetic-contract":
            assert pixels_of(shot, PALETTE[0]) > 500, f"no plotted line in {shot}"


@pytest.fixture(scope="module")
def spike_report() -> ValidationReport:
    """The real 2019 export around DK1's 41,653.78 MWh on 2019-08-16 08:00 UTC."""
    from components.datasets import get_spec
    from components.extract import extract_snapshot
    from components.validation import check_contract

    spec = get_spec("ElectricityBalanceNonv")
    raw = extract_snapshot(EBN_2019, spec, datetime(2019, 8, 20, tzinfo=UTC), 0, 21)
    return check_contract(raw.frame, raw.window, spec).report


def test_contract_report_lists_the_real_quarantined_point(spike_report: ValidationReport) -> None:
    from markdown_it import MarkdownIt

    text = contract_markdown(spike_report)
    assert text.startswith("# Data contract holds: 1 point quarantined\n")
    assert "| quarantined points | 1 |" in text
    section = text.split("## Quarantined points (1)")[1]
    assert "(value_range: 1)" in section
    row = next(line for line in section.splitlines() if line.startswith("| DK1 "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    replacement = spike_report.quarantined[0].replacement
    assert replacement is not None and 1_000 < replacement < 5_000
    assert cells == ["DK1", "2019-08-16T08:00:00+00:00", "41,653.78", "value_range", f"{replacement:,.2f}"]
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    assert sum(t.type == "table_open" for t in tokens) == 3  # facts, rules, quarantined points


def test_contract_report_bounds_the_listed_points_and_gaps() -> None:
    from components.reports.contract import MAX_LISTED

    hour = datetime(2024, 3, 2, tzinfo=UTC)
    points = [
        {"series": ["A"], "hour": hour + timedelta(hours=i), "value": None, "rule": "null_value",
         "replacement": None if i % 2 else 1.5}
        for i in range(MAX_LISTED + 3)
    ]  # fmt: skip
    gaps = [{"series": ["A"], "start": hour, "hours": 5}, {"series": ["B"], "start": hour, "hours": 7}]
    report = RESULT.model_validate({**RESULT.model_dump(), "quarantined": points, "long_gaps": gaps})
    text = contract_markdown(report)
    assert text.startswith("# Data contract BROKEN")
    assert f"… and 3 more (the JSON report lists all {MAX_LISTED + 3})." in text
    listed = text.split("## Quarantined points")[1].split("## Long gaps")[0]
    assert listed.count("| null_value |") == MAX_LISTED
    assert "| A | 2024-03-02T01:00:00+00:00 | null | null_value | left missing |" in listed
    assert "| A | 2024-03-02T00:00:00+00:00 | null | null_value | 1.50 |" in listed
    assert "## Long gaps, left missing (2, 12 h)" in text and "| B | 2024-03-02T00:00:00+00:00 | 7 |" in text
    assert report.quarantine_counts() == {
        "null_value": MAX_LISTED + 3, "value_range": 0, "impossible_zero": 0, "stuck_value": 0, "spike": 0
    }  # fmt: skip


@pytest.mark.parametrize("label", ["x`|`y", "`edge`", "a``b", " lead"])
def test_contract_report_survives_backticks_and_pipes_from_upstream(label: str) -> None:
    """Labels and samples come from the source: a backtick or a pipe in them breaks no code span or cell."""
    from markdown_it import MarkdownIt

    point = {"series": [label], "hour": "2024-03-02T05:00:00+00:00", "value": 0.0, "rule": "impossible_zero",
             "replacement": 2.0}  # fmt: skip
    rules = [
        r.model_copy(update={"sample_values": [label]}) if r.rule == "code_in_set" else r
        for r in RESULT.rules
    ]
    report = RESULT.model_validate({**RESULT.model_dump(), "rules": rules, "quarantined": [point]})
    tokens = MarkdownIt("commonmark").enable("table").parse(contract_markdown(report))
    inline = [t for t in tokens if t.type == "inline"]
    codes = [c.content for t in inline for c in t.children or [] if c.type == "code_inline"]
    assert label in codes  # the sample, as one whole code span
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == (1 + 8) + (1 + 4) + (1 + 1)  # no row split by the pipe
    shown = ["".join(c.content for c in t.children or []) for t in inline]
    assert label.strip() in shown  # the series cell shows the label as the source wrote it
