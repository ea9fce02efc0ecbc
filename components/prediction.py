"""Batch prediction: forecast the next hours of every series with the champion model and publish them.

Publishing follows the storage rules (``components.storage``): ``forecast.parquet`` and
``metadata.json`` are create-only (``if_generation_match=0``), written in that order, and
``forecasts/latest.json`` moves
last by compare-and-swap, only forward in time. A repeated run of the same scheduled hour finds the
metadata already there and changes nothing; of two concurrent runs for the same hour one wins the
create and the other leaves the stored objects alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from components import layout, schemas
from components.contracts import ForecastMetadata, ForecastPointer
from components.datasets import DatasetSpec
from components.storage import ObjectExistsError, ObjectStore, advance_pointer, forward_only, parquet_bytes

if TYPE_CHECKING:
    import pandas as pd

    from components.settings import TrainingSettings

log = logging.getLogger(__name__)


class ForecastValidationError(ValueError):
    """The model's output breaks the forecast contract; the message says which rule and where."""


class ScheduledTimeError(ValueError):
    """A scheduled time that cannot be parsed as an RFC 3339 / ISO 8601 UTC instant."""


@dataclass(frozen=True)
class PredictionResult:
    run_id: str
    forecast: str
    metadata: str
    created: bool
    pointer_moved: bool
    model_version: str
    rows: int
    message: str


def parse_scheduled_time(value: str, now: datetime | None = None) -> datetime:
    """Parse a scheduled time as KFP sends it (RFC 3339, e.g. ``2026-11-27T20:00:00Z``).

    ``""`` or ``"now"`` means the current time. A naive value is taken as UTC. Returns an aware UTC
    datetime. KFP's ``{{$.pipeline_job_schedule_time_utc}}`` may carry nanoseconds; pandas parses those.
    """
    import pandas as pd

    text = (value or "").strip()
    if text.lower() in {"", "now"}:
        return (now or datetime.now(UTC)).astimezone(UTC)
    if text.startswith("{{"):
        raise ScheduledTimeError(
            f"scheduled time {text!r} is an unresolved KFP placeholder; pass an RFC 3339 time or ''"
        )
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError) as err:
        raise ScheduledTimeError(
            f"scheduled time {text!r} is not an RFC 3339 / ISO 8601 time (e.g. 2026-11-27T20:00:00Z): {err}"
        ) from err
    if stamp is pd.NaT:
        raise ScheduledTimeError(f"scheduled time {text!r} is not a time")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    result: datetime = stamp.to_pydatetime(warn=False)
    return result


# --- loading (feature store and model registry) ----------------------------------------------------
def load_features(
    store: ObjectStore, settings: TrainingSettings, run: str | None
) -> tuple[pd.DataFrame, str]:
    """The feature snapshot frame and its object name (``run`` None = the latest snapshot)."""
    from components.feature_store import load_snapshot

    frame, manifest = load_snapshot(store, settings, run=layout.check_run_id(run) if run else None)
    return frame, manifest.snapshot


def load_model(settings: TrainingSettings, version: str | None = None) -> tuple[Any, str]:
    """The pyfunc model of registry ``version`` (None: the champion; LookupError when there is none)
    and that version."""
    from components.model.registry import load_champion, load_version

    if version is None:
        return load_champion(settings)
    return load_version(settings, version), version


def model_input(features: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """The feature columns with ``datetime_utc`` as naive UTC: MLflow's schema enforcement of a
    ``datetime`` column rejects timezone-aware values (the model treats naive times as UTC)."""
    import pandas as pd

    frame = features.loc[:, list(spec.feature_columns)].copy()
    times = pd.to_datetime(frame[schemas.DATETIME], utc=True)
    frame[schemas.DATETIME] = times.dt.tz_localize(None)
    return frame


# --- forecast checks ----------------------------------------------------------------------------------
def validate_forecast(
    forecast: pd.DataFrame, features: pd.DataFrame, horizon: int, spec: DatasetSpec
) -> pd.DataFrame:
    """Check the model's output against the contract and return it in canonical order and dtypes.

    Rules: the spec's forecast columns are present; every series of the input has horizons 1..``horizon``
    exactly once and no other series appear; no missing or infinite point forecast; each timestamp is
    the series' last observed hour + horizon hours.
    """
    import numpy as np
    import pandas as pd

    keys = list(spec.key_names)
    missing = [c for c in spec.forecast_columns if c not in forecast.columns]
    if missing:
        raise ForecastValidationError(f"model output lacks columns {missing}; got {list(forecast.columns)}")
    out = forecast.loc[:, list(spec.forecast_columns)].copy()
    for key in keys:
        out[key] = out[key].astype("string")
    out[schemas.DATETIME] = pd.to_datetime(out[schemas.DATETIME], utc=True).astype("datetime64[ns, UTC]")
    try:
        out["horizon"] = out["horizon"].astype("int64")
    except (ValueError, TypeError) as err:
        raise ForecastValidationError(f"column 'horizon' is not integer: {err}") from err
    for column in ("forecast", "forecast_lower", "forecast_upper"):
        out[column] = out[column].astype("float64")

    bad = ~np.isfinite(out["forecast"].to_numpy())
    if bad.any():
        sample = out.loc[bad, [*keys, "horizon"]].head(3).to_dict("records")
        raise ForecastValidationError(f"{int(bad.sum())} missing/infinite point forecasts, e.g. {sample}")

    last = features.groupby(keys, observed=True)[schemas.DATETIME].max().rename("last_hour").reset_index()
    for key in keys:
        last[key] = last[key].astype("string")
    last["last_hour"] = pd.to_datetime(last["last_hour"], utc=True).astype("datetime64[ns, UTC]")
    expected = last.merge(pd.DataFrame({"horizon": np.arange(1, horizon + 1, dtype="int64")}), how="cross")

    dupes = out.duplicated([*keys, "horizon"], keep=False)
    if dupes.any():
        sample = out.loc[dupes, [*keys, "horizon"]].head(3).to_dict("records")
        raise ForecastValidationError(f"{int(dupes.sum())} rows repeat a (series, horizon), e.g. {sample}")
    joined = expected.merge(out, on=[*keys, "horizon"], how="outer", indicator=True)
    absent = joined["_merge"] == "left_only"
    if absent.any():
        sample = joined.loc[absent, [*keys, "horizon"]].head(3).to_dict("records")
        raise ForecastValidationError(
            f"{int(absent.sum())} (series, horizon) rows missing from the forecast "
            f"(expected horizons 1..{horizon} for {len(last)} series), e.g. {sample}"
        )
    extra = joined["_merge"] == "right_only"
    if extra.any():
        sample = joined.loc[extra, [*keys, "horizon"]].head(3).to_dict("records")
        raise ForecastValidationError(
            f"{int(extra.sum())} forecast rows for unknown series or horizons outside 1..{horizon}, "
            f"e.g. {sample}"
        )
    want = joined["last_hour"] + pd.to_timedelta(joined["horizon"], unit="h")
    wrong = joined[schemas.DATETIME] != want
    if wrong.any():
        sample = joined.loc[wrong, [*keys, "horizon", schemas.DATETIME]].head(3).to_dict("records")
        raise ForecastValidationError(
            f"{int(wrong.sum())} forecast timestamps are not last observed hour + horizon, e.g. {sample}"
        )
    return out.sort_values([*keys, "horizon"], ignore_index=True)


# --- the step -----------------------------------------------------------------------------------------
def predict_and_publish(
    store: ObjectStore,
    settings: TrainingSettings,
    snapshot_run: str | None,
    scheduled_time: datetime,
    model_version: str | None = None,
) -> PredictionResult:
    """Forecast the ``settings.horizon`` hours after the snapshot's last hour and publish them.

    The forecast run is named after its origin (the snapshot's window end: the hour after the last
    complete hour of data), so an hourly run that finds nothing new published changes nothing;
    ``scheduled_time`` (when the run was made) goes into the metadata. ``model_version`` is the
    registry version to forecast with (the pipeline resolves it in the DAG); None: the champion.
    """
    from components.feature_store import load_manifest

    spec = settings.spec
    manifest = load_manifest(store, settings, layout.check_run_id(snapshot_run) if snapshot_run else None)
    run = manifest.run_id
    forecast_name = layout.forecast_run(run)
    metadata_name = layout.forecast_metadata(run)

    if store.exists(metadata_name):
        return _already_published(store, run, forecast_name, metadata_name)

    features, snapshot_name = load_features(store, settings, run)
    if features.empty:
        raise ValueError(f"feature snapshot {store.uri(snapshot_name)} has no rows")
    model, model_version = load_model(settings, model_version)
    started = time.perf_counter()
    raw = model.predict(model_input(features, spec))
    predict_seconds = time.perf_counter() - started
    forecast = validate_forecast(raw, features, settings.horizon, spec)
    series = int(forecast.groupby(list(spec.key_names)).ngroups)
    has_band = bool(forecast[["forecast_lower", "forecast_upper"]].notna().all(axis=None))

    data = parquet_bytes(forecast)
    try:
        store.create(forecast_name, data, "application/vnd.apache.parquet")
        log.info("wrote %s (%d rows, %d series)", store.uri(forecast_name), len(forecast), series)
    except ObjectExistsError:
        if store.read_bytes(forecast_name) != data:
            message = (
                f"{store.uri(forecast_name)} was written by another run with a different forecast; "
                "left it and its metadata to that run"
            )
            log.warning(message)
            return PredictionResult(
                run, forecast_name, metadata_name, False, False, model_version, len(forecast), message
            )
        log.info("%s already holds the same forecast; completing its metadata", store.uri(forecast_name))

    generated_at = datetime.now(UTC)
    metadata = ForecastMetadata(
        run_id=run,
        scheduled_time=scheduled_time.astimezone(UTC),
        generated_at=generated_at,
        model_name=settings.model_name,
        model_version=model_version,
        feature_snapshot=snapshot_name,
        rows=len(forecast),
        series=series,
        horizon=settings.horizon,
        has_band=has_band,
        predict_seconds=round(predict_seconds, 4),
        dataset=spec.name,
        series_keys=list(spec.key_names),
        data_end=manifest.window_end - timedelta(hours=1),
        forecast_start=manifest.window_end,
        labels=manifest.labels,
    )
    try:
        store.create_json(metadata_name, metadata.model_dump(mode="json"))
    except ObjectExistsError:
        return _already_published(store, run, forecast_name, metadata_name)

    pointer = ForecastPointer(
        run_id=run,
        forecast=forecast_name,
        metadata=metadata_name,
        generated_at=generated_at,
        model_version=model_version,
    )
    move = advance_pointer(
        store,
        layout.FORECAST_LATEST,
        pointer.model_dump(mode="json"),
        forward_only(run),
    )
    message = (
        f"published forecast {run} (model version {model_version}, {len(forecast)} rows); {move.message}"
    )
    log.info(message)
    return PredictionResult(
        run, forecast_name, metadata_name, True, move.moved, model_version, len(forecast), message
    )


def _already_published(
    store: ObjectStore, run: str, forecast_name: str, metadata_name: str
) -> PredictionResult:
    """The run's objects exist: change nothing except finishing a pointer move a crash may have missed."""
    metadata = ForecastMetadata.model_validate(store.read_json(metadata_name))
    pointer = ForecastPointer(
        run_id=run,
        forecast=forecast_name,
        metadata=metadata_name,
        generated_at=metadata.generated_at,
        model_version=metadata.model_version,
    )
    move = advance_pointer(
        store,
        layout.FORECAST_LATEST,
        pointer.model_dump(mode="json"),
        forward_only(run),
    )
    message = f"forecast {run} already published (model version {metadata.model_version}); nothing written"
    if move.moved:
        message += f"; {move.message} (a previous run stopped before moving it)"
    log.info(message)
    return PredictionResult(
        run, forecast_name, metadata_name, False, move.moved, metadata.model_version, metadata.rows, message
    )
