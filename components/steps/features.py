"""KFP component ``features``: store the validated frame as an immutable feature snapshot."""

from kfp.dsl import Artifact, Dataset, Input, Output

from components.steps import component


@component()
def features(
    clean: Input[Dataset],
    report: Input[Artifact],
    window_start: str,
    window_end: str,
    feature_group_version: int,
    snapshot: Output[Dataset],
) -> None:
    """Write the snapshot + manifest and move ``latest`` (compare-and-swap). A repeated run of the
    same window writes nothing (``created`` false in the metadata).

    ``snapshot`` is the stored snapshot itself: its ``uri`` is the ``gs://`` object and its metadata
    is the manifest's (window, rows, series, sha256, contract summary) plus the run id and feature
    group version every later step reads the snapshot by.
    """
    import logging
    from pathlib import Path

    import pandas as pd

    from components.contracts import ValidationReport
    from components.extract import Window
    from components.feature_store import load_manifest, write_snapshot
    from components.steps.artifacts import configure_logging, snapshot_metadata
    from components.steps.context import step_context

    configure_logging()
    if feature_group_version < 1:
        raise ValueError(f"feature_group_version must be >= 1, got {feature_group_version}")
    window = Window.parse(window_start, window_end)
    result = ValidationReport.model_validate_json(Path(report.path).read_bytes())
    frame = pd.read_parquet(clean.path)
    context = step_context(feature_group_version=feature_group_version)
    settings, store = context.settings, context.store
    store.ensure_bucket()
    written = write_snapshot(
        store,
        settings,
        frame,
        window,
        result,
        source=result.source or "unknown",
        version=feature_group_version,
    )
    if written.created:
        logging.getLogger(__name__).info("feature snapshot written to %s", written.uri)
    else:
        logging.getLogger(__name__).info("nothing new: %s already holds this window", written.uri)
    manifest = load_manifest(store, settings, written.run_id)
    snapshot.uri = written.uri  # the object in the feature store; nothing is written at snapshot.path
    snapshot.metadata.update(snapshot_metadata(store, settings, manifest, written.created))
