"""Monitoring: how good were the stored forecasts, is the data fresh, has the input drifted.

Every published forecast (``forecasts/runs/<run>/`` with its ``metadata.json``) whose hours can
overlap the observation window is joined with the observations of the newest feature snapshot on
(area, consumer type, hour). Forecast runs scheduled after this monitoring run are ignored, so a
monitoring run of a given hour always sees the same inputs.

Definitions (``y`` observed, ``f`` forecast, sums over the pairs of a group):

- WAPE = sum(|y - f|) / sum(|y|); undefined (None) when sum(|y|) is 0.
- MAPE = mean(|y - f| / |y|) over the pairs with y != 0 (pairs with y == 0 are skipped); None when
  no pair has y != 0. Both are fractions (0.1 = 10 %).
- rolling WAPE = WAPE over the pairs of the ``monitoring_rolling_runs`` most recent forecast
  runs that have observations.
- freshness = scheduled time - start hour of the newest observation, in hours.
- drift = population stability index (PSI) of the target over the last 168 observed hours against
  the earlier hours of the snapshot, each series z-scored with its mean and standard deviation of the
  earlier window, 10 bins at the deciles of the earlier window. PSI < 0.1 is usually read as stable,
  > 0.25 as a large shift. It is reported, not alerted on.

``needs_attention`` is set when the rolling WAPE exceeds ``monitoring_wape_threshold`` or the
data is older than ``monitoring_age_limit_hours``; ``reason`` says which (and is also set when
everything is fine, e.g. "no forecast has observations yet").

Outputs: ``monitoring/runs/<run>/<table>.parquet`` for each of ``monitoring_tables(keys)`` and
``summary.json`` (create-only, summary last), then ``monitoring/latest.json`` by compare-and-swap,
only forward in time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from components import layout, schemas
from components.contracts import (
    MONITORING_TABLE_NAMES,
    Drift,
    ForecastMetadata,
    Freshness,
    MonitoringPointer,
    MonitoringSummary,
    ValidationReport,
    monitoring_tables,
)
from components.storage import ObjectExistsError, ObjectStore, PointerMove, advance_pointer, forward_only

if TYPE_CHECKING:
    import pandas as pd

    from components.settings import Settings

log = logging.getLogger(__name__)

DRIFT_WINDOW_HOURS = 168
DRIFT_BINS = 10
_PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class MonitoringResult:
    run_id: str
    summary_name: str
    summary: MonitoringSummary
    created: bool
    pointer_moved: bool
    message: str


# --- metrics ------------------------------------------------------------------------------------------
def error_metrics(observed: pd.Series, forecast: pd.Series) -> tuple[int, float | None, float | None]:
    """``(n, mape, wape)`` of one group of pairs (definitions: ``components.accuracy``)."""
    from components.accuracy import scores

    found = scores(observed.to_numpy(dtype="float64"), forecast.to_numpy(dtype="float64"))
    return len(observed), found.mape, found.wape


def _grouped(pairs: pd.DataFrame, keys: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for key, group in pairs.groupby(keys, sort=True, observed=True):
        values = key if isinstance(key, tuple) else (key,)
        n, mape, wape = error_metrics(group["observed"], group["forecast"])
        rows.append({**dict(zip(keys, values, strict=True)), "n": n, "mape": mape, "wape": wape})
    frame = pd.DataFrame(rows, columns=[*keys, "n", "mape", "wape"])
    frame["n"] = frame["n"].astype("int64")
    frame["mape"] = frame["mape"].astype("float64")
    frame["wape"] = frame["wape"].astype("float64")
    return frame.loc[:, [c for c in columns if c in frame.columns]]


def population_stability_index(observations: pd.DataFrame, keys: list[str]) -> Drift | None:
    """PSI of the last ``DRIFT_WINDOW_HOURS`` hours against the earlier hours (None if either is empty)."""
    import numpy as np
    import pandas as pd

    hours = observations[schemas.DATETIME]
    newest = hours.max()
    cut = newest - pd.Timedelta(hours=DRIFT_WINDOW_HOURS - 1)
    reference = observations[hours < cut]
    current = observations[hours >= cut]
    if reference.empty or current.empty:
        return None
    stats = reference.groupby(keys, observed=True)[schemas.TARGET].agg(["mean", "std"]).reset_index()
    stats["std"] = stats["std"].where(stats["std"] > 0, 1.0).fillna(1.0)

    def zscores(frame: pd.DataFrame) -> np.ndarray:
        merged = frame.merge(stats, on=keys, how="inner")
        values: np.ndarray = ((merged[schemas.TARGET] - merged["mean"]) / merged["std"]).to_numpy("float64")
        return values

    ref_z, cur_z = zscores(reference), zscores(current)
    if ref_z.size == 0 or cur_z.size == 0:
        return None
    edges = np.unique(np.quantile(ref_z, np.linspace(0, 1, DRIFT_BINS + 1)[1:-1]))
    ref_share = (
        np.bincount(np.searchsorted(edges, ref_z, side="right"), minlength=edges.size + 1) / ref_z.size
    )
    cur_share = (
        np.bincount(np.searchsorted(edges, cur_z, side="right"), minlength=edges.size + 1) / cur_z.size
    )
    ref_share = np.clip(ref_share, _PSI_FLOOR, None)
    cur_share = np.clip(cur_share, _PSI_FLOOR, None)
    psi = float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    one_hour = pd.Timedelta(hours=1)
    return Drift(
        psi=psi,
        reference_start=reference[schemas.DATETIME].min().to_pydatetime(),
        reference_end=(reference[schemas.DATETIME].max() + one_hour).to_pydatetime(),
        current_start=current[schemas.DATETIME].min().to_pydatetime(),
        current_end=(newest + one_hour).to_pydatetime(),
    )


# --- inputs -------------------------------------------------------------------------------------------
def published_runs(store: ObjectStore, up_to: str) -> list[str]:
    """Run ids of the published forecasts (metadata written) scheduled at or before ``up_to``."""
    runs = []
    for name in store.list(layout.FORECASTS_PREFIX):
        parts = name[len(layout.FORECASTS_PREFIX) :].split("/")
        if len(parts) == 2 and parts[1] == "metadata.json":
            try:
                run = layout.check_run_id(parts[0])
            except ValueError:
                log.warning("ignoring unexpected object %s", store.uri(name))
                continue
            if run <= up_to:
                runs.append(run)
    return sorted(runs)


def _run_time(run: str) -> datetime:
    return datetime.strptime(run, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def load_pairs(
    store: ObjectStore, observations: pd.DataFrame, up_to: str, horizon: int, series_keys: list[str]
) -> tuple[pd.DataFrame, dict[str, datetime]]:
    """Every stored forecast joined with its observation, and the scheduled time of each run.

    A forecast of run ``r`` covers hours before ``r + horizon`` (its origin is an observed hour, which
    precedes the scheduled time), so runs with ``r + horizon`` at or before the first observation
    cannot pair and are not read.
    """
    import pandas as pd

    keys = [*series_keys, schemas.DATETIME]
    first_hour = observations[schemas.DATETIME].min().to_pydatetime()
    frames = []
    scheduled: dict[str, datetime] = {}
    for run in published_runs(store, up_to):
        if _run_time(run) + timedelta(hours=horizon) <= first_hour:
            continue
        metadata = ForecastMetadata.model_validate(store.read_json(layout.forecast_metadata(run)))
        forecast = store.read_parquet(layout.forecast_run(run))
        missing = [c for c in (*keys, "horizon", "forecast") if c not in forecast.columns]
        if missing:
            raise ValueError(f"{store.uri(layout.forecast_run(run))} lacks columns {missing}")
        scheduled[run] = metadata.scheduled_time
        frames.append(forecast.loc[:, [*keys, "horizon", "forecast"]].assign(run_id=run))
    columns = list(monitoring_tables(series_keys)["pairs"])
    if not frames:
        return _empty_pairs(series_keys), scheduled
    forecasts = pd.concat(frames, ignore_index=True)
    forecasts = _normalise_keys(forecasts, series_keys)
    observed = _normalise_keys(observations.loc[:, [*keys, schemas.TARGET]], series_keys).rename(
        columns={schemas.TARGET: "observed"}
    )
    pairs = forecasts.merge(observed, on=keys, how="inner").loc[:, columns]
    pairs["horizon"] = pairs["horizon"].astype("int64")
    pairs["forecast"] = pairs["forecast"].astype("float64")
    pairs["observed"] = pairs["observed"].astype("float64")
    pairs = pairs.sort_values(["run_id", *series_keys, schemas.DATETIME], ignore_index=True)
    return pairs, {run: when for run, when in scheduled.items() if run in set(pairs["run_id"])}


def _normalise_keys(frame: pd.DataFrame, series_keys: list[str]) -> pd.DataFrame:
    import pandas as pd

    out = frame.copy()
    for key in series_keys:
        out[key] = out[key].astype("string")
    out[schemas.DATETIME] = pd.to_datetime(out[schemas.DATETIME], utc=True).astype("datetime64[ns, UTC]")
    return out


def _observed_only(frame: pd.DataFrame, report: ValidationReport, series_keys: list[str]) -> pd.DataFrame:
    """The snapshot's rows without the values the validate step filled in (gaps, quarantined points)."""
    filled = report.filled_hours()
    if not filled:
        return frame
    import pandas as pd

    cells = pd.MultiIndex.from_tuples(
        [(*codes, hour) for codes, hour in filled], names=[*series_keys, schemas.DATETIME]
    )
    index = pd.MultiIndex.from_frame(frame[[*series_keys, schemas.DATETIME]])
    return frame[~index.isin(cells)].reset_index(drop=True)


def _empty_pairs(series_keys: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "run_id": pd.Series(dtype="string"),
            **{key: pd.Series(dtype="string") for key in series_keys},
            schemas.DATETIME: pd.Series(dtype="datetime64[ns, UTC]"),
            "horizon": pd.Series(dtype="int64"),
            "forecast": pd.Series(dtype="float64"),
            "observed": pd.Series(dtype="float64"),
        }
    )


# --- the step -----------------------------------------------------------------------------------------
def compute_tables(
    pairs: pd.DataFrame, scheduled: dict[str, datetime], series_keys: list[str]
) -> dict[str, pd.DataFrame]:
    import pandas as pd

    MONITORING_TABLES = monitoring_tables(series_keys)
    by_run = _grouped(pairs, ["run_id"], MONITORING_TABLES["by_forecast_run"])
    by_run["scheduled_time"] = pd.to_datetime(
        by_run["run_id"].map(lambda run: scheduled.get(run)), utc=True
    ).astype("datetime64[ns, UTC]")
    by_run["run_id"] = by_run["run_id"].astype("string")
    tables = {
        "by_forecast_run": by_run.loc[:, list(MONITORING_TABLES["by_forecast_run"])],
        "by_series": _grouped(pairs, series_keys, MONITORING_TABLES["by_series"]),
        "by_horizon": _grouped(pairs, ["horizon"], MONITORING_TABLES["by_horizon"]),
        "pairs": pairs.loc[:, list(MONITORING_TABLES["pairs"])],
    }
    for column in series_keys:
        tables["by_series"][column] = tables["by_series"][column].astype("string")
    tables["by_horizon"]["horizon"] = tables["by_horizon"]["horizon"].astype("int64")
    return tables


def monitor_and_publish(
    store: ObjectStore,
    settings: Settings,
    snapshot_run: str | None,
    scheduled_time: datetime,
) -> MonitoringResult:
    """Evaluate the stored forecasts against the snapshot's observations and publish the results.

    Named like the forecast: after the snapshot's run (its window end), so an hourly run that finds
    nothing new published changes nothing.
    """
    from components.feature_store import load_manifest, load_snapshot

    run = load_manifest(store, settings, layout.check_run_id(snapshot_run) if snapshot_run else None).run_id
    keys = list(settings.spec.key_names)
    summary_name = layout.monitoring_summary(run)
    if store.exists(summary_name):
        summary = MonitoringSummary.model_validate(store.read_json(summary_name))
        move = _move_pointer(store, summary, summary_name)
        message = f"monitoring {run} already published; nothing written"
        if move.moved:
            message += f"; {move.message} (a previous run stopped before moving it)"
        log.info(message)
        return MonitoringResult(run, summary_name, summary, False, move.moved, message)

    observations, manifest = load_snapshot(store, settings, run=run)
    snapshot_name = manifest.snapshot
    if observations.empty:
        raise ValueError(f"feature snapshot {store.uri(snapshot_name)} has no rows")
    observations = _observed_only(_normalise_keys(observations, keys), manifest.validation_result, keys)
    pairs, scheduled = load_pairs(store, observations, run, settings.horizon, keys)
    tables = compute_tables(pairs, scheduled, keys)

    _, overall_mape, overall_wape = error_metrics(pairs["observed"], pairs["forecast"])
    recent = sorted(scheduled)[-settings.monitoring_rolling_runs :]
    rolling = pairs[pairs["run_id"].isin(recent)]
    _, _, rolling_wape = error_metrics(rolling["observed"], rolling["forecast"])
    newest = observations[schemas.DATETIME].max().to_pydatetime()
    age_hours = (scheduled_time.astimezone(UTC) - newest).total_seconds() / 3600
    freshness = Freshness(newest_observation=newest, age_hours=age_hours)
    drift = population_stability_index(observations, keys)

    reasons = []
    if rolling_wape is not None and rolling_wape > settings.monitoring_wape_threshold:
        reasons.append(
            f"rolling WAPE {rolling_wape:.3f} over the last {len(recent)} forecast runs exceeds "
            f"the threshold {settings.monitoring_wape_threshold:.3f}"
        )
    max_age = settings.monitoring_age_limit_hours
    if age_hours > max_age:
        reasons.append(
            f"data is stale: newest observation {newest.isoformat()} is {age_hours:.1f} h old "
            f"(limit {max_age:g} h)"
        )
    if reasons:
        reason = "; ".join(reasons)
    elif pairs.empty:
        reason = "no stored forecast has observations yet"
    else:
        reason = (
            f"rolling WAPE {rolling_wape:.3f} within the threshold {settings.monitoring_wape_threshold:.3f}"
            if rolling_wape is not None
            else "rolling WAPE undefined (all observations are 0)"
        )

    table_names = {table: layout.monitoring_run(run, table) for table in MONITORING_TABLE_NAMES}
    for table, frame in tables.items():
        try:
            store.create_parquet(table_names[table], frame)
        except ObjectExistsError:
            log.info("%s exists (an interrupted or concurrent run); kept", store.uri(table_names[table]))

    summary = MonitoringSummary(
        run_id=run,
        generated_at=datetime.now(UTC),
        evaluated_forecast_runs=len(scheduled),
        evaluated_pairs=len(pairs),
        overall_mape=overall_mape,
        overall_wape=overall_wape,
        rolling_wape=rolling_wape,
        wape_threshold=settings.monitoring_wape_threshold,
        needs_attention=bool(reasons),
        reason=reason,
        freshness=freshness,
        drift=drift,
        tables=table_names,
    )
    try:
        store.create_json(summary_name, summary.model_dump(mode="json"))
    except ObjectExistsError:
        stored = MonitoringSummary.model_validate(store.read_json(summary_name))
        message = f"monitoring {run} was published by a concurrent run; nothing written"
        log.info(message)
        return MonitoringResult(run, summary_name, stored, False, False, message)

    move = _move_pointer(store, summary, summary_name)
    message = (
        f"published monitoring {run}: {len(scheduled)} forecast runs, {len(pairs)} pairs, "
        f"needs_attention={summary.needs_attention} ({reason}); {move.message}"
    )
    log.info(message)
    return MonitoringResult(run, summary_name, summary, True, move.moved, message)


def _move_pointer(store: ObjectStore, summary: MonitoringSummary, summary_name: str) -> PointerMove:
    pointer = MonitoringPointer(
        run_id=summary.run_id, summary=summary_name, generated_at=summary.generated_at
    )
    body = pointer.model_dump(mode="json")
    return advance_pointer(store, layout.MONITORING_LATEST, body, forward_only(summary.run_id))
