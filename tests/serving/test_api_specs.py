"""The API follows the configured dataset's spec: for each of the three datasets, fixture data in that
spec's shape (written with the real ObjectStore into the GCS emulator) is served under routes,
parameters and response models that name the dataset's own series keys, with its labels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from components.settings import Settings
from components.storage import ObjectStore
from serving.main import create_app
from tests.api_fixtures import SMALL, write_all
from tests.api_spec_checks import (
    EXPECTED,
    check_code_lists_and_description,
    check_openapi_names_the_keys,
    get,
)
from tests.serving.conftest import V1, api_settings


@pytest.fixture(params=list(EXPECTED))
def dataset(request: pytest.FixtureRequest, settings: Settings) -> Iterator[tuple[str, TestClient]]:
    """The API of one dataset (``EF_DATASET``), serving that dataset's fixture data."""
    name: str = request.param
    own = Settings(dataset=name)  # the test's bucket and folders (EF_* set by `settings`)
    assert own.bucket == settings.bucket
    store = ObjectStore.from_settings(own)
    store.ensure_bucket()
    write_all(store, own)
    with TestClient(create_app(api_settings(own))) as client:
        yield name, client


def test_openapi_names_the_datasets_keys(dataset: tuple[str, TestClient]) -> None:
    check_openapi_names_the_keys(*dataset)


def test_routes_serve_the_datasets_series_with_labels(dataset: tuple[str, TestClient]) -> None:
    name, client = dataset
    expected = EXPECTED[name]
    codes = "/".join(expected.series)
    one = get(client, f"/forecasts/{codes}")
    assert tuple(one[k] for k in expected.keys) == expected.series and one["label"] == expected.label
    assert len(one["observations"]) == 168 and len(one["forecast"]) == 24 and one["unit"] == "MWh"
    assert not set(one) & set(expected.foreign)

    every = get(client, "/forecasts")
    assert every["series"] == len(SMALL[name]) and set(every["rows"][0]) >= set(expected.keys)
    first = expected.plurals[0]
    chosen = get(client, "/forecasts", **{first: expected.series[0]})
    assert {r[expected.keys[0]] for r in chosen["rows"]} == {expected.series[0]}
    csv_head = client.get(f"{V1}/forecasts?format=csv").text.splitlines()[0]
    assert csv_head.split(",")[: len(expected.keys)] == list(expected.keys)

    unknown = client.get(f"{V1}/forecasts", params={expected.keys[0]: expected.series[0]})  # singular
    assert unknown.status_code == 422 and first in unknown.json()["detail"][0]["msg"]

    metrics = get(client, "/monitoring/metrics")
    assert {tuple(s[k] for k in expected.keys) for s in metrics["by_series"]} == set(SMALL[name])
    pairs = get(client, f"/monitoring/series/{codes}")
    assert pairs["label"] == expected.label and pairs["metrics"]["n"] == len(pairs["pairs"]) == 72
    quality = get(client, "/quality")
    assert {tuple(c[k] for k in expected.keys) for c in quality["coverage"]} == set(SMALL[name])


def test_code_lists_and_dataset_description(dataset: tuple[str, TestClient]) -> None:
    check_code_lists_and_description(*dataset)


def test_unknown_codes_are_404_and_fast_path_matches_routing(
    dataset: tuple[str, TestClient], settings: Settings
) -> None:
    name, client = dataset
    expected = EXPECTED[name]
    wrong = "/".join("X9" for _ in expected.keys)
    missing = client.get(f"{V1}/forecasts/{wrong}")
    assert missing.status_code == 404 and missing.json()["valid"]
    path = f"{V1}/forecasts/{'/'.join(expected.series)}"
    fast = client.get(path, headers={"Accept-Encoding": "gzip"})
    with TestClient(create_app(api_settings(Settings(dataset=name), api_fast_path=False))) as routed:
        slow = routed.get(path, headers={"Accept-Encoding": "gzip"})
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content)
        assert fast.headers["etag"] == slow.headers["etag"]
