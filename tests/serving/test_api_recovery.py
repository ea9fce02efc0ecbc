"""Start-up with the storage down, then recovery: the API's own emulator, stopped and started."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from components.storage import ObjectStore
from devtools.emulator import GcsEmulator, free_port
from serving.main import create_app
from serving.settings import ApiSettings
from tests.api_fixtures import wait_for, write_all

V1 = "/api/v1"


def test_object_store_timeout_bounds_a_call_to_an_unreachable_bucket() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    store = ObjectStore("nowhere", timeout=1.0, emulator_host=nobody)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017  (whatever the transport raises, it raises soon)
        store.generation("forecasts/latest.json")
    assert time.monotonic() - started < 5
    with pytest.raises(ValueError, match="positive"):
        ObjectStore("nowhere", timeout=0)


def test_startup_with_storage_down_then_recovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = GcsEmulator(tmp_path / "gcs", port=free_port())  # a fixed port, not started yet
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    settings = ApiSettings(
        bucket="recovery-test",
        data_dir=tmp_path / "data",
        api_refresh_interval_s=0.2,
        api_storage_timeout_s=1.0,
        api_retry_after_s=7,
    )
    try:
        with TestClient(create_app(settings)) as client:
            # the process is up, liveness is fine, readiness and data are not
            assert client.get(f"{V1}/health").status_code == 200
            ready = client.get(f"{V1}/ready")
            assert ready.status_code == 503
            assert ready.json()["ready"] is False and ready.json()["storage_reachable"] is False
            assert "storage unreachable" in ready.json()["reason"]
            for path in ("forecasts/DK1/111", "forecasts", "monitoring/metrics", "quality"):
                response = client.get(f"{V1}/{path}")
                assert response.status_code == 503, path
                assert response.headers["retry-after"] == "7"
                assert "unreachable" in response.json()["detail"]
            assert client.get(f"{V1}/meta").json()["storage_reachable"] is False
            assert "ef_api_storage_reachable 0.0" in client.get(f"{V1}/metrics").text

            # storage comes back and the pipeline writes: served without a restart
            emulator.start()
            store = ObjectStore.from_settings(settings)
            store.ensure_bucket()
            written = write_all(store, settings)
            wait_for(
                lambda: client.get(f"{V1}/ready").status_code == 200, "readiness after recovery", timeout_s=30
            )
            body = client.get(f"{V1}/forecasts/DK1/111").json()
            assert body["run_id"] == written.forecast.run_id and len(body["observations"]) == 168

            # storage goes away again: the last good data stays in service from memory
            emulator.stop()
            wait_for(
                lambda: client.get(f"{V1}/meta").json()["storage_reachable"] is False,
                "the outage",
                timeout_s=30,
            )
            assert client.get(f"{V1}/forecasts/DK1/111").json() == body
            assert client.get(f"{V1}/ready").json()["ready"] is True

            emulator.start()  # same port, same files
            wait_for(
                lambda: client.get(f"{V1}/meta").json()["storage_reachable"] is True,
                "reconnection",
                timeout_s=30,
            )
            assert client.get(f"{V1}/meta").json()["errors"] == []
    finally:
        emulator.stop()
