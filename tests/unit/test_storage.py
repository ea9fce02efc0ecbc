"""Storage against the real fake-gcs-server: create-only writes and compare-and-swap pointers."""

from __future__ import annotations

import json
import threading
import urllib.request

import pandas as pd
import pytest

from components.settings import StorageSettings
from components.storage import (
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStore,
    PointerConflictError,
    make_client,
)
from devtools.emulator import GcsEmulator


def test_parquet_and_json_round_trip(store: ObjectStore) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    store.create_parquet("t/frame.parquet", frame)
    store.create_json("t/meta.json", {"rows": 2})
    pd.testing.assert_frame_equal(store.read_parquet("t/frame.parquet"), frame)
    assert store.read_json("t/meta.json") == {"rows": 2}
    assert store.list("t/") == ["t/frame.parquet", "t/meta.json"]


def test_create_only_refuses_to_overwrite(store: ObjectStore) -> None:
    generation = store.create_json("t/once.json", {"v": 1})
    with pytest.raises(ObjectExistsError, match="already exists"):
        store.create_json("t/once.json", {"v": 2})
    assert store.read_json("t/once.json") == {"v": 1}
    assert store.generation("t/once.json") == generation


def test_missing_object_is_a_clear_error(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError, match="does not exist"):
        store.read_bytes("nope.json")
    assert store.read_pointer("nope.json") is None


def test_pointer_compare_and_swap(store: ObjectStore) -> None:
    first = store.move_pointer("latest.json", {"run": "a"}, expected_generation=None)
    second = store.move_pointer("latest.json", {"run": "b"}, expected_generation=first)
    with pytest.raises(PointerConflictError, match="another run"):
        store.move_pointer("latest.json", {"run": "c"}, expected_generation=first)
    pointer = store.read_pointer("latest.json")
    assert pointer is not None
    assert pointer.body == {"run": "b"}
    assert pointer.generation == second


def test_two_concurrent_pointer_moves_exactly_one_wins(store: ObjectStore) -> None:
    start = store.move_pointer("latest.json", {"run": "start"}, expected_generation=None)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def mover(run: str) -> None:
        barrier.wait()
        try:
            store.move_pointer("latest.json", {"run": run}, expected_generation=start)
            outcomes[run] = "won"
        except PointerConflictError:
            outcomes[run] = "conflict"

    threads = [threading.Thread(target=mover, args=(run,)) for run in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["conflict", "won"]
    winner = next(run for run, outcome in outcomes.items() if outcome == "won")
    pointer = store.read_pointer("latest.json")
    assert pointer is not None and pointer.body == {"run": winner}


def test_object_names_cannot_escape_the_prefix(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="invalid object name"):
        store.key("../other/secret.json")


@pytest.mark.parametrize("variable", ["STORAGE_EMULATOR_HOST", "EF_STORAGE_EMULATOR_HOST"])
def test_the_emulator_setting_alone_reaches_the_emulator(
    gcs_emulator: GcsEmulator, bucket_name: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``STORAGE_EMULATOR_HOST`` gone from the environment (the client library reads it too),
    the ``emulator_host`` setting alone sends every kind of call to the emulator."""
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    settings = StorageSettings(bucket=bucket_name, **{variable: gcs_emulator.url})
    assert settings.emulator_host == gcs_emulator.url
    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    frame = pd.DataFrame({"a": [1, 2]})
    store.create_parquet("t/frame.parquet", frame)  # upload, create-only (if_generation_match=0)
    with pytest.raises(ObjectExistsError):
        store.create_parquet("t/frame.parquet", frame)
    pd.testing.assert_frame_equal(store.read_parquet("t/frame.parquet"), frame)  # download
    first = store.move_pointer("t/latest.json", {"run": "a"}, expected_generation=None)
    with pytest.raises(PointerConflictError):  # a generation precondition
        store.move_pointer("t/latest.json", {"run": "b"}, expected_generation=first + 1)
    assert store.list("t/") == ["t/frame.parquet", "t/latest.json"]  # listing
    # and the objects are that emulator's, as its own JSON API lists them
    listed = f"{gcs_emulator.url}/storage/v1/b/{bucket_name}/o"
    with urllib.request.urlopen(listed, timeout=5) as response:
        names = sorted(item["name"] for item in json.load(response)["items"])
    assert names == [store.key("t/frame.parquet"), store.key("t/latest.json")]


def test_the_emulator_setting_is_read_from_storage_emulator_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
    monkeypatch.setenv("EF_STORAGE_EMULATOR_HOST", "http://127.0.0.1:2")
    assert StorageSettings().emulator_host == "http://127.0.0.1:1"  # the library's own name first
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    assert StorageSettings().emulator_host == "http://127.0.0.1:2"
    monkeypatch.delenv("EF_STORAGE_EMULATOR_HOST")
    assert StorageSettings().emulator_host is None
    client = make_client("local-project", "http://127.0.0.1:3")
    assert client._connection.API_BASE_URL == "http://127.0.0.1:3"
