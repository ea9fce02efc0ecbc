"""Validate: cleaning and the Great Expectations data contract, rule by rule, on real data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from components.extract import Window, extract_snapshot
from components.schemas import FEATURE_COLUMNS, FEATURE_DTYPES
from components.validation import (
    DataContractError,
    check_contract,
    clean_frame,
    enforce,
    summary,
    validate_clean,
)

WINDOW = Window(datetime(2023, 1, 15, tzinfo=UTC), datetime(2023, 1, 18, tzinfo=UTC))


@pytest.fixture(scope="module")
def raw(snapshot_path: Path) -> pd.DataFrame:
    result = extract_snapshot(snapshot_path, WINDOW.end, 0, 3)
    assert result.window == WINDOW
    return result.frame


@pytest.fixture(scope="module")
def clean(raw: pd.DataFrame) -> pd.DataFrame:
    frame, problems = clean_frame(raw)
    assert problems == []
    return frame


def test_cleaning_gives_the_feature_schema(raw: pd.DataFrame, clean: pd.DataFrame) -> None:
    assert list(clean.columns) == list(FEATURE_COLUMNS)  # HourDK dropped, names mapped
    assert {c: str(t) for c, t in clean.dtypes.items()} == FEATURE_DTYPES
    assert clean["datetime_utc"].min() == pd.Timestamp("2023-01-15T00:00", tz="UTC")
    assert len(clean) == len(raw) == 76 * 72
    assert clean["energy_consumption"].sum() == raw["TotalCon"].sum()
    keys = ["datetime_utc", "area", "consumer_type"]
    assert clean[keys].equals(clean.sort_values(keys)[keys].reset_index(drop=True))


def test_cleaning_tolerates_source_variants(raw: pd.DataFrame) -> None:
    variant = raw.head(3).copy()
    variant["ConsumerType_DE35"] = [111, 112, 119]  # numeric codes
    variant["HourUTC"] = pd.to_datetime(variant["HourUTC"])  # naive timestamps mean UTC
    variant["TotalCon"] = ["1.234,5", "12,25", " 7 "]
    frame, problems = clean_frame(variant)
    assert problems == []
    assert frame["consumer_type"].tolist() == ["111", "112", "119"]
    assert frame["energy_consumption"].tolist() == [1234.5, 12.25, 7.0]
    assert str(frame["datetime_utc"].dtype) == "datetime64[ns, UTC]"


def test_good_window_holds_and_result_is_json(raw: pd.DataFrame) -> None:
    outcome = check_contract(raw, WINDOW)
    assert outcome.success
    result = json.loads(json.dumps(outcome.result))  # JSON-serialisable as is
    assert result["rows"] == 5472 and result["series"] == 76
    assert result["failed_rules"] == []
    rules = {r["rule"] for r in result["rules"]}
    assert rules == {
        "exact_columns",
        "column_dtype",
        "not_null",
        "area_in_set",
        "consumer_type_in_set",
        "non_negative",
        "inside_window",
        "unique_key",
        "complete_hourly_grid",
    }
    assert result["great_expectations"]["result"]["success"] is True
    assert result["great_expectations"]["version"].startswith("1.24")
    assert summary(result)["failed"] == []
    assert enforce(outcome) is outcome.clean


def test_timestamps_outside_the_window(clean: pd.DataFrame) -> None:
    shifted = Window(WINDOW.start, WINDOW.end - pd.Timedelta(hours=1))
    result = validate_clean(clean, shifted)
    assert "inside_window" in result["failed_rules"]
    inside = next(r for r in result["rules"] if r["rule"] == "inside_window")
    assert inside["unexpected_count"] == 76
    assert inside["sample_values"][0].startswith("2023-01-17T23:00:00")


def test_wrong_dtype_of_a_clean_frame(clean: pd.DataFrame) -> None:
    wrong = clean.astype({"energy_consumption": "object", "area": "object"})
    result = validate_clean(wrong, WINDOW)
    failed = [r for r in result["rules"] if not r["success"]]
    assert {(r["rule"], r["column"]) for r in failed} == {
        ("column_dtype", "energy_consumption"),
        ("column_dtype", "area"),
    }
    assert {r["observed"] for r in failed} == {"object"}


def test_unparseable_values_are_contract_failures_not_crashes(raw: pd.DataFrame) -> None:
    bad = raw.astype({"HourUTC": "object", "TotalCon": "object"})
    bad.loc[0, "HourUTC"] = "yesterday"
    bad.loc[1, "TotalCon"] = "12 kWh?"
    outcome = check_contract(bad, WINDOW)
    assert not outcome.success
    dtype_failures = {
        r["column"]: r for r in outcome.result["rules"] if r["rule"] == "column_dtype" and not r["success"]
    }
    assert dtype_failures["datetime_utc"]["sample_values"] == ["yesterday"]
    assert dtype_failures["energy_consumption"]["sample_values"] == ["12 kWh?"]
    with pytest.raises(DataContractError) as err:
        enforce(outcome)
    message = str(err.value)
    assert "rule column_dtype on column 'datetime_utc'" in message
    assert "sample values ['12 kWh?']" in message
    assert err.value.result is outcome.result


def test_missing_column_is_reported_not_a_key_error(raw: pd.DataFrame) -> None:
    outcome = check_contract(raw.drop(columns=["HourUTC", "TotalCon"]), WINDOW)
    assert outcome.result["failed_rules"] == ["exact_columns"]
    message = str(DataContractError(outcome.result))
    assert "rule exact_columns on column 'datetime_utc, energy_consumption'" in message
    assert "missing datetime_utc" in message and "missing energy_consumption" in message
