"""Feature store on the real GCS emulator: immutable snapshots, manifest, CAS pointer, reader API,
idempotent re-runs, and the gate: bad input never reaches the feature store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from components import layout
from components.contracts import ValidationReport
from components.datasets import get_spec
from components.extract import Window, extract, extract_snapshot
from components.feature_store import (
    FeatureStoreError,
    SnapshotConflictError,
    SnapshotWrite,
    load_manifest,
    load_snapshot,
    snapshot_bytes,
    write_snapshot,
)
from components.settings import Settings
from components.storage import ObjectStore
from components.validation import DataContractError, check_contract, enforce

W2 = Window(datetime(2023, 1, 15, tzinfo=UTC), datetime(2023, 1, 18, tzinfo=UTC))  # reference 2023-01-18
W1 = Window(datetime(2023, 1, 14, tzinfo=UTC), datetime(2023, 1, 17, tzinfo=UTC))  # same, days_delay=1
LATEST = layout.feature_latest("energy_consumption", 1)
DE35 = get_spec("ConsumptionDE35Hour")
FEATURE_DTYPES = DE35.feature_dtypes


def run_stages(settings: Settings, store: ObjectStore, days_delay: int) -> SnapshotWrite:
    """extract -> validate -> features, in-process, exactly as the KFP components chain them."""
    raw = extract(settings, "2023-01-18T00:00Z", days_delay, 3)
    outcome = check_contract(raw.frame, raw.window, settings.spec)
    clean = enforce(outcome)
    return write_snapshot(store, settings, clean, raw.window, outcome.report, raw.source)


def generations(store: ObjectStore) -> dict[str, int | None]:
    return {name: store.generation(name) for name in store.list("features/")}


@pytest.fixture()
def snap_settings(settings: Settings, snapshot_path: Path) -> Settings:
    return settings.model_copy(update={"snapshot": snapshot_path})


@pytest.fixture(scope="module")
def good_w2(snapshot_path: Path) -> tuple[pd.DataFrame, ValidationReport]:
    raw = extract_snapshot(snapshot_path, DE35, W2.end, 0, 3)
    outcome = check_contract(raw.frame, raw.window, DE35)
    return outcome.clean, outcome.report


def test_write_snapshot_manifest_and_pointer(
    snap_settings: Settings, store: ObjectStore, snapshot_path: Path
) -> None:
    written = run_stages(snap_settings, store, 0)
    assert written.created and written.pointer_moved
    assert written.run_id == "20230118T0000Z"
    assert written.snapshot == "features/energy_consumption/v1/snapshots/20230118T0000Z.parquet"
    assert written.uri == f"gs://{snap_settings.bucket}/{DE35.name}/{written.snapshot}"
    data = store.read_bytes(written.snapshot)
    assert hashlib.sha256(data).hexdigest() == written.sha256

    manifest = store.read_json(layout.feature_manifest("energy_consumption", 1, written.run_id))
    assert (
        manifest["window_start"] == "2023-01-15T00:00:00Z"
        and manifest["window_end"] == "2023-01-18T00:00:00Z"
    )
    assert (manifest["rows"], manifest["series"], manifest["hours"]) == (5472, 76, 72)
    assert manifest["sha256"] == written.sha256
    assert manifest["source"] == f"snapshot:{snapshot_path.name}"
    assert manifest["validation_result"]["success"] is True and "validation_summary" not in manifest
    assert manifest["validation_result"]["great_expectations"]["result"]["success"] is True
    assert manifest["columns"] == FEATURE_DTYPES
    assert manifest["package_version"]

    pointer = store.read_pointer(LATEST)
    assert pointer is not None
    assert pointer.body["run_id"] == written.run_id and pointer.body["sha256"] == written.sha256

    frame, loaded = load_snapshot(store, snap_settings)
    assert loaded.run_id == written.run_id
    assert len(frame) == 5472 and {c: str(t) for c, t in frame.dtypes.items()} == FEATURE_DTYPES
    cut, _ = load_snapshot(
        store, snap_settings, run="20230118T0000Z", start=datetime(2023, 1, 17, tzinfo=UTC)
    )
    assert len(cut) == 76 * 24 and cut["datetime_utc"].min() == pd.Timestamp("2023-01-17", tz="UTC")


def test_second_identical_run_writes_nothing(
    snap_settings: Settings, store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    first = run_stages(snap_settings, store, 0)
    before = generations(store)
    assert len(before) == 3  # snapshot, manifest, latest
    with caplog.at_level("INFO", logger="components.feature_store"):
        again = run_stages(snap_settings, store, 0)
    assert not again.created and not again.pointer_moved
    assert again.sha256 == first.sha256
    assert generations(store) == before
    assert "nothing new was written" in caplog.text


def test_different_bytes_for_an_existing_run_change_nothing(
    settings: Settings, store: ObjectStore, good_w2: tuple[pd.DataFrame, ValidationReport]
) -> None:
    clean, result = good_w2
    write_snapshot(store, settings, clean, W2, result, "test")
    before = generations(store)
    altered = clean.assign(energy_consumption=clean["energy_consumption"] + 1)
    with pytest.raises(SnapshotConflictError, match=r"already exists with sha256 .* nothing was changed"):
        write_snapshot(store, settings, altered, W2, result, "test")
    assert generations(store) == before


def test_same_rows_in_another_encoding_is_a_no_op(
    settings: Settings, store: ObjectStore, good_w2: tuple[pd.DataFrame, ValidationReport]
) -> None:
    """An older pyarrow/pandas may have written the same rows with other bytes: not a conflict."""
    clean, result = good_w2
    name = layout.feature_snapshot("energy_consumption", 1, layout.run_id(W2.end))
    other = store.create_parquet(name, clean.sort_values(["datetime_utc", "area", "consumer_type"]))
    stored_sha = hashlib.sha256(store.read_bytes(name)).hexdigest()
    assert stored_sha != hashlib.sha256(snapshot_bytes(clean, DE35)).hexdigest()
    written = write_snapshot(store, settings, clean, W2, result, "test")
    assert written.sha256 == stored_sha and store.generation(name) == other
    frame, manifest = load_snapshot(store, settings)
    assert manifest.sha256 == stored_sha and len(frame) == len(clean)


def test_parquet_bytes_are_deterministic(good_w2: tuple[pd.DataFrame, ValidationReport]) -> None:
    clean, _ = good_w2
    shuffled = clean.sample(frac=1.0, random_state=7)
    assert snapshot_bytes(shuffled, DE35) == snapshot_bytes(clean, DE35)


def test_older_window_does_not_move_latest_back(
    settings: Settings, store: ObjectStore, snapshot_path: Path
) -> None:
    snap = settings.model_copy(update={"snapshot": snapshot_path})
    newer = run_stages(snap, store, 0)
    older = run_stages(snap, store, 1)
    assert older.created and not older.pointer_moved
    _, manifest = load_snapshot(store, snap)
    assert manifest.run_id == newer.run_id
    old_frame, old_manifest = load_snapshot(store, snap, run=older.run_id)
    assert old_manifest.window_end == W1.end and old_frame["datetime_utc"].max() < W1.end


def test_reader_errors_are_clear(settings: Settings, store: ObjectStore) -> None:
    with pytest.raises(FeatureStoreError, match="no feature snapshot yet"):
        load_snapshot(store, settings)
    with pytest.raises(FeatureStoreError, match="no feature snapshot 20230101T0000Z"):
        load_snapshot(store, settings, run="20230101T0000Z")


def test_failed_validation_is_refused(
    settings: Settings, store: ObjectStore, good_w2: tuple[pd.DataFrame, ValidationReport]
) -> None:
    clean, result = good_w2
    with pytest.raises(FeatureStoreError, match="validation failed"):
        write_snapshot(store, settings, clean, W2, result.model_copy(update={"success": False}), "test")
    assert store.list("features/") == []


# --- the gate: bad input never reaches the feature store ---------------------------------------
def _mostly_null(f: pd.DataFrame) -> pd.DataFrame:
    """A whole day of DK1 null: a sixth of the window, far more than the 2 % a run may miss."""
    hours = f["HourUTC"].between("2023-01-16T00:00:00", "2023-01-16T23:00:00")
    return f.assign(TotalCon=f["TotalCon"].astype("float64").mask((f["PriceArea"] == "DK1") & hours))


def _area(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(PriceArea=f["PriceArea"].mask(f.index == 767, "DK3"))


def _consumer(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(ConsumerType_DE35=f["ConsumerType_DE35"].mask(f.index == 767, "000"))


def _duplicate(f: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([f, f.iloc[[7]]], ignore_index=True)


def _dtype(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(TotalCon=f["TotalCon"].astype("string").mask(f.index == 7, "n/a"))


def _stale(f: pd.DataFrame) -> pd.DataFrame:
    """Every value of the window's last day is 0 (quarantined): nothing recent to start from."""
    late = f["HourUTC"] >= "2023-01-17T00:00:00"
    return f.assign(TotalCon=f["TotalCon"].mask(late, 0))


BAD_INPUTS: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str, str]] = {
    "mostly_null": (_mostly_null, "bad_share", "are missing or quarantined"),
    "unknown_area": (_area, "area_in_set", "DK3"),
    "unknown_consumer_type": (_consumer, "consumer_type_in_set", "'000'"),
    "duplicate_key": (_duplicate, "unique_key", "area, consumer_type, datetime_utc"),
    "wrong_dtype": (_dtype, "column_dtype", "n/a"),
    "stale": (_stale, "recent_data", "in the window's last 24 h"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_stops_at_validate(
    case: str,
    settings: Settings,
    store: ObjectStore,
    snapshot_path: Path,
    tmp_path: Path,
    good_w2: tuple[pd.DataFrame, ValidationReport],
) -> None:
    mutate, rule, detail = BAD_INPUTS[case]
    good = run_stages(settings.model_copy(update={"snapshot": snapshot_path}), store, 1)  # W1
    before = generations(store)
    pointer = store.read_pointer(LATEST)
    assert pointer is not None and pointer.body["run_id"] == good.run_id

    raw = pd.read_parquet(snapshot_path)
    bad_path = tmp_path / f"{case}.parquet"
    mutate(raw).to_parquet(bad_path, index=False)
    bad = settings.model_copy(update={"snapshot": bad_path})

    extracted = extract(bad, "2023-01-18T00:00Z", 0, 3)  # extract passes: structure is fine
    assert extracted.window == W2
    with pytest.raises(DataContractError) as err:
        run_stages(bad, store, 0)
    message = str(err.value)
    assert f"rule {rule}" in message
    assert detail in message
    assert rule in err.value.report.failed_rules

    after = store.read_pointer(LATEST)
    assert after is not None
    assert after.generation == pointer.generation and after.body == pointer.body
    assert generations(store) == before  # nothing of W2 was written


def test_point_faults_reach_the_store_quarantined_and_listed(
    settings: Settings, store: ObjectStore, snapshot_path: Path, tmp_path: Path
) -> None:
    """A negative hour and five null hours of one series: the run goes on; the snapshot has the
    negative hour filled, the null run missing, and the manifest lists every quarantined point."""
    raw = pd.read_parquet(snapshot_path)
    one = (raw["PriceArea"] == "DK1") & (raw["ConsumerType_DE35"] == "111")
    nulls = one & raw["HourUTC"].between("2023-01-16T01:00:00", "2023-01-16T05:00:00")
    negative = one & (raw["HourUTC"] == "2023-01-17T12:00:00")
    bad = raw.assign(TotalCon=raw["TotalCon"].astype("float64").mask(nulls).mask(negative, -12.0))
    bad.to_parquet(tmp_path / "faults.parquet", index=False)
    written = run_stages(settings.model_copy(update={"snapshot": tmp_path / "faults.parquet"}), store, 0)
    manifest = load_manifest(store, settings, written.run_id)
    report = manifest.validation_result
    assert report is not None and report.success
    assert sorted((p.rule, p.hour.isoformat(), p.replacement is None) for p in report.quarantined) == [
        *[("null_value", f"2023-01-16T0{h}:00:00+00:00", True) for h in range(1, 6)],
        ("value_range", "2023-01-17T12:00:00+00:00", False),
    ]
    assert [(g.series, g.hours) for g in report.long_gaps] == [(["DK1", "111"], 5)]
    frame, _ = load_snapshot(store, settings, run=written.run_id)
    series = frame[(frame["area"] == "DK1") & (frame["consumer_type"] == "111")].set_index("datetime_utc")
    assert len(series) == 72 - 5 and (series["energy_consumption"] > 0).all()


def test_a_manifest_written_before_the_typed_report_still_loads(
    settings: Settings, store: ObjectStore
) -> None:
    """A real manifest the previous release wrote (``validation_result`` as its plain JSON, beside a
    ``validation_summary`` this release no longer writes) reads as the typed contract, its extra key kept."""
    import json

    old = json.loads((Path(__file__).parents[1] / "data" / "manifest-before-typed-report.json").read_text())
    assert "validation_summary" in old
    store.create_json(layout.feature_manifest(old["group"], old["version"], old["run_id"]), old)
    manifest = load_manifest(store, settings, old["run_id"])
    report = manifest.validation_result
    assert report.success and report.statistics.evaluated_rules == len(report.rules) == len(
        old["validation_result"]["rules"]
    )
    assert manifest.model_dump(mode="json")["validation_summary"] == old["validation_summary"]


def test_a_manifest_that_breaks_the_contract_is_named(settings: Settings, store: ObjectStore) -> None:
    name = layout.feature_manifest("energy_consumption", 1, "20230101T0000Z")
    store.create_json(name, {"group": "energy_consumption", "run_id": "20230101T0000Z"})
    with pytest.raises(
        FeatureStoreError, match=r"20230101T0000Z.manifest.json is not a feature manifest: .*Field required"
    ):
        load_manifest(store, settings, "20230101T0000Z")
