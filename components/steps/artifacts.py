"""What the steps put into their KFP artifacts: URIs, metadata, metrics; and what they read back.

Called from the component bodies (which import it at run time, like the stage logic). Nothing here
names a dataset column. The artifacts that point at objects outside the pipeline root:

- the feature snapshot ``Dataset``: ``uri`` = the snapshot's ``gs://`` object, metadata = its manifest
  (window, rows, series, sha256, contract summary) and the run id / feature group version the later
  steps read the snapshot by;
- a ``Model``: ``uri`` = ``models:/<registered name>/<version>``, metadata = MLflow run id, tracking
  URI (without credentials), model format, alias and why;
- the forecast ``Dataset``: ``uri`` = the forecast's ``gs://`` object, metadata = run id, model version.

A step never writes a file at such an artifact's ``path``: the object already exists where ``uri``
says, and a file there would be uploaded over it by the KFP launcher.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from components.reports.names import CHAMPION_WAPE, PROMOTED, TRAIN_METRICS

if TYPE_CHECKING:
    from components.contracts import FeatureManifest, MonitoringSummary
    from components.model.training import TrainOutcome
    from components.prediction import PredictionResult
    from components.settings import Settings
    from components.storage import ObjectStore

log = logging.getLogger(__name__)

SNAPSHOT_RUN = "run_id"
SNAPSHOT_VERSION = "feature_group_version"
MODEL_FRAMEWORK = "mlflow.pyfunc"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def write_text(path: str, text: str) -> None:
    """Write a report to an output artifact's local path (its folder may not exist yet)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def redact(uri: str) -> str:
    """A URI without the user name and password a tracking URI may carry."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- the feature snapshot -----------------------------------------------------------------------
def snapshot_metadata(
    store: ObjectStore, settings: Settings, manifest: FeatureManifest, created: bool
) -> dict[str, Any]:
    """Metadata of the snapshot ``Dataset``: what the manifest says, and how to read the snapshot."""
    from components import layout

    report = manifest.validation_result
    contract = {
        "success": report.success,
        "suite": report.suite,
        "evaluated_rules": report.statistics.evaluated_rules,
        "failed_rules": report.failed_rules,
        "warnings": report.warnings,
        "quarantined_points": len(report.quarantined),
        "long_gap_hours": report.long_gap_hours,
    }
    return {
        SNAPSHOT_RUN: manifest.run_id,
        "feature_group": manifest.group,
        SNAPSHOT_VERSION: manifest.version,
        "dataset": settings.dataset,
        "window_start": manifest.window_start.isoformat(),
        "window_end": manifest.window_end.isoformat(),
        "hours": manifest.hours,
        "rows": manifest.rows,
        "series": manifest.series,
        "sha256": manifest.sha256,
        "source": manifest.source,
        "manifest": store.uri(layout.feature_manifest(manifest.group, manifest.version, manifest.run_id)),
        "created": created,
        "contract": contract,
    }


def snapshot_ref(metadata: dict[str, Any]) -> tuple[str, int]:
    """``(run id, feature group version)`` of a snapshot ``Dataset`` from its metadata."""
    from components import layout

    try:
        run, version = str(metadata[SNAPSHOT_RUN]), int(metadata[SNAPSHOT_VERSION])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"the snapshot artifact lacks {SNAPSHOT_RUN!r}/{SNAPSHOT_VERSION!r} in its metadata "
            f"(got keys {sorted(metadata)}): it must come from the features step"
        ) from err
    return layout.check_run_id(run), version


# --- models -------------------------------------------------------------------------------------
def model_uri(name: str, version: str) -> str:
    return f"models:/{name}/{version}"


@dataclass(frozen=True)
class TrainedModel:
    uri: str
    metadata: dict[str, Any]
    metrics: dict[str, float]
    """The MLflow run's values of :data:`~components.reports.names.TRAIN_METRICS` that are defined."""
    report_info: dict[str, Any]


def trained_model(settings: Settings, outcome: TrainOutcome) -> TrainedModel:
    """The registered version a training produced or reused, read back from MLflow.

    ``champion_wape`` and ``promoted`` are logged to the training's run when it does not have them
    yet (a fresh training; a reused version keeps what its own training logged), so the run and the
    KFP ``Metrics`` carry the same names and values.
    """
    from components.model.registry import FORMAT_TAG, configure

    client = configure(settings)
    run_id = outcome.run_id
    logged = client.get_run(run_id).data.metrics
    if outcome.model is not None:  # trained by this step: complete the run (until training logs these)
        missing = {PROMOTED: float(outcome.promoted)}
        if outcome.champion_wape is not None and _finite(outcome.champion_wape):
            missing[CHAMPION_WAPE] = float(outcome.champion_wape)
        for name, value in missing.items():
            if name not in logged:
                client.log_metric(run_id, name, value)
    run = client.get_run(run_id)
    metrics = {
        name: float(run.data.metrics[name]) for name in TRAIN_METRICS if _finite(run.data.metrics.get(name))
    }
    version = client.get_model_version(settings.model_name, outcome.model_version)
    aliases = sorted(getattr(version, "aliases", []) or [])
    metadata = {
        "model_name": settings.model_name,
        "version": str(outcome.model_version),
        "mlflow_run_id": run_id,
        "tracking_uri": redact(settings.tracking_uri),
        "framework": MODEL_FRAMEWORK,
        "model_format": run.data.tags.get(FORMAT_TAG, ""),
        "aliases": aliases,
        "alias": "champion" if outcome.promoted else ("challenger" if "challenger" in aliases else "none"),
        "promoted": bool(outcome.promoted),
        "retrained": outcome.model is not None,
        "reason": outcome.reason,
        "snapshot": run.data.tags.get("snapshot", ""),
    }
    info = {
        **metadata,
        "run_id": run_id,
        "champion_wape": metrics.get(CHAMPION_WAPE),
        "champion_version": _previous_champion(outcome.reason),
        "origins": run.data.params.get("backtest_origins"),
        "horizon": run.data.params.get("horizon"),
    }
    return TrainedModel(model_uri(settings.model_name, str(outcome.model_version)), metadata, metrics, info)


def _previous_champion(reason: str) -> str | None:
    import re

    match = re.search(r"champion v(\d+)", reason)
    return match[1] if match else None


def backtest_folder(settings: Settings, run_id: str, dst: Path) -> Path:
    """The backtest tables and predictions of a training run, downloaded from its MLflow artifacts."""
    import mlflow

    path = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="backtest", dst_path=str(dst), tracking_uri=settings.tracking_uri
    )
    return Path(path)


def champion_model(settings: Settings, trained_version: str) -> tuple[str, dict[str, Any]]:
    """``(uri, metadata)`` of the version alias ``champion`` names now; LookupError when none."""
    from datetime import UTC, datetime

    from components.model.registry import CHAMPION, champion_info, configure

    champion = champion_info(settings)
    if champion is None:
        raise LookupError(
            f"no model version has alias {CHAMPION!r} in {settings.model_name}: nothing to predict with"
        )
    version = configure(settings).get_model_version(settings.model_name, champion.version)
    metadata = {
        "model_name": settings.model_name,
        "version": champion.version,
        "mlflow_run_id": champion.run_id,
        "tracking_uri": redact(settings.tracking_uri),
        "framework": MODEL_FRAMEWORK,
        "model_format": champion.model_format or "",
        "alias": CHAMPION,
        "aliases": sorted(getattr(version, "aliases", []) or []),
        "trained_version": trained_version,
        "is_trained_version": champion.version == trained_version,
        "resolved_at": datetime.now(UTC).isoformat(),
    }
    if champion.version != trained_version:
        log.info(
            "champion is v%s (this run trained v%s, which was not promoted)",
            champion.version,
            trained_version,
        )
    return model_uri(settings.model_name, champion.version), metadata


def model_ref(metadata: dict[str, Any], settings: Settings) -> str:
    """The registry version a ``Model`` artifact names, checked against the configured model name."""
    name, version = metadata.get("model_name"), metadata.get("version")
    if not name or not version:
        raise ValueError(
            f"the model artifact lacks model_name/version in its metadata (got {sorted(metadata)})"
        )
    if name != settings.model_name:
        raise ValueError(f"the model artifact names {name!r}, the settings' model is {settings.model_name!r}")
    return str(version)


# --- forecast and monitoring ---------------------------------------------------------------------
def forecast_metadata(store: ObjectStore, result: PredictionResult, model: dict[str, Any]) -> dict[str, Any]:
    """Metadata of the forecast ``Dataset``, from the forecast's own ``metadata.json``."""
    from components.contracts import ForecastMetadata

    stored = ForecastMetadata.model_validate(store.read_json(result.metadata))
    return {
        "run_id": result.run_id,
        "scheduled_time": stored.scheduled_time.isoformat(),
        "model_name": stored.model_name,
        "model_version": stored.model_version,
        "model_uri": model_uri(stored.model_name, stored.model_version),
        "given_model_version": str(model.get("version", "")),
        "feature_snapshot": store.uri(stored.feature_snapshot),
        "metadata": store.uri(result.metadata),
        "rows": stored.rows,
        "series": stored.series,
        "horizon": stored.horizon,
        "has_band": stored.has_band,
        "created": result.created,
        "pointer_moved": result.pointer_moved,
    } | {
        name: when.isoformat()
        for name, when in (("data_end", stored.data_end), ("forecast_start", stored.forecast_start))
        if when is not None
    }


def monitoring_tables(store: ObjectStore, summary: MonitoringSummary) -> dict[str, Any]:
    """The summary's tables (``name -> frame``) read from the bucket; a missing one is skipped."""
    from components.storage import ObjectNotFoundError

    tables = {}
    for table, name in summary.tables.items():
        try:
            tables[table] = store.read_parquet(name)
        except ObjectNotFoundError:
            log.warning("monitoring table %s is missing", store.uri(name))
    return tables
