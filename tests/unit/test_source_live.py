"""The source as the real API behaves: its rate limit (the APIM body as HTTP 429 and as HTTP 200, no
Retry-After), a budget that runs out, an unresolvable host, and the newest published hour."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from components.datasets import DEFAULT_DATASET, SPECS, get_spec, sample_path
from components.extract import extract, source_data_end
from components.settings import Settings
from components.source.client import ApiClient, RequestBudgetSpent, SourceUnreachable, check_resolvable
from components.storage import ObjectStore
from tests.conftest import EBN_2019, EBN_2024
from tests.replay_api import load_records, serve

EBN = get_spec("ElectricityBalanceNonv")


@pytest.fixture(scope="module")
def ebn_records() -> list[dict[str, Any]]:
    return load_records(EBN_2019, EBN)


def live_settings(settings: Settings, url: str, **update: Any) -> Settings:
    values: dict[str, Any] = {
        "dataset": EBN.name,
        "feature_group": EBN.feature_group,
        "source_url": url,
        "snapshot": None,
        "days_export": 7,
        "source_backoff_s": 0.01,
        "source_max_wait_s": 5.0,
    }
    values.update(update)
    return settings.model_copy(update=values)


@pytest.mark.parametrize("limited_status", [429, 200])
def test_rate_limited_extract_waits_as_told_and_completes_the_window(
    settings: Settings, ebn_records: list[dict[str, Any]], limited_status: int
) -> None:
    """The replay admits one request per second; the 'now' run needs the newest record and the
    window, so its second request is rate-limited, waits "Try again in 1 seconds" and completes."""
    with serve(ebn_records, EBN.name, rate_limit_s=1.0, limited_status=limited_status) as (url, replay):
        started = time.monotonic()
        result = extract(live_settings(settings, url), "now", 0, 7)
        seconds = time.monotonic() - started
    newest = datetime(2019, 10, 31, 23, tzinfo=UTC)
    assert result.newest_hour == newest and result.data_end == newest + timedelta(hours=1)
    assert result.window.end == newest + timedelta(hours=1) and result.window.hours == 7 * 24
    assert len(result.frame) == 2 * 7 * 24 - 2  # the export lacks 2019-10-26 23:00 for both areas
    assert replay.limited >= 1, "the replay should have rate-limited at least one request"
    # the optimistic window (too short: the data ended in 2019), the newest record, the window
    assert result.requests == len(replay.requests) == 3 + replay.limited
    assert seconds >= 0.9  # it waited as told instead of hammering the API


def test_rate_limit_body_is_counted_and_a_spent_budget_is_one_clear_error(
    ebn_records: list[dict[str, Any]],
) -> None:
    sleeps: list[float] = []
    with serve(ebn_records, EBN.name, rate_limit_s=3600, limited_status=200) as (url, replay):
        client = ApiClient(url, EBN, max_requests=4, max_wait_s=2.0, sleep=sleeps.append)
        assert client.newest_hour() == datetime(2019, 10, 31, 23, tzinfo=UTC)  # the one admitted request
        with pytest.raises(RequestBudgetSpent) as err:
            client.fetch(datetime(2019, 10, 1, tzinfo=UTC), datetime(2019, 10, 8, tzinfo=UTC))
    message = str(err.value)
    assert "the budget of 4 requests is spent (4 requests (3 rate-limited" in message
    assert "EF_SOURCE_MAX_REQUESTS" in message and "\n" not in message
    assert sleeps == [2.0, 2.0, 2.0]  # "Try again in 3600 seconds", capped at max_wait_s
    assert len(replay.requests) == 4


def test_a_spent_budget_writes_nothing(
    settings: Settings, ebn_records: list[dict[str, Any]], store: ObjectStore
) -> None:
    from tests.pipeline_fixtures import run_feature_stages

    with serve(ebn_records, EBN.name, rate_limit_s=3600) as (url, _):
        live = live_settings(settings, url, source_max_requests=2, source_max_wait_s=0.01)
        with pytest.raises(RequestBudgetSpent):
            run_feature_stages(live, "now")
    assert store.list("") == []


def test_the_offline_hint_of_the_default_dataset_names_its_sample_not_ef_dataset() -> None:
    """With EF_DATASET unset, "leave EF_DATASET unset" would not help: the sample's path does."""
    with pytest.raises(SourceUnreachable) as err:
        check_resolvable("https://api.energidataservice.invalid/dataset", SPECS[DEFAULT_DATASET])
    assert str(err.value).endswith(
        f"offline? set ENERGY_SNAPSHOT to an export of {DEFAULT_DATASET}, e.g. the sample shipped with "
        f"the package: ENERGY_SNAPSHOT={sample_path(SPECS[DEFAULT_DATASET])}"
    )
    assert "EF_DATASET" not in str(err.value)


def test_unresolvable_host_fails_at_once_naming_the_offline_setting() -> None:
    started = time.monotonic()
    with pytest.raises(SourceUnreachable) as err:
        check_resolvable("https://api.energidataservice.invalid/dataset", EBN)
    assert time.monotonic() - started < 10
    # EBN ships no sample: an export of it, or the default dataset on its sample (EF_DATASET unset)
    assert f"set ENERGY_SNAPSHOT to an export of {EBN.name}, or run {DEFAULT_DATASET} on the sample" in str(
        err.value
    )
    assert f"unset EF_DATASET and set ENERGY_SNAPSHOT={sample_path(SPECS[DEFAULT_DATASET])}" in str(err.value)
    with pytest.raises(SourceUnreachable, match=r"cannot resolve api\.energidataservice\.invalid"):
        ApiClient("https://api.energidataservice.invalid/dataset", EBN, max_retries=5).newest_hour()


def test_reference_now_forecasts_after_the_newest_published_hour(
    settings: Settings, ebn_records: list[dict[str, Any]]
) -> None:
    """The replay's newest hour lies in the past: 'now' starts the window's end after that hour,
    and a DK1 hour that is not yet published makes the last complete hour one earlier."""
    newest = datetime(2019, 10, 31, 23, tzinfo=UTC)
    late = [r for r in ebn_records if not (r["HourUTC"] == "2019-10-31T23:00:00" and r["PriceArea"] == "DK1")]
    with serve(late, EBN.name) as (url, replay):
        live = live_settings(settings, url)
        assert source_data_end(live) == newest + timedelta(hours=1)
        result = extract(live, "now", 0, 7)
    assert result.newest_hour == newest
    assert result.data_end == newest  # DK1 ends at 22:00: the last complete hour
    assert result.window.end == newest
    assert any(r.get("sort") == "HourUTC DESC" and r.get("limit") == "1" for r in replay.requests)


def test_reference_in_the_past_is_one_request(settings: Settings, ebn_records: list[dict[str, Any]]) -> None:
    with serve(ebn_records, EBN.name) as (url, replay):
        result = extract(live_settings(settings, url), "2019-10-02T00:00Z", 0, 7)
    assert result.window.end == datetime(2019, 10, 2, tzinfo=UTC)
    assert len(replay.requests) == 1
    frame = pd.DataFrame(result.frame)
    assert set(frame["PriceArea"]) == {"DK1", "DK2"}


def test_snapshot_of_the_site_download_format(settings: Settings) -> None:
    path = EBN_2024
    result = extract(settings.model_copy(update={"dataset": EBN.name, "snapshot": path}), "now", 0, 7)
    assert result.newest_hour == datetime(2024, 11, 6, 22, tzinfo=UTC)
    assert len(result.frame) == 7 * 24 and set(result.frame["PriceArea"]) == {"DK2"}


def test_backfill_ends_at_the_exports_last_complete_hour(settings: Settings) -> None:
    """What ``python -m devtools backfill`` plans from with ``ENERGY_SNAPSHOT`` set to a dataset's export."""
    path = EBN_2019
    export = settings.model_copy(update={"dataset": EBN.name, "snapshot": path})
    assert source_data_end(export) == datetime(2019, 11, 1, 0, tzinfo=UTC)
