"""Fixtures of the API tests: API settings for a test's bucket, data written with the real
ObjectStore into the session's GCS emulator, and a TestClient of the app serving it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from components.settings import Settings
from components.storage import ObjectStore
from serving.main import create_app
from serving.settings import ApiSettings
from tests.api_fixtures import Written, wait_for, write_all

__all__ = ["V1", "api_settings", "wait_for"]

V1 = "/api/v1"


def api_settings(settings: Settings, **overrides: Any) -> ApiSettings:
    """API settings of the test's bucket and dataset; refresh every 0.1 s, 2 s storage timeout."""
    values: dict[str, Any] = {
        "bucket": settings.bucket,
        "prefix": settings.prefix,
        "data_dir": settings.data_dir,
        "dataset": settings.dataset,
        "api_refresh_interval_s": 0.1,
        "api_storage_timeout_s": 2.0,
    }
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture()
def written(store: ObjectStore, settings: Settings) -> Written:
    return write_all(store, settings)


@pytest.fixture()
def client(written: Written, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings(settings))) as test_client:
        yield test_client
