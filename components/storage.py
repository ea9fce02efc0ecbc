"""Objects on Google Cloud Storage: create-only writes, compare-and-swap pointers, Parquet and JSON.

The same code talks to real GCS and to the local fake-gcs-server (the ``emulator_host`` setting,
``STORAGE_EMULATOR_HOST``).
Imports no ML library.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

if TYPE_CHECKING:
    import pandas as pd

    from components.settings import StorageSettings

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 60.0
"""Timeout of one HTTP request when the store has no ``timeout`` (the library's own default)."""


class StorageError(RuntimeError):
    """A storage operation failed; the message names the object."""


class ObjectExistsError(StorageError):
    """A create-only write found the object already there (nothing was changed)."""


class PointerConflictError(StorageError):
    """A pointer moved between our read and our write; the other writer won."""


class ObjectNotFoundError(StorageError):
    """The object does not exist."""


@dataclass(frozen=True)
class Pointer:
    """A ``latest.json`` pointer: its JSON body and the GCS generation it was read at."""

    body: dict[str, Any]
    generation: int


def make_client(project: str, emulator_host: str | None = None) -> storage.Client:
    """A storage client: anonymous against the GCS emulator at ``emulator_host`` (an URL such as
    ``http://127.0.0.1:4443``; every request goes there), default credentials on GCP otherwise."""
    if emulator_host:
        return storage.Client(
            project=project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": emulator_host},
        )
    return storage.Client(project=project)


class ObjectStore:
    """One bucket and one prefix; names passed in are relative to the prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: storage.Client | None = None,
        project: str = "local-project",
        timeout: float | None = None,
        emulator_host: str | None = None,
    ) -> None:
        """``timeout`` bounds every call, in seconds: each HTTP request and the whole retry of one
        call (None: the library's defaults, 60 s per request and 120 s of retries). A server that
        must answer while the bucket is unreachable (the API) sets a few seconds. Without a
        ``client``, one is made for ``project`` and ``emulator_host`` (:func:`make_client`)."""
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.client = client or make_client(project, emulator_host)
        self.bucket_name = bucket
        self.bucket = self.client.bucket(bucket)
        self.prefix = prefix.strip("/")
        self.timeout = timeout
        self._retry = DEFAULT_RETRY if timeout is None else DEFAULT_RETRY.with_timeout(timeout)
        self._timeout: float = REQUEST_TIMEOUT_S if timeout is None else timeout

    @classmethod
    def from_settings(cls, settings: StorageSettings, timeout: float | None = None) -> ObjectStore:
        """The store of the configured dataset: ``<prefix>/<dataset>/…`` in the bucket, so datasets
        that share a bucket never see each other's objects."""
        prefix = "/".join(p for p in (settings.prefix, settings.dataset) if p)
        return cls(
            settings.bucket,
            prefix,
            project=settings.gcp_project,
            timeout=timeout,
            emulator_host=settings.emulator_host,
        )

    def uri(self, name: str) -> str:
        return f"gs://{self.bucket_name}/{self.key(name)}"

    def key(self, name: str) -> str:
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"invalid object name {name!r}")
        return f"{self.prefix}/{name}" if self.prefix else name

    def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (local emulator and first run)."""
        try:
            self.client.get_bucket(self.bucket_name, retry=self._retry, timeout=self._timeout)
        except gexc.NotFound:
            try:
                self.client.create_bucket(self.bucket_name, timeout=self._timeout)
                log.info("created bucket gs://%s", self.bucket_name)
            except gexc.Conflict:
                pass

    # --- reads ---------------------------------------------------------------------------
    def generation(self, name: str) -> int | None:
        """The current generation of an object (a metadata-only call), or None if absent."""
        blob = self.bucket.get_blob(self.key(name), retry=self._retry, timeout=self._timeout)
        return None if blob is None else int(blob.generation)

    def exists(self, name: str) -> bool:
        return self.generation(name) is not None

    def read_bytes(self, name: str, generation: int | None = None) -> bytes:
        blob = self.bucket.blob(self.key(name), generation=generation)
        try:
            data: bytes = blob.download_as_bytes(retry=self._retry, timeout=self._timeout)
        except gexc.NotFound as err:
            raise ObjectNotFoundError(f"{self.uri(name)} does not exist") from err
        return data

    def read_bytes_with_generation(self, name: str) -> tuple[bytes, int]:
        """Body and generation of the same version of an object (no torn read)."""
        blob = self.bucket.get_blob(self.key(name), retry=self._retry, timeout=self._timeout)
        if blob is None:
            raise ObjectNotFoundError(f"{self.uri(name)} does not exist")
        generation = int(blob.generation)
        return self.read_bytes(name, generation=generation), generation

    def read_json(self, name: str) -> Any:
        raw = self.read_bytes(name)
        try:
            return json.loads(raw)
        except ValueError as err:
            raise StorageError(f"{self.uri(name)} is not valid JSON: {err}") from err

    def read_parquet(self, name: str) -> pd.DataFrame:
        import pandas as pd

        raw = self.read_bytes(name)
        try:
            return pd.read_parquet(io.BytesIO(raw))
        except Exception as err:
            raise StorageError(f"{self.uri(name)} is not a readable Parquet file: {err}") from err

    def list(self, prefix: str) -> list[str]:
        """Names (relative to the store's prefix) of the objects under ``prefix``, sorted."""
        full = self.key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        cut = len(self.prefix) + 1 if self.prefix else 0
        names = [
            b.name[cut:]
            for b in self.client.list_blobs(
                self.bucket_name, prefix=full, retry=self._retry, timeout=self._timeout
            )
        ]
        return sorted(names)

    # --- writes --------------------------------------------------------------------------
    def create(self, name: str, data: bytes, content_type: str) -> int:
        """Write an immutable object; raise ObjectExistsError (and change nothing) if it exists.

        Returns the new generation. The upload is all-or-nothing: readers never see a partial object.
        """
        blob = self.bucket.blob(self.key(name))
        try:
            blob.upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=0,
                retry=self._retry,
                timeout=self._timeout,
            )
        except gexc.PreconditionFailed as err:
            raise ObjectExistsError(f"{self.uri(name)} already exists; not overwritten") from err
        return int(blob.generation)

    def create_json(self, name: str, body: Any) -> int:
        return self.create(
            name,
            json.dumps(body, indent=2, sort_keys=True, default=str).encode(),
            "application/json",
        )

    def create_parquet(self, name: str, frame: pd.DataFrame) -> int:
        return self.create(name, parquet_bytes(frame), "application/vnd.apache.parquet")

    # --- pointers ------------------------------------------------------------------------
    def read_pointer(self, name: str) -> Pointer | None:
        """The pointer and its generation, or None when it was never written."""
        try:
            raw, generation = self.read_bytes_with_generation(name)
        except ObjectNotFoundError:
            return None
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise StorageError(f"pointer {self.uri(name)} is not valid JSON: {err}") from err
        if not isinstance(body, dict):
            raise StorageError(f"pointer {self.uri(name)} is not a JSON object")
        return Pointer(body=body, generation=generation)

    def move_pointer(self, name: str, body: dict[str, Any], expected_generation: int | None) -> int:
        """Compare-and-swap: write ``body`` only if the pointer is still at ``expected_generation``.

        ``None`` means "the pointer must not exist yet". Returns the new generation; raises
        PointerConflictError when another writer moved it first (then nothing is changed).
        """
        blob = self.bucket.blob(self.key(name))
        data = json.dumps(body, indent=2, sort_keys=True, default=str).encode()
        try:
            blob.upload_from_string(
                data,
                content_type="application/json",
                if_generation_match=expected_generation or 0,
                retry=self._retry,
                timeout=self._timeout,
            )
        except gexc.PreconditionFailed as err:
            raise PointerConflictError(
                f"pointer {self.uri(name)} moved since generation {expected_generation}; "
                "another run updated it first"
            ) from err
        return int(blob.generation)


POINTER_ATTEMPTS = 5
"""How often a pointer move re-reads and decides again when another writer moved it first."""


@dataclass(frozen=True)
class PointerMove:
    moved: bool
    message: str


def advance_pointer(
    store: ObjectStore,
    name: str,
    body: dict[str, Any],
    stays: Callable[[dict[str, Any]], str | None],
) -> PointerMove:
    """Move pointer ``name`` to ``body`` by compare-and-swap, unless ``stays(current body)`` gives a
    reason to leave it (then nothing is written and the message is ``"<name> <reason>"``). A
    conflicting writer makes us re-read and decide again, at most :data:`POINTER_ATTEMPTS` times."""
    for _ in range(POINTER_ATTEMPTS):
        current = store.read_pointer(name)
        if current is not None:
            reason = stays(current.body)
            if reason is not None:
                return PointerMove(False, f"{name} {reason}")
        try:
            store.move_pointer(name, body, None if current is None else current.generation)
        except PointerConflictError as err:
            log.info("%s; re-reading", err)
            continue
        before = "nothing" if current is None else current.body.get("run_id")
        return PointerMove(True, f"{name} moved from {before} to {body.get('run_id')}")
    raise PointerConflictError(f"{store.uri(name)} kept moving under us after {POINTER_ATTEMPTS} attempts")


def forward_only(run_id: str) -> Callable[[dict[str, Any]], str | None]:
    """The rule of the ``latest.json`` pointers: run ids sort in time order (``YYYYMMDDTHHMMZ``);
    a pointer moves only forward, never to the run it names already nor back to an earlier one."""

    def stays(current: dict[str, Any]) -> str | None:
        current_run = str(current.get("run_id", ""))
        if current_run == run_id:
            return f"already points to {run_id}; not moved"
        if current_run > run_id:
            return f"points to the later run {current_run}; not moved back to {run_id}"
        return None

    return stays


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
