"""The dashboard against a real API (uvicorn in a thread) serving objects from the GCS emulator.

Pages run under ``streamlit.testing.v1.AppTest`` from the real entry point (``dashboard/app.py``,
``st.navigation``); the client is exercised against the same API. Nothing of ours is mocked.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from components.contracts import RuleResult
from dashboard import charts, validation
from dashboard.__main__ import main as dashboard_main
from dashboard.client import ApiClient, ApiNotFoundError, ApiUnavailableError
from dashboard.settings import DATA_CREDIT, DashboardSettings
from devtools.emulator import GcsEmulator, free_port
from tests.api_fixtures import REFERENCE, SMALL_SERIES, serve_api, wait_for, write_forecast
from tests.dashboard.conftest import (
    APP,
    REPO_ROOT,
    WORST,
    DashboardData,
    api_settings,
    array,
    figures,
    label,
    new_store,
    no_failure,
    open_app,
    populate,
    trace_names,
    unique_bucket,
)

PAGES = {"forecasts": None, "monitoring": "views/monitoring.py", "quality": "views/quality.py"}


def open_page(page: str) -> AppTest:
    return open_app(PAGES[page])


# --- settings and client ---------------------------------------------------------------------------
def test_settings_default_env_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EF_API_URL", "EF_DASHBOARD_API_URL", "EF_DASHBOARD_CACHE_TTL_S"):
        monkeypatch.delenv(name, raising=False)
    assert DashboardSettings().api_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("EF_API_URL", "http://api.example:9000/")
    assert DashboardSettings().api_url == "http://api.example:9000"
    monkeypatch.setenv("EF_DASHBOARD_API_URL", "https://dashboard-api.example")
    assert DashboardSettings().api_url == "https://dashboard-api.example"
    monkeypatch.setenv("EF_DASHBOARD_API_URL", "ftp://nope")
    with pytest.raises(ValueError, match="EF_API_URL must be an http"):
        DashboardSettings()
    monkeypatch.setenv("EF_DASHBOARD_API_URL", "http://host:8000/api/v1")
    with pytest.raises(ValueError, match="without /api/v1"):
        DashboardSettings()
    monkeypatch.delenv("EF_DASHBOARD_API_URL")
    monkeypatch.setenv("EF_DASHBOARD_CACHE_TTL_S", "-1")
    with pytest.raises(ValueError, match="cache_ttl_s"):
        DashboardSettings()


def test_client_reuses_then_revalidates_by_etag(api_url: str, dashboard_data: DashboardData) -> None:
    fresh = ApiClient(api_url, cache_ttl_s=3600)
    first = fresh.series_forecast(("DK1", "111"))
    again = fresh.series_forecast(("DK1", "111"))
    assert again is first and (fresh.stats.fetched, fresh.stats.fresh_hits) == (1, 1)
    assert len(first["observations"]) == 168 and len(first["forecast"]) == 24

    eager = ApiClient(api_url, cache_ttl_s=0)
    one = eager.series_forecast(("DK2", "999"))
    two = eager.series_forecast(("DK2", "999"))
    assert two == one
    assert (eager.stats.fetched, eager.stats.revalidated) == (1, 1)  # the second answer was a 304

    csv = pd.read_csv(io.StringIO(eager.forecasts_csv()))
    assert len(csv) == 24 * len(dashboard_data.series)
    dataset = eager.dataset()
    assert dataset.series(("DK1", "111")) == label(("DK1", "111"))
    assert (dataset.name, dataset.key_names, dataset.unit) == (
        "ConsumptionDE35Hour",
        ("area", "consumer_type"),
        "MWh",
    )


def test_client_errors_are_sentences(api_url: str) -> None:
    down = ApiClient(f"http://127.0.0.1:{free_port()}", connect_timeout_s=1)
    with pytest.raises(ApiUnavailableError, match="is not reachable") as caught:
        down.meta()
    assert "EF_API_URL" in str(caught.value) and "Traceback" not in str(caught.value)
    api = ApiClient(api_url, cache_ttl_s=0)
    with pytest.raises(ApiNotFoundError, match=r"unknown price area.*valid: DK1, DK2"):
        api.series_forecast(("DK3", "111"))


# --- forecasts page --------------------------------------------------------------------------------
def test_forecasts_page_default_view(api_url: str, use_api: Callable[[str], None]) -> None:
    use_api(api_url)
    at = open_page("forecasts")
    no_failure(at)
    [figure] = figures(at)
    names = trace_names(figure)
    for key in (("DK1", "111"), ("DK2", "111")):
        assert label(key) in names and f"{label(key)} — forecast" in names and f"{label(key)} — band" in names
    band = next(t for t in figure["data"] if t["name"].endswith("— band"))
    assert band["fill"] == "toself"
    # the "now" marker: a vertical line at the forecast's scheduled hour
    [shape] = figure["layout"]["shapes"]
    assert pd.Timestamp(shape["x0"]).tz_localize(None) == pd.Timestamp(REFERENCE).tz_localize(None)
    assert any("now" in a["text"] for a in figure["layout"]["annotations"])
    hover = next(t for t in figure["data"] if t["name"] == label(("DK1", "111")))["hovertemplate"]
    assert "kWh" in hover and "MWh" in hover
    assert figure["layout"]["yaxis"]["title"]["text"] == "consumption (MWh)"  # the API's unit

    captions = " ".join(c.value for c in at.caption)
    assert "version 7" in captions and "2023-01-17 23:00 UTC" in captions
    assert DATA_CREDIT in captions
    table = at.dataframe[0].value
    assert len(table) == 2 * (168 + 24)
    assert set(table["kind"]) == {"observed", "forecast"}
    assert {b.label for b in at.download_button} == {
        "Download CSV of what is shown",
        "Download every series (CSV from the API)",
    }


def test_forecasts_selection_and_unit_change_what_is_shown(
    api_url: str, use_api: Callable[[str], None]
) -> None:
    use_api(api_url)
    at = open_page("forecasts")
    mwh = at.dataframe[0].value
    at.multiselect(key="fc_areas").set_value(["DK2"])
    at.multiselect(key="fc_consumer_types").set_value(["441", "999"])
    at.radio(key="fc_unit").set_value("kWh")
    at.run()
    no_failure(at)
    names = trace_names(figures(at)[0])
    assert label(("DK2", "999")) in names and label(("DK2", "441")) in names
    assert label(("DK1", "111")) not in names and label(("DK2", "111")) not in names
    table = at.dataframe[0].value
    assert set(table["series"]) == {label(("DK2", "441")), label(("DK2", "999"))}
    assert "value_kWh" in table and "value_MWh" not in table
    assert figures(at)[0]["layout"]["yaxis"]["title"]["text"] == "consumption (kWh)"
    # same series in both units: the kWh figures are the MWh ones * 1000
    at.multiselect(key="fc_consumer_types").set_value(["111"]).run()
    kwh = at.dataframe[0].value
    dk2 = mwh[mwh["series"] == label(("DK2", "111"))].reset_index(drop=True)
    assert kwh["value_kWh"].to_numpy() == pytest.approx(dk2["value_MWh"].to_numpy() * 1000)
    # the CSV download holds exactly the table
    csv = pd.read_csv(io.BytesIO(charts.table_csv(kwh)))
    assert len(csv) == len(kwh) and list(csv.columns) == list(kwh.columns)
    # nothing chosen: a prompt, no chart
    at.multiselect(key="fc_consumer_types").set_value([]).run()
    no_failure(at)
    assert not figures(at) and any("Pick at least one" in i.value for i in at.info)


def test_forecasts_series_without_forecast_is_named(
    gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    data = populate(unique_bucket("few"), tmp_path, series=SMALL_SERIES)
    with serve_api(data.settings) as url:
        use_api(url)
        at = open_page("forecasts")
        at.multiselect(key="fc_areas").set_value(["DK1"])
        at.multiselect(key="fc_consumer_types").set_value(["111", "112"]).run()
        no_failure(at)
        assert any(label(("DK1", "112")) in i.value for i in at.info)
        assert trace_names(figures(at)[0])[:1] == [f"{label(('DK1', '111'))} — band"]


# --- monitoring page -------------------------------------------------------------------------------
def test_monitoring_page(api_url: str, use_api: Callable[[str], None], dashboard_data: DashboardData) -> None:
    use_api(api_url)
    at = open_page("monitoring")
    no_failure(at)
    assert not at.warning
    assert any("within the alert threshold" in s.value for s in at.success)
    runs, horizon, heat, pairs = figures(at)
    assert trace_names(runs) == ["MAPE", "WAPE"] and len(runs["data"][0]["x"]) == 4
    assert list(array(horizon["data"][0]["x"])) == list(range(1, 25))
    assert len(heat["data"][0]["y"]) == 38 and len(heat["data"][0]["x"]) == 2
    assert array(heat["data"][0]["z"]).shape == (38, 2)
    table = at.dataframe[0].value
    assert len(table) == len(dashboard_data.series)
    assert table.iloc[0]["series"] == label(WORST)  # worst first
    assert table["wape_pct"].is_monotonic_decreasing
    assert trace_names(pairs) == [f"{label(WORST)} — observed", f"{label(WORST)} — forecast"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Data age"] == "1.0 h" and metrics["Evaluated"] == "4 runs"
    assert metrics["P10-P90 coverage (rolling)"].endswith("%") and metrics["Pinball loss (all)"] == "—"

    # choosing another series changes the observed-vs-forecast view
    other = ("DK1", "441")
    at.selectbox(key="mon_series").set_value(other).run()
    no_failure(at)
    assert trace_names(figures(at)[-1])[0] == f"{label(other)} — observed"
    assert any(c.value.startswith(f"{label(other)}: 96 forecast/observation pairs") for c in at.caption)


def test_monitoring_needs_attention_banner_with_reason(
    gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    reason = "rolling WAPE 31.0% above the 15.0% threshold for 3 runs"
    data = populate(unique_bucket("alert"), tmp_path, SMALL_SERIES, needs_attention=True, reason=reason)
    with serve_api(data.settings) as url:
        use_api(url)
        at = open_page("monitoring")
        no_failure(at)
        [banner] = at.warning
        assert "Needs attention" in banner.value and reason in banner.value
        assert not at.success


# --- data quality page -----------------------------------------------------------------------------
def test_quality_page(api_url: str, use_api: Callable[[str], None], dashboard_data: DashboardData) -> None:
    use_api(api_url)
    at = open_page("quality")
    no_failure(at)
    assert any("passed: 2 of 2 rules met." in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rules run"] == "2" and metrics["Failed"] == "0" and metrics["Warnings"] == "0"
    assert metrics["Series"] == "76" and metrics["Complete series"] == "76 / 76"
    assert metrics["Window"] == "192 h"
    [coverage] = figures(at)
    assert len(coverage["data"][0]["y"]) == 38
    assert len(at.dataframe[0].value) == 2 and len(at.dataframe[-1].value) == 76  # rules, then coverage


def test_quality_page_lists_failed_rules(
    gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    from tests.api_fixtures import write_observations

    rules = [
        RuleResult(
            rule="not_null",
            column="area",
            success=True,
            check="expect_column_values_to_not_be_null",
            engine="great_expectations",
        ),
        RuleResult(
            rule="in_set",
            column="area",
            success=True,
            check="expect_column_values_to_be_in_set",
            engine="great_expectations",
        ),
        RuleResult(
            rule="non_negative",
            column="energy_consumption",
            success=False,
            unexpected_count=12,
            element_count=768,
            check="expect_column_values_to_be_between",
            engine="great_expectations",
        ),
    ]
    settings = api_settings(unique_bucket("dq"), tmp_path)
    store = new_store(settings)
    write_observations(store, settings, series=SMALL_SERIES, rules=rules)
    write_forecast(store, settings, series=SMALL_SERIES)
    with serve_api(settings) as url:
        use_api(url)
        at = open_page("quality")
        assert not at.exception
        [warning] = at.warning
        assert "failed: 1 of 3 rules not met (non_negative)" in warning.value
        rules_shown = at.dataframe[0].value
        failed = rules_shown[rules_shown["passed"] == False]  # noqa: E712
        assert list(failed["rule"]) == ["non_negative"] and int(failed["unexpected"].iloc[0]) == 12


def test_a_report_off_the_contract_is_refused_with_the_fields_named() -> None:
    with pytest.raises(validation.ReportError, match=r"statistics: Field required"):
        validation.parse_report({"success": True, "suite": "s", "rules": []})
    with pytest.raises(validation.ReportError, match="unsuccessful_rules is 0, 1 rules block"):
        validation.parse_report(
            {
                "success": True,
                "suite": "s",
                "window": {"start": "2026-01-01T00:00Z", "end": "2026-01-02T00:00Z"},
                "rows": 1,
                "series": 1,
                "statistics": {"evaluated_rules": 1, "successful_rules": 0, "unsuccessful_rules": 0},
                "rules": [{"rule": "r", "success": False, "check": "c", "engine": "pandas"}],
            }
        )


def test_validation_table_marks_only_blocking_rules_as_failed() -> None:
    from components.datasets import get_spec
    from tests.api_fixtures import validation_report

    spec = get_spec("ConsumptionDE35Hour")
    rules = [
        RuleResult(rule="not_null", success=True, check="c", engine="pandas", unexpected_count=0),
        RuleResult(
            rule="short_gaps_filled",
            success=False,
            severity="warning",
            unexpected_count=3,
            sample_values=["a", "b", "c", "d", "e", "f"],
            check="gaps",
            engine="pandas",
        ),
        RuleResult(rule="gap_limit", success=False, unexpected_count=1, check="gaps", engine="pandas"),
    ]
    report = validation_report(spec, REFERENCE, REFERENCE + timedelta(hours=1), 1, 1, rules)
    table = validation.validation_table(report)
    assert table["passed"].tolist() == [True, True, False]
    assert table["unexpected"].tolist() == [0, 3, 1]  # 0 is a count, not missing
    [note] = report.notes
    assert validation.note_text(note).startswith("**3 missing hourly values were filled (imputed)** (a; b")
    assert "(1 more)" in validation.note_text(note)


def test_accuracy_chart_of_one_run_spans_a_day() -> None:
    """The first evaluated run alone (as after the pipeline's second hour): the axis spans a day
    around it, not the millisecond Plotly zooms to by itself; more runs keep Plotly's own range."""

    def run(day: int) -> dict[str, Any]:
        return {"run_id": f"202301{day}T0000Z", "scheduled_time": f"2023-01-{day}T00:00:00Z", "n": 1824}

    one = charts.runs_frame([{**run(16), "mape": 0.11, "wape": 0.09}])
    assert list(charts.accuracy_figure(one, 0.15).layout.xaxis.range) == [
        "2023-01-15T12:00:00",
        "2023-01-16T12:00:00",
    ]
    two = charts.runs_frame([{**run(day), "mape": 0.1, "wape": 0.1} for day in (14, 16)])
    assert charts.accuracy_figure(two, 0.15).layout.xaxis.range is None


def test_forecast_chart_marks_now_only_inside_its_hours() -> None:
    """A lagged dataset (DK36: weeks) is forecast long before "now": no marker stretches the axis."""
    hours = pd.date_range("2026-11-10", periods=48, freq="h", tz="UTC")
    frame = pd.DataFrame(
        {
            "datetime_utc": hours,
            "value": 1.0,
            "kind": ["observed"] * 24 + ["forecast"] * 24,
            "lower": None,
            "upper": None,
            "series": "PR Private households",
        }
    )
    inside = charts.forecast_figure(frame, "MWh", hours[24])
    assert [a.text for a in inside.layout.annotations] == ["now (forecast made)"]
    later = charts.forecast_figure(frame, "MWh", hours[-1] + pd.Timedelta(days=17))
    assert later.layout.annotations == () and later.layout.shapes == ()


# --- the API down, not ready, or changing underneath --------------------------------------------------
@pytest.mark.parametrize("page", list(PAGES))
def test_api_down_gives_a_friendly_message_on_every_page(page: str, use_api: Callable[[str], None]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    use_api(url)
    at = open_page(page)
    assert not at.exception
    [error] = at.error
    assert "not reachable" in error.value and url in error.value
    assert not figures(at)
    assert any("not reachable" in str(getattr(c, "value", "")) for c in at.sidebar.get("caption"))


@pytest.mark.parametrize("page", list(PAGES))
def test_api_without_data_says_so_on_every_page(
    page: str, gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    settings = api_settings(unique_bucket("empty"), tmp_path)
    new_store(settings)
    with serve_api(settings) as url:
        use_api(url)
        at = open_page(page)
        assert not at.exception and not figures(at)
        messages = [m.value for m in [*at.info, *at.error]]
        assert messages and all("Traceback" not in m for m in messages)
        if page != "forecasts":  # the code lists are served without data; the forecast is not
            assert any("yet" in m for m in messages), messages


def test_pages_keep_their_last_answers_while_the_api_is_away(
    gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    data = populate(unique_bucket("away"), tmp_path, series=SMALL_SERIES)
    with serve_api(data.settings) as url:
        use_api(url)
        at = open_page("forecasts")
        assert figures(at) and not at.warning
        lenient, strict = ApiClient(url, cache_ttl_s=0), ApiClient(url, cache_ttl_s=0, max_stale_s=0)
        kept = lenient.series_forecast(("DK1", "111"))
        strict.series_forecast(("DK1", "111"))
    # the API is gone now
    assert lenient.series_forecast(("DK1", "111")) is kept and lenient.stats.stale == 1
    assert lenient.stale_since is not None
    with pytest.raises(ApiUnavailableError):
        strict.series_forecast(("DK1", "111"))
    at.run()
    assert not at.exception and not at.error
    assert label(("DK1", "111")) in trace_names(figures(at)[0])
    [notice] = at.warning
    assert "not reachable right now" in notice.value and "last answers" in notice.value
    assert any("not reachable" in str(getattr(c, "value", "")) for c in at.sidebar.get("caption"))


def test_a_page_that_cannot_be_drawn_shows_a_box_not_a_traceback() -> None:
    def app() -> None:
        from dashboard import ui

        def render() -> None:
            raise KeyError("by_series")

        ui.run_page(render)

    at = AppTest.from_function(app, default_timeout=30).run()
    assert not at.exception
    [error] = at.error
    assert "could not be drawn" in error.value and "KeyError" in error.value


def test_a_new_forecast_shows_up_without_a_restart(
    gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    data = populate(unique_bucket("new"), tmp_path, series=SMALL_SERIES)
    with serve_api(data.settings) as url:
        use_api(url)
        at = open_page("forecasts")
        assert any("version 7" in c.value for c in at.caption)
        newer = REFERENCE + timedelta(hours=1)
        write_forecast(
            data.store, data.settings, scheduled=newer, series=SMALL_SERIES, model_version="8", band=False
        )
        wait_for(
            lambda: httpx.get(f"{url}/api/v1/meta").json()["forecast"]["model_version"] == "8",
            "the API to load the new forecast",
        )
        at.run()
        no_failure(at)
        caption = next(c.value for c in at.caption if c.value.startswith("Model "))
        assert "version 8" in caption and "2023-01-18 00:00 UTC" in caption
        assert "without uncertainty band" in caption
        [figure] = figures(at)
        assert not [name for name in trace_names(figure) if name.endswith("— band")]
        assert pd.Timestamp(figure["layout"]["shapes"][0]["x0"]).hour == 0  # "now" moved with the run
        table = at.dataframe[0].value
        assert table[table["kind"] == "forecast"]["lower_MWh"].isna().all()


def test_python_m_dashboard_help_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dashboard", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    assert "--api-url" in run.stdout and "--port" in run.stdout
    assert dashboard_main(["--print-command", "--port", "8599", "--host", "0.0.0.0"]) == 0
    printed = capsys.readouterr().out
    assert "streamlit run" in printed and str(APP) in printed and "--server.port 8599" in printed
    assert "--server.address 0.0.0.0" in printed and "--browser.gatherUsageStats false" in printed
    with pytest.raises(SystemExit) as done:
        dashboard_main(["--api-url", "localhost:8000", "--print-command"])
    assert done.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "python -m dashboard: error: invalid setting --api-url='localhost:8000': "
        "EF_API_URL must be an http(s) URL like http://127.0.0.1:8000, got 'localhost:8000'"
    ]


def test_python_m_dashboard_refuses_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EF_")}
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "--print-command"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "EF_DASHBOARD_PORT": "0"},
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            "python -m dashboard: error: invalid setting EF_DASHBOARD_PORT='0': "
            "Input should be greater than or equal to 1"
        ],
    )


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> Iterator[None]:
    yield
    from dashboard import ui

    ui._client.clear()
