"""Schemathesis over the API's own OpenAPI schema, against real uvicorn servers on the emulator, for
each of the three datasets (each app's schema names its own series keys).

The schemas are the apps' own (``app.openapi()``); the cases run over HTTP against servers started
with data on the emulator. (``schemathesis.pytest.from_fixture`` does not work with pytest 9.)
Bounded: a fixed number of generated examples per operation. Every response must be a non-5xx
answer whose status, content type, headers and body match the schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis

from components.storage import ObjectStore
from devtools.emulator import GcsEmulator
from serving.main import create_app
from serving.settings import ApiSettings
from tests.api_fixtures import BALANCE, DE35, INDUSTRY, serve_api, write_all

MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def api_urls(gcs_emulator: GcsEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One API per dataset, each serving that dataset's fixture data from its own bucket."""
    tmp: Path = tmp_path_factory.mktemp("api-schema")
    with ExitStack() as stack:
        urls = {}
        for dataset in (DE35, BALANCE, INDUSTRY):
            settings = ApiSettings(
                bucket=f"test-{uuid.uuid4().hex[:12]}",
                data_dir=tmp,
                dataset=dataset,
                api_refresh_interval_s=1.0,
            )
            store = ObjectStore.from_settings(settings)
            store.ensure_bucket()
            write_all(store, settings)
            urls[dataset] = stack.enter_context(serve_api(settings))
        yield urls


def conformance(dataset: str) -> Callable[..., None]:
    schema = schemathesis.openapi.from_dict(create_app(ApiSettings(dataset=dataset)).openapi())

    @schema.parametrize()
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def test(case: schemathesis.Case, api_urls: dict[str, str]) -> None:
        case.call_and_validate(base_url=api_urls[dataset])

    test.__name__ = f"test_openapi_conformance_{dataset}"
    return test


test_openapi_conformance_de35: Any = conformance(DE35)
test_openapi_conformance_electricity_balance: Any = conformance(BALANCE)
test_openapi_conformance_industry: Any = conformance(INDUSTRY)
