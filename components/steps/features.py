"""KFP component ``features``: store the validated frame as an immutable feature snapshot."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input

from components.steps import component


@component()
def features(
    clean: Input[Dataset],
    report: Input[Artifact],
    window_start: str,
    window_end: str,
    feature_group_version: int,
) -> NamedTuple("Outputs", [("snapshot_run", str), ("snapshot", str), ("created", bool)]):  # type: ignore[valid-type]
    """Write the snapshot + manifest and move ``latest`` (compare-and-swap). A repeated run of the
    same window writes nothing and returns ``created=False``; ``snapshot`` is the gs:// URI."""
    import json
    import logging
    from collections import namedtuple

    import pandas as pd

    from components.extract import Window
    from components.features import write_snapshot
    from components.settings import Settings
    from components.storage import ObjectStore

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if feature_group_version < 1:
        raise ValueError(f"feature_group_version must be >= 1, got {feature_group_version}")
    window = Window.parse(window_start, window_end)
    with open(report.path, encoding="utf-8") as handle:
        result = json.load(handle)
    frame = pd.read_parquet(clean.path)
    settings = Settings()
    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    written = write_snapshot(
        store,
        settings,
        frame,
        window,
        result,
        source=str(result.get("source", "unknown")),
        version=feature_group_version,
    )
    if written.created:
        logging.getLogger(__name__).info("feature snapshot written to %s", written.uri)
    else:
        logging.getLogger(__name__).info("nothing new: %s already holds this window", written.uri)
    Outputs = namedtuple("Outputs", ["snapshot_run", "snapshot", "created"])
    return Outputs(written.run_id, written.uri, written.created)
