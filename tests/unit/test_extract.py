"""Extract: window semantics, the snapshot source (Parquet and CSV export) and the API client
against a local server that replays the shared snapshot with the real envelope and paging."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from components.datasets import get_spec
from components.extract import ExtractError, Window, extract, parse_reference
from components.settings import Settings
from components.source.client import ApiClient
from components.source.client import SourceError as ApiError
from components.source.files import SnapshotError, read_snapshot_file
from components.source.window import run_window
from components.validation import clean_frame
from devtools.emulator import free_port
from tests.replay_api import Fault, load_records, serve

DE35 = get_spec("ConsumptionDE35Hour")
RAW_COLUMNS = DE35.raw_columns

LAST = datetime(2023, 1, 17, 23, tzinfo=UTC)  # newest hour of the shared snapshot
REFERENCE = "2023-01-18T00:00Z"
WINDOW = Window(datetime(2023, 1, 15, tzinfo=UTC), datetime(2023, 1, 18, tzinfo=UTC))
ROWS_3_DAYS = 76 * 72


@pytest.fixture(scope="module")
def records(snapshot_path: Path) -> list[dict[str, Any]]:
    return load_records(snapshot_path)


@pytest.fixture(scope="module")
def expected(snapshot_path: Path) -> pd.DataFrame:
    """The shared snapshot cut to WINDOW, sorted like the API (sort=HourUTC)."""
    frame = pd.read_parquet(snapshot_path)
    frame = frame[(frame["HourUTC"] >= "2023-01-15T00:00") & (frame["HourUTC"] < "2023-01-18T00:00")]
    return frame.sort_values(["HourUTC", "PriceArea", "ConsumerType_DE35"]).reset_index(drop=True)


def api_settings(settings: Settings, api_url: str, **update: Any) -> Settings:
    values: dict[str, Any] = {
        "source_url": api_url,
        "snapshot": None,
        "source_page_size": 1000,
        "source_backoff_s": 0.001,
        "source_max_retries": 3,
        "source_timeout_s": 5.0,
    }
    values.update(update)
    return settings.model_copy(update=values)


def client(api_url: str, sleeps: list[float] | None = None, **kw: Any) -> ApiClient:
    recorder = sleeps.append if sleeps is not None else (lambda _s: None)
    options: dict[str, Any] = {"page_size": 1000, "backoff_s": 0.001, "max_retries": 3, "timeout_s": 5.0}
    options.update(kw)
    options.setdefault("max_requests", 100)
    return ApiClient(api_url=api_url, spec=DE35, sleep=recorder, **options)


def as_frame(fetched: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(fetched, columns=list(RAW_COLUMNS))


# --- window ------------------------------------------------------------------------------------
def test_window_truncates_to_the_hour_and_applies_delay() -> None:
    window = run_window(datetime(2023, 1, 10, 5, 42, 7, tzinfo=UTC), LAST + timedelta(hours=1), 2, 3)
    assert window == Window(datetime(2023, 1, 5, 5, tzinfo=UTC), datetime(2023, 1, 8, 5, tzinfo=UTC))
    assert window.hours == 72


def test_window_ends_after_the_last_complete_hour_of_data() -> None:
    assert run_window(datetime(2026, 11, 27, 20, tzinfo=UTC), LAST + timedelta(hours=1), 0, 3) == WINDOW
    assert run_window(datetime(2023, 1, 18, tzinfo=UTC), LAST + timedelta(hours=1), 0, 3) == WINDOW


def test_reference_parsing() -> None:
    now = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert parse_reference("", now=now) == now
    assert parse_reference("now", now=now) == now
    assert parse_reference("2023-01-18T00:00") == datetime(2023, 1, 18, tzinfo=UTC)
    assert parse_reference("2023-01-18T01:00+01:00") == datetime(2023, 1, 18, tzinfo=UTC)
    with pytest.raises(ValueError, match="reference_time: 'yesterday' is not an ISO-8601 time"):
        parse_reference("yesterday")
    with pytest.raises(ValueError, match="days_export must be >= 1"):
        run_window(now, now, 0, 0)


# --- snapshot source ---------------------------------------------------------------------------
def test_snapshot_parquet_window(settings: Settings, snapshot_path: Path, expected: pd.DataFrame) -> None:
    result = extract(settings.model_copy(update={"snapshot": snapshot_path}), "now", 0, 3)
    assert result.window == WINDOW
    assert result.source == f"snapshot:{snapshot_path.name}"
    assert list(result.frame.columns) == list(RAW_COLUMNS)
    assert len(result.frame) == ROWS_3_DAYS
    got = result.frame.sort_values(["HourUTC", "PriceArea", "ConsumerType_DE35"]).reset_index(drop=True)
    assert got["TotalCon"].tolist() == expected["TotalCon"].tolist()
    assert got["HourUTC"].min() == "2023-01-15T00:00:00" and got["HourUTC"].max() == "2023-01-17T23:00:00"


def test_zero_days_export_is_the_settings_window(settings: Settings, snapshot_path: Path) -> None:
    """What the compiled pipeline passes (``days_export`` 0): the running step's settings decide."""
    default = settings.model_copy(update={"snapshot": snapshot_path})
    assert default.days_export == default.spec.default_days_export  # EF_DAYS_EXPORT unset
    for configured in (default, default.model_copy(update={"days_export": 3})):
        result = extract(configured, "now", 0, 0)
        assert result.window.end - result.window.start == timedelta(days=configured.days_export)


def test_snapshot_window_before_the_data_is_a_clear_error(settings: Settings, snapshot_path: Path) -> None:
    with pytest.raises(ExtractError) as err:
        extract(settings.model_copy(update={"snapshot": snapshot_path}), "2022-12-01T00:00Z", 0, 3)
    message = str(err.value)
    assert "[2022-11-28T00:00:00+00:00, 2022-12-01T00:00:00+00:00) (72 h) holds no records" in message
    assert "2022-12-21T16:00:00+00:00 .. 2023-01-17T23:00:00+00:00" in message


def test_snapshot_csv_export_with_semicolons_and_decimal_commas(
    settings: Settings, tmp_path: Path, expected: pd.DataFrame
) -> None:
    csv_frame = expected.copy()
    csv_frame["TotalCon"] = [f"{v},5" if i % 2 else str(v) for i, v in enumerate(expected["TotalCon"])]
    csv_frame["HourUTC"] = csv_frame["HourUTC"].str.replace("T", " ").str[:16]  # "2023-01-15 00:00"
    path = tmp_path / "export.csv"
    csv_frame.to_csv(path, sep=";", index=False)
    result = extract(settings.model_copy(update={"snapshot": path}), REFERENCE, 0, 3)
    assert result.window == WINDOW
    assert len(result.frame) == ROWS_3_DAYS
    assert result.frame["ConsumerType_DE35"].iloc[0] == "111"  # a code, not the number 111
    clean, problems = clean_frame(result.frame, DE35)
    assert problems == []
    want = [(v + (0.5 if i % 2 else 0.0)) / 1000 for i, v in enumerate(expected["TotalCon"])]  # kWh -> MWh
    assert clean["energy_consumption"].tolist() == pytest.approx(want)
    assert clean["datetime_utc"].min() == WINDOW.start


def test_snapshot_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        read_snapshot_file(tmp_path / "missing.parquet", DE35)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SnapshotError, match=r"unsupported type '\.json'"):
        read_snapshot_file(tmp_path / "x.json", DE35)
    (tmp_path / "bad.csv").write_text("a;b\n1;2\n")
    with pytest.raises(SnapshotError, match=r"is not an export of ConsumptionDE35Hour: it lacks \['HourUTC'"):
        read_snapshot_file(tmp_path / "bad.csv", DE35)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(SnapshotError, match="is not readable"):
        read_snapshot_file(tmp_path / "bad.parquet", DE35)


# --- API client against the replay server ------------------------------------------------------
def test_api_happy_path_pages_with_limit_and_offset(
    settings: Settings, records: list[dict[str, Any]], expected: pd.DataFrame
) -> None:
    with serve(records, "ConsumptionDE35Hour") as (url, replay):
        fetched = client(url).fetch(WINDOW.start, WINDOW.end)
    pd.testing.assert_frame_equal(as_frame(fetched), expected, check_dtype=False)
    assert [r["offset"] for r in replay.requests] == ["0", "1000", "2000", "3000", "4000", "5000"]
    first = replay.requests[0]
    assert first["start"] == "2023-01-15T00:00" and first["end"] == "2023-01-18T00:00"
    assert (first["timezone"], first["sort"], first["limit"]) == ("utc", "HourUTC", "1000")
    assert first["columns"] == ",".join(RAW_COLUMNS)


def test_api_extract_asks_the_whole_window_in_one_request(
    settings: Settings, records: list[dict[str, Any]], expected: pd.DataFrame
) -> None:
    with serve(records, "ConsumptionDE35Hour") as (url, replay):
        result = extract(api_settings(settings, url, source_page_size=100_000), REFERENCE, 0, 3)
    assert result.window == WINDOW
    assert result.source == f"api:{url}/ConsumptionDE35Hour"
    assert result.requests == 1 == len(replay.requests)
    assert result.data_end == WINDOW.end and result.newest_hour == LAST
    got = result.frame.sort_values(["HourUTC", "PriceArea", "ConsumerType_DE35"]).reset_index(drop=True)
    assert got["TotalCon"].tolist() == expected["TotalCon"].tolist()


def test_api_500_then_success(records: list[dict[str, Any]], expected: pd.DataFrame) -> None:
    sleeps: list[float] = []
    with serve(records, "ConsumptionDE35Hour", [Fault("status", offset=2000, status=500)]) as (url, replay):
        fetched = client(url, sleeps).fetch(WINDOW.start, WINDOW.end)
    assert as_frame(fetched)["TotalCon"].tolist() == expected["TotalCon"].tolist()
    assert [r["offset"] for r in replay.requests].count("2000") == 2
    assert sleeps == [0.001]


def test_api_429_honours_retry_after_with_exponential_backoff(
    records: list[dict[str, Any]], expected: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps: list[float] = []
    faults = [
        Fault("status", offset=0, status=429, retry_after="2"),
        Fault("status", offset=0, status=429),
        Fault("status", offset=0, status=429),
    ]
    with (
        caplog.at_level(logging.WARNING, logger="components.source.client"),
        serve(records, "ConsumptionDE35Hour", faults) as (url, replay),
    ):
        fetched = client(url, sleeps, backoff_s=0.01, max_retries=0).fetch(WINDOW.start, WINDOW.end)
    assert len(fetched) == ROWS_3_DAYS
    assert as_frame(fetched)["TotalCon"].tolist() == expected["TotalCon"].tolist()
    assert sleeps == [2.0, 90.0, 90.0]  # Retry-After honoured; without one, the cap (max_wait_s)
    assert [r["offset"] for r in replay.requests].count("0") == 4
    assert "HTTP 429 Too Many Requests; retrying in 2.0 s" in caplog.text


def test_api_gives_up_with_a_clear_error(records: list[dict[str, Any]]) -> None:
    with (
        serve(records, "ConsumptionDE35Hour", [Fault("status", offset=1000, status=503, times=99)]) as (
            url,
            replay,
        ),
        pytest.raises(ApiError, match=r"giving up after 4 attempts: HTTP 503"),
    ):
        client(url).fetch(WINDOW.start, WINDOW.end)
    assert len(replay.requests) == 1 + 4


def test_api_truncated_json_body_is_retried(records: list[dict[str, Any]], expected: pd.DataFrame) -> None:
    with serve(records, "ConsumptionDE35Hour", [Fault("truncate", offset=3000)]) as (url, replay):
        fetched = client(url).fetch(WINDOW.start, WINDOW.end)
    assert as_frame(fetched)["TotalCon"].tolist() == expected["TotalCon"].tolist()
    assert [r["offset"] for r in replay.requests].count("3000") == 2


def test_api_connection_cut_mid_body_is_retried(
    records: list[dict[str, Any]], expected: pd.DataFrame
) -> None:
    with serve(records, "ConsumptionDE35Hour", [Fault("cut", offset=4000)]) as (url, replay):
        fetched = client(url).fetch(WINDOW.start, WINDOW.end)
    assert as_frame(fetched)["TotalCon"].tolist() == expected["TotalCon"].tolist()
    assert [r["offset"] for r in replay.requests].count("4000") == 2


def test_api_unreachable_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/dataset"  # nothing listens there
    with pytest.raises(ApiError, match=r"giving up after 2 attempts: ConnectionError"):
        client(url, max_retries=1).fetch(WINDOW.start, WINDOW.end)


def test_api_truncated_json_body_every_time_is_a_clear_error(records: list[dict[str, Any]]) -> None:
    with (
        serve(records, "ConsumptionDE35Hour", [Fault("truncate", offset=3000, times=99)]) as (url, _),
        pytest.raises(ApiError, match=r"giving up after 4 attempts: body is not valid JSON"),
    ):
        client(url).fetch(WINDOW.start, WINDOW.end)


def test_api_record_with_a_missing_field_is_a_clear_error(records: list[dict[str, Any]]) -> None:
    with (
        serve(records, "ConsumptionDE35Hour", [Fault("drop_field", offset=1000, field="TotalCon")]) as (
            url,
            _,
        ),
        pytest.raises(ApiError) as err,
    ):
        client(url).fetch(WINDOW.start, WINDOW.end)
    message = str(err.value)
    assert "record #1500 (offset 1000, index 500 on the page) is invalid" in message
    assert "TotalCon: Field required" in message


def test_api_empty_page_in_the_middle_is_a_clear_error(records: list[dict[str, Any]]) -> None:
    with (
        serve(records, "ConsumptionDE35Hour", [Fault("empty_page", offset=2000)]) as (url, _),
        pytest.raises(ApiError, match=r"empty page at offset 2000 although total is 5472; got 2000 of 5472"),
    ):
        client(url).fetch(WINDOW.start, WINDOW.end)


def test_api_wrong_envelope_is_a_clear_error(records: list[dict[str, Any]]) -> None:
    with (
        serve(records, "OtherDataset") as (url, _),
        pytest.raises(ApiError, match=r"HTTP 404 \(not retried\)"),
    ):
        client(url).fetch(WINDOW.start, WINDOW.end)
