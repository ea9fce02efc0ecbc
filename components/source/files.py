"""Snapshot files: an export of a dataset read instead of the API (``ENERGY_SNAPSHOT``).

Three formats: Parquet (records as the API returned them), the API's JSON-style CSV export (UTF-8
with a BOM, ``,``-separated, ``+00:00`` offsets) and the dataset page's download (``;``-separated,
decimal commas, ``YYYY-MM-DD hh:mm``). CSV values are kept as text (codes like ``"111"`` stay codes);
numbers are parsed by the validate step, which accepts decimal commas.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from components.datasets import DatasetSpec

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


class SnapshotError(RuntimeError):
    """The snapshot file cannot be used; the message names the file and what is wrong."""


def read_snapshot_file(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """The file's records with the spec's raw column names (other columns dropped)."""
    import pandas as pd

    if not path.is_file():
        raise SnapshotError(f"snapshot file {path} does not exist (ENERGY_SNAPSHOT)")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            text = path.read_text(encoding="utf-8-sig")
            first = text.splitlines()[0] if text else ""
            try:
                separator = csv.Sniffer().sniff(first, delimiters=";,\t").delimiter
            except csv.Error:
                separator = ";" if ";" in first else ","
            frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
            frame = frame.replace({"": None})
        else:
            raise SnapshotError(f"snapshot file {path}: unsupported type {suffix!r} (use .parquet or .csv)")
    except SnapshotError:
        raise
    except Exception as err:
        raise SnapshotError(f"snapshot file {path} is not readable: {type(err).__name__}: {err}") from err
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    required = [spec.time_column, *(k.source for k in spec.keys), spec.value_column]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SnapshotError(
            f"snapshot file {path} is not an export of {spec.name}: it lacks {missing} "
            f"(columns: {list(frame.columns)[:12]}); expected {list(spec.raw_columns)} — is EF_DATASET right?"
        )
    extra = [c for c in frame.columns if c not in spec.raw_columns]
    if extra:
        log.info("snapshot file %s: ignoring columns %s", path.name, extra)
    return frame[[c for c in spec.raw_columns if c in frame.columns]].reset_index(drop=True)
