"""The dashboard follows the served dataset: for each of the three datasets, its pages (Streamlit
AppTest from the real entry point) build one selector per series key from the API's
``/api/v1/dataset`` and show that dataset's series under their labels, against a real API serving
fixture data of that dataset's shape from the GCS emulator."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.contracts import RuleResult
from components.datasets import get_spec
from dashboard.settings import DATA_CREDIT
from devtools.emulator import GcsEmulator
from tests.api_fixtures import (
    BALANCE,
    DE35,
    INDUSTRY,
    REFERENCE,
    SMALL,
    learned_labels,
    serve_api,
    write_forecast,
    write_observations,
)
from tests.dashboard.conftest import (
    SELECTORS,
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

SERIES = {DE35: SMALL[DE35], BALANCE: SMALL[BALANCE], INDUSTRY: SMALL[INDUSTRY]}


@pytest.fixture(scope="module", params=list(SERIES))
def served(
    request: pytest.FixtureRequest, gcs_emulator: GcsEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DashboardData, str]]:
    dataset: str = request.param
    data = populate(
        unique_bucket(dataset[:8].lower()), tmp_path_factory.mktemp(dataset), SERIES[dataset], dataset=dataset
    )
    with serve_api(data.settings) as url:
        yield data, url


@pytest.fixture()
def page(
    served: tuple[DashboardData, str], use_api: Callable[[str], None]
) -> Callable[[str | None], AppTest]:
    use_api(served[1])

    def open_page(path: str | None) -> AppTest:
        at = open_app(path)
        no_failure(at)
        return at

    return open_page


def test_forecasts_page_has_a_selector_per_key_and_the_series_labels(
    served: tuple[DashboardData, str], page: Callable[[str | None], AppTest]
) -> None:
    data, _ = served
    dataset = data.settings.dataset
    spec = get_spec(dataset)
    learned = learned_labels(spec)
    at = page(None)
    assert [m.key for m in at.multiselect] == SELECTORS[dataset]
    assert [m.label for m in at.multiselect] == [k.title.capitalize() for k in spec.keys]
    for position, (selector, key) in enumerate(zip(at.multiselect, spec.keys, strict=True)):
        for code in {series[position] for series in data.series}:
            assert key.label(code, learned.get(key.name)) in selector.options  # e.g. "PR Private households"
    drawn = [k for k in itertools.product(*(m.value for m in at.multiselect)) if k in data.series]
    assert drawn and all(label(k, dataset) in trace_names(figures(at)[0]) for k in drawn)
    # every served code of every key chosen: every served series is drawn, named by its labels
    for position, selector in enumerate(SELECTORS[dataset]):
        at.multiselect(key=selector).set_value(sorted({series[position] for series in data.series}))
    at.run()
    assert {label(k, dataset) for k in data.series} <= set(trace_names(figures(at)[0]))
    assert set(at.dataframe[0].value.columns) >= {"series", *spec.key_names}
    captions = " ".join(c.value for c in at.caption)
    assert dataset in captions and DATA_CREDIT in captions


def test_monitoring_page_tables_and_heat_map_for_any_number_of_keys(
    served: tuple[DashboardData, str], page: Callable[[str | None], AppTest]
) -> None:
    data, _ = served
    dataset = data.settings.dataset
    at = page("views/monitoring.py")
    _runs, _horizon, heat, pairs = figures(at)
    table = at.dataframe[0].value
    assert set(table["series"]) == {label(key, dataset) for key in data.series}
    assert table["wape_pct"].is_monotonic_decreasing
    columns = len({key[0] for key in data.series}) if len(data.series[0]) > 1 else 1
    assert len(heat["data"][0]["x"]) == columns
    assert len(heat["data"][0]["y"]) == len({key[1:] or key for key in data.series})
    worst = table.iloc[0]["series"]
    assert trace_names(pairs) == [f"{worst} — observed", f"{worst} — forecast"]


def test_quality_page_coverage_per_series(
    served: tuple[DashboardData, str], page: Callable[[str | None], AppTest]
) -> None:
    data, _ = served
    dataset = data.settings.dataset
    at = page("views/quality.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Series"] == str(len(data.series))
    assert metrics["Complete series"] == f"{len(data.series)} / {len(data.series)}"
    coverage = at.dataframe[-1].value
    assert set(coverage["series"]) == {label(key, dataset) for key in data.series}


def test_quality_page_shows_filled_gaps(
    gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    """The validate step filled short gaps (the 2019 ElectricityBalanceNonv export has real ones):
    its report says so in a rule that passed with findings, and the page shows them."""
    gaps = ["DK1: 2019-09-29T08:00+00:00 (1 h)", "DK2: 2019-10-27T01:00+00:00 (2 h)"]
    rules = [
        RuleResult(
            rule="not_null",
            success=True,
            check="expect_column_values_to_not_be_null",
            engine="great_expectations",
        ),
        RuleResult(
            rule="short_gaps_filled",
            column="energy_consumption",
            success=False,
            severity="warning",
            unexpected_count=3,
            sample_values=gaps,
            check="fill_short_gaps",
            engine="pandas",
        ),
    ]
    settings = api_settings(unique_bucket("gaps"), tmp_path, BALANCE)
    store = new_store(settings)
    write_observations(store, settings, rules=rules)
    write_forecast(store, settings)
    with serve_api(settings) as url:
        use_api(url)
        at = open_app("views/quality.py")
        no_failure(at)
        [note] = [i.value for i in at.info if "filled" in i.value]
        assert "3 missing hourly values were filled (imputed)" in note and gaps[0] in note
        rules = at.dataframe[0].value
        filled = rules[rules["rule"] == "short_gaps_filled"].iloc[0]
        assert bool(filled["passed"]) and int(filled["unexpected"]) == 3 and gaps[1] in filled["samples"]


@pytest.mark.parametrize("dataset", list(SERIES))
def test_quality_page_lists_and_marks_the_quarantined_points(
    dataset: str, gcs_emulator: GcsEmulator, tmp_path: Path, use_api: Callable[[str], None]
) -> None:
    """Points of the first series: two inside the served observations (one a null, marked at its
    replacement), one older (in the table only), one null left missing in a long gap (not drawn)."""
    first, second = SERIES[dataset][:2]
    hour = REFERENCE - timedelta(hours=30)
    quarantined = [
        {"series": list(first), "hour": hour, "value": 41_653.78, "rule": "value_range", "replacement": 5.5},
        {"series": list(first), "hour": hour + timedelta(hours=2), "value": None, "rule": "null_value",
         "replacement": 6.25},
        {"series": list(first), "hour": REFERENCE - timedelta(hours=180), "value": 0.0,
         "rule": "impossible_zero", "replacement": 4.0},
        {"series": list(first), "hour": hour + timedelta(hours=9), "value": None, "rule": "null_value",
         "replacement": None},
        {"series": list(second), "hour": hour, "value": 9.0, "rule": "spike", "replacement": 7.0},
    ]  # fmt: skip
    gaps = [{"series": list(first), "start": hour + timedelta(hours=8), "hours": 6}]
    settings = api_settings(unique_bucket("quar"), tmp_path, dataset)
    store = new_store(settings)
    series = SERIES[dataset]
    write_observations(
        store, settings, series=series, report_facts={"quarantined": quarantined, "long_gaps": gaps}
    )
    write_forecast(store, settings, series=series)
    with serve_api(settings) as url:
        use_api(url)
        at = open_app("views/quality.py")
        no_failure(at)
        table = next(d.value for d in at.dataframe if "replacement" in d.value.columns)
        assert list(table.columns) == ["series", "hour", "value", "rule", "replacement"]
        assert list(table["rule"]) == ["impossible_zero", "value_range", "spike", "null_value", "null_value"]
        assert set(table["series"]) == {label(first, dataset), label(second, dataset)}
        assert table["value"].isna().sum() == 2 and table["replacement"].isna().sum() == 1
        long_gaps = next(
            d.value for d in at.dataframe if "hours" in d.value.columns and "start" in d.value.columns
        )
        assert long_gaps.to_dict("records")[0]["hours"] == 6
        assert any("5 points quarantined" in m.value and "null_value: 2" in m.value for m in at.markdown)

        [chart] = [f for f in figures(at) if "quarantined" in trace_names(f)]
        name = at.selectbox(key="dq_quarantine_series").value
        assert name == label(first, dataset)
        assert trace_names(chart) == [f"{name} — observed", "quarantined"]
        observed, marks = chart["data"]
        assert len(array(observed["x"])) == 168
        assert list(array(marks["y"])) == [41_653.78, 6.25]  # the source's value; a null at its replacement
        assert [c[0] for c in marks["customdata"]] == ["value_range", "null_value"]
        assert "replaced by 5.50 MWh" in marks["customdata"][0][1]
        assert any("1 older quarantined points" in c.value for c in at.caption)

        at.selectbox(key="dq_quarantine_series").set_value(label(second, dataset)).run()
        no_failure(at)
        [chart] = [f for f in figures(at) if "quarantined" in trace_names(f)]
        assert list(array(chart["data"][1]["y"])) == [9.0]
