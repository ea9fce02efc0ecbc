"""Every shipped dataset end to end: the whole DAG under ``kfp.local`` reading the API replay, then
the API's routes and the dashboard's pages (Streamlit AppTest, and one Chromium page) showing that
dataset's series under their labels.

For each spec the replay (``tests/replay_api.py``, the real API's wire protocol on a local port)
serves that dataset's records, and the pipeline runs ONCE (extract, validate, features, train,
resolve-model, predict, monitor; no tuning, cheap settings) with ``EF_DATASET=<name>``,
``EF_SOURCE_URL`` at the replay, ``ENERGY_SNAPSHOT`` unset, its own bucket and MLflow SQLite:

* ``ConsumptionDE35Hour``: the shared DE35 export (real), reference 2023-01-17 00:00 UTC;
* ``ElectricityBalanceNonv``: the last six weeks of the shared 2019 export (real), reference
  2019-10-28 00:00 UTC, so the window holds the export's real faults of 2019-10-26 23:00 (missing) and
  2019-10-27 00:00 (``TotalLoad`` empty), two hours per area that the validate step fills;
* ``ConsumptionDK3619IndustryHour``: SYNTHETIC records, because there is no export of this dataset on
  this machine (and no network). They follow the documented schema exactly (``TimeUTC``, ``TimeDK``,
  ``DK36Code``, ``DK36Title``, ``DK19Code``, ``DK19Title``, ``Consumption_MWh``, as Energi
  Data Service documents them) for six DK36 codes with their titles (``INDUSTRY_TITLES`` of
  ``tests/api_fixtures.py``, private households as ``PR``); the DK19 codes/titles are the DB07
  19-grouping letters of those industries (``PR`` for households), plausible but not copied from the
  real API. Values are a seeded daily/weekly shape with 2 % noise at plausible national levels
  (households about 1,200 MWh per hour, offices tens). The replay's newest hour lies 17 days in the
  past (the dataset's 2-3 weeks of lag), and the run's reference is ``now``: the forecast starts at
  the hour after the newest record.

The three runs share one warm interpreter; the whole module took 50-95 s on the 2-core machine (each
run 6-15 s, the first about 15 s more for the warm imports, each Chromium page about 5 s).
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from components import layout
from components.contracts import ForecastMetadata
from components.datasets import DATETIME, SPECS, DatasetSpec, get_spec
from components.storage import ObjectStore
from dashboard.charts import fmt_time
from dashboard.settings import DATA_CREDIT
from devtools.emulator import GcsEmulator
from devtools.local_run import RunResult
from devtools.warm import warm_interpreter
from serving.main import create_app
from tests import api_spec_checks as api_specs
from tests.api_fixtures import BALANCE, DE35, INDUSTRY, INDUSTRY_TITLES, Key, serve_api
from tests.browser_fixtures import Browser, chromium_or_skip, render, run_dashboard
from tests.conftest import EBN_2019, SNAPSHOT_PATH
from tests.dashboard.conftest import SELECTORS, figures, no_failure, open_app, trace_names
from tests.pipeline_fixtures import CHEAP, STEPS, RealPipeline
from tests.replay_api import Replay, load_records, records_of, serve
from tests.serving.conftest import V1

pytestmark = pytest.mark.slow

ONE_HOUR = timedelta(hours=1)
ALL_KEYS = {name for spec in SPECS.values() for name in spec.key_names}
"""Every series-key name of any shipped dataset (a forecast must carry only its own)."""

# --- the synthetic DK36 records --------------------------------------------------------------------
DK36_LAG = timedelta(days=17)
"""How far the replay's newest DK36 hour lies behind now (the dataset's 2-3 weeks of lag)."""
DK36_DAYS = 28
DK36: dict[str, tuple[str, str, float, str]] = {
    # DK36Code: (DK19Code, DK19Title, mean MWh per hour, profile)
    "CA": ("C", "Manufacturing", 260.0, "industry"),
    "GA": ("G", "Trade", 150.0, "office"),
    "JA": ("J", "Information and communication", 35.0, "office"),
    "OA": ("O", "Public administration, defence and compulsory social security", 80.0, "office"),
    "PR": ("PR", "Private households", 1200.0, "household"),
    "QA": ("Q", "Human health and social work activities", 110.0, "care"),
}
assert set(DK36) == set(INDUSTRY_TITLES)
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _shape(profile: str, local: datetime) -> float:
    """Relative consumption of one local hour: a daily and weekly pattern per kind of consumer."""
    hour, weekend = local.hour + 0.5, local.weekday() >= 5
    day = math.exp(-(((hour - 12.5) / 4.0) ** 2))
    if profile == "household":
        evening = math.exp(-(((hour - 18.5) / 2.5) ** 2))
        morning = math.exp(-(((hour - 7.5) / 1.5) ** 2))
        return 0.7 + 0.25 * morning + 0.6 * evening + (0.1 * day if weekend else 0.0)
    if profile == "industry":  # continuous processes, a day shift on working days
        return 0.8 + (0.15 if weekend else 0.45) * day
    if profile == "care":  # hospitals run around the clock
        return 0.85 + (0.15 if weekend else 0.3) * day
    return 0.45 + (0.1 if weekend else 0.9) * day  # offices and shops


def dk36_records(newest: datetime, days: int = DK36_DAYS, seed: int = 36) -> list[dict[str, Any]]:
    """Hourly synthetic records of the six codes, ``days`` days ending at ``newest`` (inclusive)."""
    rng = np.random.default_rng(seed)
    hours = [newest - timedelta(hours=i) for i in range(days * 24 - 1, -1, -1)]
    rows = []
    for code, (dk19, dk19_title, mean, profile) in DK36.items():
        for hour in hours:
            local = hour.astimezone(COPENHAGEN)
            consumption = mean * _shape(profile, local) * (1 + 0.02 * rng.standard_normal())
            rows.append(
                {
                    "TimeUTC": hour.strftime("%Y-%m-%dT%H:%M:%S"),
                    "TimeDK": local.strftime("%Y-%m-%dT%H:%M:%S"),
                    "DK36Code": code,
                    "DK36Title": INDUSTRY_TITLES[code],
                    "DK19Code": dk19,
                    "DK19Title": dk19_title,
                    "Consumption_MWh": round(consumption, 3),
                }
            )
    return records_of(pd.DataFrame(rows), get_spec(INDUSTRY))


# --- one run per dataset ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    records: list[dict[str, Any]]
    reference: str
    """The pipeline's ``reference_time`` parameter."""
    data_end: datetime
    """The newest hour with data that the run must see (the forecast's origin)."""
    missing: int = 0
    """Records the window lacks (the export's real gaps)."""


def case_of(dataset: str) -> Case:
    if dataset == DE35:
        return Case(
            load_records(SNAPSHOT_PATH), "2023-01-17T00:00:00+00:00", datetime(2023, 1, 16, 23, tzinfo=UTC)
        )
    if dataset == BALANCE:  # six weeks; the window's 2019-10-26 23:00 is missing for both areas
        records = [r for r in load_records(EBN_2019, get_spec(BALANCE)) if r["HourUTC"] >= "2019-09-20"]
        return Case(records, "2019-10-28T00:00:00+00:00", datetime(2019, 10, 27, 23, tzinfo=UTC), missing=2)
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - DK36_LAG
    return Case(dk36_records(newest), "now", newest)


@dataclass
class DatasetRun:
    """One dataset's whole pipeline run against the replay, and what is needed to check it."""

    spec: DatasetSpec
    case: Case
    pipeline: RealPipeline
    result: RunResult
    replay: Replay
    started: datetime

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def store(self) -> ObjectStore:
        return self.pipeline.store

    @property
    def titles(self) -> dict[str, dict[str, str]]:
        """What the records teach about the labels of the open keys (DK36Code -> DK36Title)."""
        return {
            key.name: {str(r[key.source]): str(r[key.label_source]) for r in self.case.records}
            for key in self.spec.keys
            if key.label_source
        }

    @property
    def series(self) -> set[Key]:
        """Every series of the records (each one is in the run's window)."""
        return {tuple(str(r[k.source]) for k in self.spec.keys) for r in self.case.records}

    def label(self, key: Key) -> str:
        """The readable name of a series, from the spec's codes and the records' titles."""
        return self.spec.series_label(key, self.titles)

    def metadata(self) -> ForecastMetadata:
        pointer = self.store.read_pointer(layout.FORECAST_LATEST)
        assert pointer is not None, "the run published no forecast"
        return ForecastMetadata.model_validate(self.store.read_json(pointer.body["metadata"]))

    def last_day_observed(self) -> float:
        """Sum of every series' observations (MWh) over the 24 hours up to ``data_end``."""
        spec, since = self.spec, self.case.data_end - timedelta(hours=23)
        time_column, value = spec.time_column, spec.value_column
        first, last = since.strftime("%Y-%m-%dT%H"), self.case.data_end.strftime("%Y-%m-%dT%H")
        values = [r[value] for r in self.case.records if first <= r[time_column][:13] <= last]
        return sum(v for v in values if v is not None) * spec.unit_factor


@pytest.fixture(scope="module")
def warm_launcher() -> Iterator[Path]:
    """One warm interpreter for the three runs (the heavy imports once)."""
    with warm_interpreter() as launcher:
        yield launcher


@pytest.fixture(scope="module", params=[DE35, BALANCE, INDUSTRY])
def run(
    request: pytest.FixtureRequest,
    gcs_emulator: GcsEmulator,
    warm_launcher: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DatasetRun]:
    """The whole DAG once for the dataset reading the replay; ``EF_*`` set only during the run."""
    name: str = request.param
    spec = get_spec(name)
    case = case_of(name)
    root = tmp_path_factory.mktemp(f"datasets-{spec.feature_group}")
    offline = pytest.MonkeyPatch()
    for variable in ("ENERGY_SNAPSHOT", "EF_SNAPSHOT"):  # no snapshot file: the source is the replay
        offline.delenv(variable, raising=False)
    try:
        with serve(case.records, name) as (url, replay):
            env = {
                "EF_DATASET": name,
                "EF_SOURCE_URL": url,
                "EF_BUCKET": f"datasets-{spec.feature_group.replace('_', '-')}-{uuid.uuid4().hex[:8]}",
                "EF_DATA_DIR": str(root / "data"),
                "EF_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
                **{k: v for k, v in CHEAP.items() if not k.startswith("EF_TUNE")},  # no tuning here
            }
            pipeline = RealPipeline(root, env)
            started = datetime.now(UTC)
            params = {"reference_time": case.reference, "run_tuning": False}
            result = pipeline.run_pipeline(params, root / "kfp", warm=warm_launcher)
        print(f"{name}: pipeline {result.seconds:.1f} s, {len(replay.requests)} replay request(s)")
        yield DatasetRun(spec, case, pipeline, result, replay, started)
    finally:
        offline.undo()


# --- the pipeline run ------------------------------------------------------------------------------
def test_every_step_succeeds_in_one_request_to_the_replay(run: DatasetRun) -> None:
    steps = run.result.steps.status
    assert set(steps) == STEPS | {"train-2"} and set(steps.values()) == {"SUCCESS"}, steps
    assert run.result.summary["pointers"] == {"features": "moved", "forecast": "moved", "monitoring": "moved"}
    extracted = run.result.artifact("extract", "raw").metadata
    assert extracted["source"].startswith("api:http://127.0.0.1:")
    assert extracted["source"].endswith(f"/dataset/{run.name}")
    # one request: the window plus its margin (twice the publication lag) holds the newest hour
    assert extracted["source_requests"] == len(run.replay.requests) == 1, run.replay.requests
    [asked] = run.replay.requests
    assert asked["sort"] == run.spec.time_column and asked["timezone"] == "utc"
    assert set(asked["columns"].split(",")) == set(run.spec.raw_columns)
    if run.case.reference == "now":  # the hour of the run (the next one if the run crossed it)
        hour = run.started.replace(minute=0, second=0, microsecond=0)
        assert asked["end"] in {f"{h:%Y-%m-%dT%H:%M}" for h in (hour, hour + ONE_HOUR)}
    else:
        assert asked["end"] == f"{datetime.fromisoformat(run.case.reference):%Y-%m-%dT%H:%M}"
    window_end = run.case.data_end + ONE_HOUR
    assert asked["start"] <= f"{window_end - timedelta(days=14):%Y-%m-%dT%H:%M}"
    assert extracted["newest_hour"] == run.case.data_end.isoformat()
    assert extracted["data_end"] == extracted["window_end"] == window_end.isoformat()
    assert extracted["hours"] == 14 * 24
    assert extracted["rows"] == 14 * 24 * len(run.series) - run.case.missing


def test_forecast_has_one_row_per_series_and_horizon_with_the_datasets_keys(run: DatasetRun) -> None:
    spec = run.spec
    forecast = run.store.read_parquet(layout.forecast_run(run.metadata().run_id))
    assert list(forecast.columns) == list(spec.forecast_columns)
    assert not set(forecast.columns) & (ALL_KEYS - set(spec.key_names))  # no other dataset's keys
    served = {tuple(row) for row in forecast[list(spec.key_names)].astype(str).itertuples(index=False)}
    assert served == run.series and len(served) == {DE35: 76, BALANCE: 2, INDUSTRY: 6}[run.name]
    assert len(forecast) == 24 * len(run.series)
    assert not forecast[[*spec.key_names, "horizon"]].duplicated().any()
    assert sorted(forecast["horizon"].unique()) == list(range(1, 25))
    first = forecast.loc[forecast["horizon"] == 1, DATETIME].unique()
    assert list(first) == [pd.Timestamp(run.case.data_end + ONE_HOUR)]
    assert forecast["forecast"].notna().all() and (forecast["forecast"] <= spec.value_max).all()
    # the next day's total is within 30 % of the last observed day's (the model learned the level)
    assert forecast["forecast"].sum() == pytest.approx(run.last_day_observed(), rel=0.3)


def test_forecast_metadata_names_the_dataset_its_keys_and_data_end(run: DatasetRun) -> None:
    meta = run.metadata()
    assert meta.dataset == run.name and meta.series_keys == list(run.spec.key_names)
    assert meta.data_end == run.case.data_end
    assert meta.forecast_start == run.case.data_end + ONE_HOUR
    assert meta.run_id == layout.run_id(run.case.data_end + ONE_HOUR)  # named after the data's origin
    assert meta.series == len(run.series) and meta.rows == 24 * len(run.series) and meta.unit == "MWh"
    assert meta.labels == run.titles  # the DK36 titles, learned from the records; closed keys: none
    if run.name == INDUSTRY:
        assert meta.labels == {"industry": INDUSTRY_TITLES}
    if run.case.reference == "now":  # made now, 17 days after the newest published hour
        assert run.started <= meta.scheduled_time <= datetime.now(UTC)
        assert meta.scheduled_time - meta.data_end >= DK36_LAG
    else:
        assert meta.scheduled_time == datetime.fromisoformat(run.case.reference)


# --- the API on the run's bucket -------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(run: DatasetRun) -> Iterator[TestClient]:
    with TestClient(create_app(run.pipeline.api_settings())) as test_client:
        yield test_client


def test_openapi_and_code_lists_name_the_datasets_keys(run: DatasetRun, client: TestClient) -> None:
    """The spec checks of ``tests/api_spec_checks.py`` hold on the pipeline's own output
    (routes, parameters and models named after the keys; code lists and the learned DK36 labels)."""
    api_specs.check_openapi_names_the_keys(run.name, client)
    api_specs.check_code_lists_and_description(run.name, client)
    described = api_specs.get(client, "/dataset")["keys"]
    for position, (key, spec_key) in enumerate(zip(described, run.spec.keys, strict=True)):
        served = {series[position] for series in run.series}
        labels = {c["code"]: c["label"] for c in key["codes"]}
        assert set(labels) >= served
        assert {spec_key.label(c, labels) for c in served} == {
            spec_key.label(c, run.titles.get(spec_key.name)) for c in served
        }


def test_routes_serve_the_datasets_series_with_their_labels(run: DatasetRun, client: TestClient) -> None:
    expected = api_specs.EXPECTED[run.name]
    spec, meta = run.spec, run.metadata()
    keys = list(spec.key_names)
    assert expected.series in run.series
    codes = "/".join(expected.series)
    one = api_specs.get(client, f"/forecasts/{codes}")
    assert one["label"] == expected.label == run.label(expected.series)  # e.g. "PR Private households"
    assert tuple(one[k] for k in keys) == expected.series and not set(one) & set(expected.foreign)
    assert [one[f"{k.name}_label"] for k in spec.keys] == [
        (k.codes or run.titles[k.name])[code] for k, code in zip(spec.keys, expected.series, strict=True)
    ]
    assert len(one["forecast"]) == 24 and len(one["observations"]) == 168 and one["unit"] == "MWh"
    assert pd.Timestamp(one["forecast"][0][DATETIME]) == pd.Timestamp(run.case.data_end + ONE_HOUR)
    assert pd.Timestamp(one["observations"][-1][DATETIME]) == pd.Timestamp(run.case.data_end)
    assert one["run_id"] == meta.run_id

    every = api_specs.get(client, "/forecasts")
    assert every["series"] == len(run.series) and len(every["rows"]) == 24 * len(run.series)
    assert {tuple(r[k] for k in keys) for r in every["rows"]} == run.series
    chosen = api_specs.get(client, "/forecasts", **{expected.plurals[0]: expected.series[0]})
    assert {r[keys[0]] for r in chosen["rows"]} == {expected.series[0]}
    csv_head = client.get(f"{V1}/forecasts?format=csv").text.splitlines()[0]
    assert csv_head.split(",")[: len(keys)] == keys

    served = api_specs.get(client, "/meta")
    assert served["dataset"] == {"name": run.name, "keys": keys, "unit": "MWh"}
    assert served["forecast"]["run_id"] == meta.run_id and served["forecast"]["series"] == len(run.series)
    assert pd.Timestamp(served["forecast"]["data_end"]) == pd.Timestamp(run.case.data_end)
    assert pd.Timestamp(served["forecast"]["forecast_start"]) == pd.Timestamp(run.case.data_end + ONE_HOUR)

    metrics = api_specs.get(client, "/monitoring/metrics")  # a first run: nothing to evaluate yet
    assert metrics["run_id"] == meta.run_id and metrics["evaluated_pairs"] == 0 and metrics["by_series"] == []
    assert metrics["reason"] == "no stored forecast has observations yet" and not metrics["needs_attention"]
    assert pd.Timestamp(metrics["freshness"]["newest_observation"]) == pd.Timestamp(run.case.data_end)
    pairs = api_specs.get(client, f"/monitoring/series/{codes}")
    assert pairs["label"] == expected.label and pairs["pairs"] == [] and pairs["metrics"] is None
    quality = api_specs.get(client, "/quality")
    coverage = {tuple(c[k] for k in keys): c for c in quality["coverage"]}
    assert set(coverage) == run.series
    assert {c["label"] for c in coverage.values()} == {run.label(k) for k in run.series}
    assert {(c["hours"], c["expected_hours"]) for c in coverage.values()} == {(168, 168)}
    assert {pd.Timestamp(c["newest_observation"]) for c in coverage.values()} == {
        pd.Timestamp(run.case.data_end)
    }


# --- the dashboard ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_url(run: DatasetRun) -> Iterator[str]:
    """A real API (uvicorn in a thread) on the run's bucket, for the dashboard."""
    with serve_api(run.pipeline.api_settings()) as url:
        yield url


@pytest.fixture()
def dashboard(api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AppTest dashboard talks to the run's API (as ``use_api`` of ``tests/dashboard/conftest.py``)."""
    monkeypatch.setenv("EF_API_URL", api_url)
    monkeypatch.delenv("EF_DASHBOARD_API_URL", raising=False)
    monkeypatch.setenv("EF_DASHBOARD_CACHE_TTL_S", "0")


def page(path: str | None) -> AppTest:
    at = open_app(path)
    no_failure(at)
    return at


def drawn_series(at: AppTest) -> list[str]:
    """The names of the observed lines of the forecasts chart (not their forecast or band)."""
    return [str(n) for n in trace_names(figures(at)[0]) if n and " — " not in str(n)]


@pytest.mark.usefixtures("dashboard")
def test_forecasts_page_selects_and_draws_the_series_by_their_labels(run: DatasetRun) -> None:
    spec = run.spec
    at = page(None)
    selectors = SELECTORS[run.name]
    assert [m.key for m in at.multiselect] == selectors
    assert [m.label for m in at.multiselect] == [k.title.capitalize() for k in spec.keys]
    served = [sorted({series[i] for series in run.series}) for i in range(len(spec.keys))]
    for selector, key, codes in zip(at.multiselect, spec.keys, served, strict=True):
        assert {key.label(c, run.titles.get(key.name)) for c in codes} <= set(selector.options)
    captions = " ".join(c.value for c in at.caption)
    assert run.name in captions and DATA_CREDIT in captions
    assert f"data up to {fmt_time(run.case.data_end.isoformat())}" in captions

    expected = api_specs.EXPECTED[run.name]  # one series: drawn under its label, forecast after data_end
    for selector, code in zip(selectors, expected.series, strict=True):
        at.multiselect(key=selector).set_value([code])
    at.run()
    no_failure(at)
    assert drawn_series(at) == [expected.label]
    [forecast] = [t for t in figures(at)[0]["data"] if t.get("name") == f"{expected.label} — forecast"]
    assert pd.Timestamp(forecast["x"][0]) == pd.Timestamp(run.case.data_end + ONE_HOUR).tz_localize(None)

    while math.prod(map(len, served)) > 12:  # as many series as the page draws at once
        served[-1] = served[-1][:-1]
    for selector, codes in zip(selectors, served, strict=True):
        at.multiselect(key=selector).set_value(codes)
    at.run()
    no_failure(at)
    assert set(drawn_series(at)) == {run.label(k) for k in itertools.product(*served)}
    assert set(at.dataframe[0].value.columns) >= {"series", *spec.key_names}


@pytest.mark.usefixtures("dashboard")
def test_quality_and_monitoring_pages_list_the_series_by_their_labels(run: DatasetRun) -> None:
    at = page("views/quality.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Series"] == str(len(run.series))
    assert metrics["Complete series"] == f"{len(run.series)} / {len(run.series)}"
    assert metrics["Rows"] == f"{14 * 24 * len(run.series):,}" and metrics["Window"] == "336 h"
    coverage = at.dataframe[-1].value
    assert set(coverage["series"]) == {run.label(key) for key in run.series}
    [verdict] = [s.value for s in at.success]
    assert verdict.startswith("The data contract passed") and not at.warning
    filled = [i.value for i in at.info if "missing hourly values were filled" in i.value]
    if run.name == BALANCE:  # the export's real gaps, filled by the validate step, as a note
        [note] = filled
        assert "4 missing hourly values were filled (imputed)" in note
        assert "DK2: 2019-10-26T23:00:00+00:00 .. 2019-10-27T00:00:00+00:00 (2 h)" in note
    else:
        assert filled == []
    at = page("views/monitoring.py")
    shown = " ".join(e.value for e in (*at.info, *at.success, *at.warning))
    assert "no stored forecast has observations yet" in shown and "Needs attention" not in shown


# --- one Chromium page per dataset -----------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    driver = Browser(chromium_or_skip(), tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.close()


@pytest.mark.browser
def test_forecasts_page_in_chromium_shows_the_datasets_labels(
    run: DatasetRun, client: TestClient, api_url: str, browser: Browser, tmp_path: Path
) -> None:
    """The forecasts page as first opened (two codes of the first key, one of every other) in
    headless Chromium: those series drawn under their labels, the dataset's name and the newest hour
    of data in the caption; ``test-artifacts/dashboard-datasets-<feature group>-forecasts.png``."""
    codes = [[c["code"] for c in key["codes"]] for key in api_specs.get(client, "/dataset")["keys"]]
    defaults = [key_codes[: 2 if i == 0 else 1] for i, key_codes in enumerate(codes)]
    labels = tuple(run.label(key) for key in itertools.product(*defaults))
    assert len(labels) == 2 and all("/" in label for label in labels) == (len(run.spec.keys) == 2)
    texts = (*labels, run.name, f"data up to {fmt_time(run.case.data_end.isoformat())}")
    with run_dashboard(api_url, tmp_path) as url:
        shot = render(browser, f"{url}/", f"datasets-{run.spec.feature_group}-forecasts", texts)
    dom = shot.dom
    assert all(text in dom for text in texts)
    assert all(k.title.capitalize() in dom for k in run.spec.keys)  # one selector per key
    assert 'data-testid="stException"' not in dom and "stAlertContentError" not in dom
    data = shot.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    print(f"{run.name}: {shot.screenshot} rendered in {shot.seconds:.1f} s")
