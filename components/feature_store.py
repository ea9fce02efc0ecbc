"""Feature store: immutable, versioned snapshots of validated frames, a manifest and a ``latest`` pointer.

Writer: ``write_snapshot`` stores ``features/<group>/v<N>/snapshots/<run>.parquet`` (run =
``layout.run_id(window.end)``) create-only, then ``<run>.manifest.json``, then moves ``latest.json``
by compare-and-swap. A repeated run of the same window with the same bytes writes nothing; different
bytes for an existing run are an error and change nothing.

Reader: ``load_snapshot(store, settings, run=None, start=None, end=None)`` gives the latest (or the
named) snapshot, checked against its manifest's sha256, optionally cut to ``[start, end)``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from components import layout
from components.contracts import FeatureManifest, FeaturePointer, ValidationReport, problems
from components.datasets import DATETIME, DatasetSpec
from components.storage import (
    ObjectExistsError,
    ObjectNotFoundError,
    StorageError,
    advance_pointer,
)
from components.version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from components.settings import StorageSettings
    from components.source.window import Window
    from components.storage import ObjectStore

log = logging.getLogger(__name__)


class FeatureStoreError(RuntimeError):
    """A snapshot could not be written or read; the message names the object."""


class SnapshotConflictError(FeatureStoreError):
    """The run already has a snapshot with different bytes; nothing was changed."""


@dataclass(frozen=True)
class SnapshotWrite:
    run_id: str
    snapshot: str
    manifest: str
    sha256: str
    rows: int
    created: bool
    pointer_moved: bool
    uri: str


def snapshot_frame(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """The frame as stored: the spec's feature columns in order, their dtypes, rows sorted by key."""
    columns = list(spec.feature_columns)
    missing = [c for c in columns if c not in frame]
    if missing:
        raise FeatureStoreError(
            f"frame lacks {spec.name} feature columns {missing}; has {list(frame.columns)}"
        )
    out = frame[columns].astype(spec.feature_dtypes)
    return out.sort_values([DATETIME, *spec.key_names], kind="stable").reset_index(drop=True)


def snapshot_bytes(frame: pd.DataFrame, spec: DatasetSpec) -> bytes:
    """Deterministic Parquet bytes of a feature frame (same rows -> same bytes)."""
    import io

    buffer = io.BytesIO()
    snapshot_frame(frame, spec).to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _same_rows(data: bytes, stored: pd.DataFrame, spec: DatasetSpec) -> bool:
    import io

    import pandas as pd

    try:
        existing = snapshot_frame(pd.read_parquet(io.BytesIO(data)), spec)
    except Exception:  # unreadable or another schema: certainly not the same rows
        return False
    return bool(existing.equals(stored))


def write_snapshot(
    store: ObjectStore,
    settings: StorageSettings,
    frame: pd.DataFrame,
    window: Window,
    validation: ValidationReport,
    source: str,
    version: int | None = None,
    now: datetime | None = None,
) -> SnapshotWrite:
    """Store a validated frame as the run's immutable snapshot and move ``latest`` to it.

    Refuses a frame whose validation did not succeed. Idempotent for the same window and bytes.
    """
    if not validation.success:
        raise FeatureStoreError("refusing to store a frame whose validation failed")
    group = settings.feature_group
    version = version or settings.feature_group_version
    run = layout.run_id(window.end)
    snapshot_name = layout.feature_snapshot(group, version, run)
    manifest_name = layout.feature_manifest(group, version, run)
    latest_name = layout.feature_latest(group, version)
    spec = settings.spec
    stored = snapshot_frame(frame, spec)
    data = snapshot_bytes(stored, spec)
    digest = sha256(data)
    series = int(stored[list(spec.key_names)].drop_duplicates().shape[0])

    created = True
    try:
        store.create(snapshot_name, data, "application/vnd.apache.parquet")
        log.info("wrote %s (%d rows, sha256 %s)", store.uri(snapshot_name), len(stored), digest)
    except ObjectExistsError:
        existing_bytes = store.read_bytes(snapshot_name)
        existing = sha256(existing_bytes)
        if existing != digest:
            if not _same_rows(existing_bytes, stored, spec):
                raise SnapshotConflictError(
                    f"{store.uri(snapshot_name)} already exists with sha256 {existing}, but this run of "
                    f"window {window} produced {digest}: snapshots are immutable, nothing was changed "
                    f"(bump the feature group version to store different features)"
                ) from None
            log.info(
                "%s holds the same rows in another Parquet encoding (other library versions)",
                store.uri(snapshot_name),
            )
            digest = existing  # the stored object is the snapshot
        created = False
        log.info("%s already exists with the same rows: nothing new written", store.uri(snapshot_name))

    manifest = FeatureManifest(
        group=group,
        version=version,
        run_id=run,
        snapshot=snapshot_name,
        window_start=window.start,
        window_end=window.end,
        hours=window.hours,
        rows=len(stored),
        series=series,
        columns={c: str(stored[c].dtype) for c in stored.columns},
        sha256=digest,
        source=source,
        validation_result=validation,
        created_at=now or datetime.now(UTC),
        package_version=__version__,
        dataset=spec.name,
        series_keys=list(spec.key_names),
        labels=validation.labels,
    )
    try:
        store.create_json(manifest_name, manifest.model_dump(mode="json"))
        created = True
    except ObjectExistsError:
        other = _manifest(store, manifest_name)
        if other.sha256 != digest:
            raise SnapshotConflictError(
                f"{store.uri(manifest_name)} names sha256 {other.sha256}, the snapshot has {digest}"
            ) from None
        manifest = other

    moved = _move_latest(store, latest_name, manifest)
    if not created and not moved:
        log.info("window %s is already stored as run %s: nothing new was written", window, run)
    return SnapshotWrite(
        run_id=run,
        snapshot=snapshot_name,
        manifest=manifest_name,
        sha256=digest,
        rows=len(stored),
        created=created,
        pointer_moved=moved,
        uri=store.uri(snapshot_name),
    )


def _move_latest(store: ObjectStore, latest_name: str, manifest: FeatureManifest) -> bool:
    """Point ``latest`` at this snapshot unless it already does or points at a newer window."""

    def stays(body: dict[str, Any]) -> str | None:
        current = FeaturePointer.model_validate(body)
        if current.run_id == manifest.run_id and current.sha256 == manifest.sha256:
            return f"already points at run {manifest.run_id}"
        if current.window_end > manifest.window_end:
            return f"points at the newer run {current.run_id}; left as is"
        return None

    body = FeaturePointer(
        run_id=manifest.run_id,
        snapshot=manifest.snapshot,
        manifest=layout.feature_manifest(manifest.group, manifest.version, manifest.run_id),
        window_start=manifest.window_start,
        window_end=manifest.window_end,
        rows=manifest.rows,
        sha256=manifest.sha256,
        updated_at=datetime.now(UTC),
        dataset=manifest.dataset,
        series_keys=manifest.series_keys,
    ).model_dump(mode="json")
    move = advance_pointer(store, latest_name, body, stays)
    log.info(move.message)
    return move.moved


def load_manifest(store: ObjectStore, settings: StorageSettings, run: str | None = None) -> FeatureManifest:
    group, version = settings.feature_group, settings.feature_group_version
    if run is None:
        latest_name = layout.feature_latest(group, version)
        pointer = store.read_pointer(latest_name)
        if pointer is None:
            raise FeatureStoreError(f"no feature snapshot yet: {store.uri(latest_name)} does not exist")
        run = FeaturePointer.model_validate(pointer.body).run_id
    manifest_name = layout.feature_manifest(group, version, layout.check_run_id(run))
    try:
        return _manifest(store, manifest_name)
    except ObjectNotFoundError as err:
        raise FeatureStoreError(f"no feature snapshot {run}: {err}") from err


def _manifest(store: ObjectStore, name: str) -> FeatureManifest:
    try:
        return FeatureManifest.model_validate(store.read_json(name))
    except ValidationError as err:
        raise FeatureStoreError(f"{store.uri(name)} is not a feature manifest: {problems(err)}") from err


def load_snapshot(
    store: ObjectStore,
    settings: StorageSettings,
    run: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[pd.DataFrame, FeatureManifest]:
    """A stored snapshot ("latest" when ``run`` is None) checked against its manifest, cut to
    ``[start, end)`` when given."""
    import io

    import pandas as pd

    manifest = load_manifest(store, settings, run)
    data = store.read_bytes(manifest.snapshot)
    digest = sha256(data)
    if digest != manifest.sha256:
        raise FeatureStoreError(
            f"{store.uri(manifest.snapshot)} has sha256 {digest}, its manifest says {manifest.sha256}"
        )
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as err:
        raise StorageError(f"{store.uri(manifest.snapshot)} is not readable Parquet: {err}") from err
    frame = frame.astype(settings.spec.feature_dtypes)
    for name, bound in (("start", start), ("end", end)):
        if bound is not None and bound.tzinfo is None:
            raise ValueError(f"{name} {bound.isoformat()} must be timezone-aware")
    if start is not None:
        frame = frame[frame[DATETIME] >= start]
    if end is not None:
        frame = frame[frame[DATETIME] < end]
    log.info("loaded %d rows of feature snapshot %s", len(frame), manifest.run_id)
    return frame.reset_index(drop=True), manifest
