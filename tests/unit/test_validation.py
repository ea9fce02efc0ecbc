"""Validate: cleaning and the data contract built from each dataset's spec, rule by rule, on real
data — the DE35 weeks and the ElectricityBalanceNonv 2019 export with its real gaps and nulls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from components.contracts import ValidationReport
from components.datasets import get_spec
from components.extract import Window, extract_snapshot
from components.settings import Settings
from components.storage import ObjectStore
from components.validation import DataContractError, check_contract, clean_frame, enforce
from tests.conftest import EBN_2019
from tests.pipeline_fixtures import run_feature_stages

DE35 = get_spec("ConsumptionDE35Hour")
EBN = get_spec("ElectricityBalanceNonv")
WINDOW = Window(datetime(2023, 1, 15, tzinfo=UTC), datetime(2023, 1, 18, tzinfo=UTC))


@pytest.fixture(scope="module")
def raw(snapshot_path: Path) -> pd.DataFrame:
    result = extract_snapshot(snapshot_path, DE35, WINDOW.end, 0, 3)
    assert result.window == WINDOW
    return result.frame


def ebn_raw(end: str, days: int) -> tuple[pd.DataFrame, Window]:
    result = extract_snapshot(EBN_2019, EBN, datetime.fromisoformat(end), 0, days)
    return result.frame, result.window


def test_cleaning_gives_the_spec_schema_in_mwh(raw: pd.DataFrame) -> None:
    clean, problems = clean_frame(raw, DE35)
    assert problems == []
    assert list(clean.columns) == list(DE35.feature_columns)  # HourDK dropped, names mapped
    assert {c: str(t) for c, t in clean.dtypes.items()} == DE35.feature_dtypes
    assert len(clean) == len(raw) == 76 * 72
    assert clean["energy_consumption"].sum() == pytest.approx(raw["TotalCon"].sum() / 1000)  # kWh -> MWh


def test_cleaning_tolerates_source_variants(raw: pd.DataFrame) -> None:
    variant = raw.head(3).copy()
    variant["ConsumerType_DE35"] = [111, 112, 119]  # numeric codes
    variant["HourUTC"] = pd.to_datetime(variant["HourUTC"])  # naive timestamps mean UTC
    variant["TotalCon"] = ["1.234,5", "12,25", " 7 "]
    frame, problems = clean_frame(variant, DE35)
    assert problems == []
    assert frame["consumer_type"].tolist() == ["111", "112", "119"]
    assert frame["energy_consumption"].tolist() == pytest.approx([1.2345, 0.01225, 0.007])


def test_good_window_holds_and_result_is_json(raw: pd.DataFrame) -> None:
    outcome = check_contract(raw, WINDOW, DE35)
    assert outcome.success
    result = json.loads(outcome.report.model_dump_json())
    assert ValidationReport.model_validate(result) == outcome.report  # the JSON is the contract, both ways
    assert result["rows"] == 5472 and result["series"] == 76 and result["dataset"] == DE35.name
    assert result["failed_rules"] == [] and result["warnings"] == []
    assert {r["rule"] for r in result["rules"]} == {
        "exact_columns",
        "column_dtype",
        "not_null",
        "area_in_set",
        "consumer_type_in_set",
        "value_range",
        "inside_window",
        "unique_key",
        "null_value",
        "impossible_zero",
        "stuck_value",
        "spike",
        "short_gaps_filled",
        "long_gaps_skipped",
        "bad_share",
        "recent_data",
    }
    assert result["quarantined"] == [] and result["long_gaps"] == []
    assert result["great_expectations"]["result"]["success"] is True
    assert outcome.report.blocking == [] and outcome.report.notes == []
    assert enforce(outcome) is outcome.clean


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda f: f.assign(PriceArea=f["PriceArea"].where(f.index != 5, "DK9")), "area_in_set"),
        (lambda f: f.assign(TotalCon=f["TotalCon"].where(f["HourUTC"] < "2023-01-16", None)), "bad_share"),
        (lambda f: pd.concat([f, f.head(2)], ignore_index=True), "unique_key"),
        (
            lambda f: f.assign(HourUTC=f["HourUTC"].where(f.index != 3, "2023-01-20T00:00:00")),
            "inside_window",
        ),
    ],
)
def test_hard_failures_block(raw: pd.DataFrame, change: object, rule: str) -> None:
    outcome = check_contract(change(raw.copy()), WINDOW, DE35)  # type: ignore[operator]
    assert not outcome.success
    assert rule in outcome.report.failed_rules
    with pytest.raises(DataContractError, match=f"rule {rule}"):
        enforce(outcome)


@pytest.mark.parametrize(
    ("value", "rule"), [(-1.0, "value_range"), (1e12, "value_range"), (0.0, "impossible_zero")]
)
def test_an_impossible_value_is_quarantined_not_fatal(raw: pd.DataFrame, value: float, rule: str) -> None:
    hour, area, consumer = raw.loc[7, ["HourUTC", "PriceArea", "ConsumerType_DE35"]]
    outcome = check_contract(raw.assign(TotalCon=raw["TotalCon"].where(raw.index != 7, value)), WINDOW, DE35)
    assert outcome.success, outcome.report.failed_rules
    (point,) = outcome.report.quarantined
    assert (point.series, point.value, point.rule) == ([area, consumer], value / 1000, rule)
    assert point.hour == pd.Timestamp(hour, tz="UTC")
    clean = outcome.clean.set_index(["area", "consumer_type", "datetime_utc"])["energy_consumption"]
    assert clean[(area, consumer, point.hour)] == pytest.approx(point.replacement)
    assert 0 < point.replacement < DE35.value_max  # filled from its neighbours, not the bad value
    assert rule in outcome.report.warnings and not outcome.report.blocking


def test_no_recent_data_blocks(raw: pd.DataFrame) -> None:
    stale = raw.assign(TotalCon=raw["TotalCon"].where(raw["HourUTC"] < "2023-01-17", None))
    outcome = check_contract(stale, WINDOW, DE35)
    assert "recent_data" in outcome.report.failed_rules


def test_unparseable_values_are_contract_failures_not_crashes(raw: pd.DataFrame) -> None:
    bad = raw.astype({"HourUTC": "object", "TotalCon": "object"})
    bad.loc[0, "HourUTC"] = "yesterday"
    bad.loc[1, "TotalCon"] = "12 kWh?"
    outcome = check_contract(bad, WINDOW, DE35)
    assert not outcome.success
    failures = {r.column: r for r in outcome.report.rules if r.rule == "column_dtype" and not r.success}
    assert failures["datetime_utc"].sample_values == ["yesterday"]
    assert failures["energy_consumption"].sample_values == ["12 kWh?"]


def test_missing_column_is_reported_not_a_key_error(raw: pd.DataFrame) -> None:
    outcome = check_contract(raw.drop(columns=["HourUTC", "TotalCon"]), WINDOW, DE35)
    assert "exact_columns" in outcome.report.failed_rules
    message = str(DataContractError(outcome.report))
    assert "missing datetime_utc" in message and "missing energy_consumption" in message


# --- the real gaps and nulls of the ElectricityBalanceNonv 2019 export ---------------------------
def test_short_real_gaps_are_filled_and_reported() -> None:
    """2019-09-29: 07:00 is null and 08:00 is missing (2 h); 2019-10-26 23:00 missing and
    2019-10-27 00:00 null (2 h) — for both areas."""
    raw, window = ebn_raw("2019-11-01T00:00+00:00", 35)
    outcome = check_contract(raw, window, EBN)
    assert outcome.success, outcome.report.failed_rules
    assert outcome.report.warnings == ["null_value", "short_gaps_filled"]
    nulls = {(tuple(p.series), p.hour.isoformat()) for p in outcome.report.quarantined}
    assert nulls == {
        (area, hour)
        for area in (("DK1",), ("DK2",))
        for hour in ("2019-09-29T07:00:00+00:00", "2019-10-27T00:00:00+00:00")
    }
    filled = {(tuple(g.series), g.start.isoformat(), g.hours) for g in outcome.report.filled_gaps}
    assert filled == {
        (("DK1",), "2019-09-29T07:00:00+00:00", 2),
        (("DK2",), "2019-09-29T07:00:00+00:00", 2),
        (("DK1",), "2019-10-26T23:00:00+00:00", 2),
        (("DK2",), "2019-10-26T23:00:00+00:00", 2),
    }
    clean = outcome.clean
    assert len(clean) == 2 * window.hours and clean["energy_consumption"].notna().all()
    dk1 = clean[clean["area"] == "DK1"].set_index("datetime_utc")["energy_consumption"]
    before, after = dk1[pd.Timestamp("2019-09-29T06:00Z")], dk1[pd.Timestamp("2019-09-29T09:00Z")]
    assert min(before, after) <= dk1[pd.Timestamp("2019-09-29T07:00Z")] <= max(before, after)
    rule = next(r for r in outcome.report.rules if r.rule == "short_gaps_filled")
    assert rule.severity == "warning" and rule.unexpected_count == 8 and not rule.blocking
    assert rule in outcome.report.notes
    assert "DK1: 2019-09-29T07:00:00+00:00 .. 2019-09-29T08:00:00+00:00 (2 h)" in rule.sample_values


def test_the_long_real_gap_is_skipped_not_fatal() -> None:
    """14 h + 19 h missing on 2019-05-29/30: the run goes on, the hours stay missing and are named."""
    raw, window = ebn_raw("2019-06-10T00:00+00:00", 120)
    outcome = check_contract(raw, window, EBN)
    assert outcome.success and "long_gaps_skipped" in outcome.report.warnings
    gaps = {(tuple(g.series), g.start.isoformat(), g.hours) for g in outcome.report.long_gaps}
    assert gaps == {
        (area, start, hours)
        for area in (("DK1",), ("DK2",))
        for start, hours in (("2019-05-29T06:00:00+00:00", 14), ("2019-05-29T21:00:00+00:00", 19))
    }
    inside = outcome.clean["datetime_utc"].between(
        pd.Timestamp("2019-05-29T06:00Z"), pd.Timestamp("2019-05-30T15:00Z")
    )
    assert set(outcome.clean.loc[inside, "datetime_utc"]) == {
        pd.Timestamp("2019-05-29T20:00Z")
    }  # the one observed hour


def test_too_large_a_share_of_missing_hours_fails_naming_it() -> None:
    """The same gap in a 3-day window is 47 % of the hours: nothing to trust, the run stops."""
    raw, window = ebn_raw("2019-05-31T00:00+00:00", 3)
    outcome = check_contract(raw, window, EBN)
    assert outcome.report.failed_rules == ["bad_share"]
    assert "rule bad_share" in str(DataContractError(outcome.report))


def test_a_blocked_run_leaves_the_previous_snapshot_as_it_was(settings: Settings, store: ObjectStore) -> None:
    live = settings.model_copy(
        update={"dataset": EBN.name, "feature_group": EBN.feature_group, "snapshot": EBN_2019}
    )
    live = live.model_copy(update={"days_export": 3})
    first = run_feature_stages(live, "2019-05-28T00:00Z", ObjectStore.from_settings(live))
    live_store = ObjectStore.from_settings(live)
    before = {name: live_store.generation(name) for name in live_store.list("")}
    with pytest.raises(DataContractError, match="bad_share"):
        run_feature_stages(live, "2019-05-31T00:00Z", live_store)
    assert {name: live_store.generation(name) for name in live_store.list("")} == before
    pointer = live_store.read_json(f"features/{EBN.feature_group}/v1/latest.json")
    assert pointer["run_id"] == first.run_id == "20190528T0000Z"
    assert pointer["series_keys"] == ["area"] and pointer["dataset"] == EBN.name
