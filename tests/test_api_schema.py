"""Schemathesis over the API's own OpenAPI schema, against a real uvicorn server on the emulator.

The schema is the app's own (``app.openapi()``); the cases run over HTTP against a server started
with data on the emulator. (``schemathesis.pytest.from_fixture`` does not work with pytest 9.)
Bounded: a fixed number of generated examples per operation. Every response must be a non-5xx
answer whose status, content type, headers and body match the schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis

from components.emulator import GcsEmulator
from components.storage import ObjectStore
from serving.app import create_app
from serving.settings import ApiSettings
from tests.api_fixtures import serve_api, write_all

MAX_EXAMPLES = 30


schema = schemathesis.openapi.from_dict(create_app(ApiSettings()).openapi())


@pytest.fixture(scope="module")
def api_url(gcs_emulator: GcsEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("api-schema")
    settings = ApiSettings(bucket=f"test-{uuid.uuid4().hex[:12]}", data_dir=tmp, api_refresh_interval_s=1.0)
    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    write_all(store, settings)
    with serve_api(settings) as url:
        yield url


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_openapi_conformance(case: schemathesis.Case, api_url: str) -> None:
    case.call_and_validate(base_url=api_url)
