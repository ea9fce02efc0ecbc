"""Extract: the raw records of one run's window from the Energi Data Service API or a snapshot file.

The window ends at the hour after the **last complete hour of data** (every series has a value; a
series more than the spec's gap limit behind is left to the contract), or at the reference time if
that is earlier, minus ``days_delay`` days; it spans ``days_export`` days. The newest published hour
comes from the source itself — the API or the file — never from a setting.

Against the API a run usually makes one request: the window plus a margin of twice the dataset's
publication lag, from which the newest hour is read. Only when that answer holds too little (the
dataset lags more, or stopped updating) does it ask for the newest record and then for the window.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.datasets import DatasetSpec
from components.source.files import SnapshotError, read_snapshot_file
from components.source.window import HOUR, Window, floor_hour, parse_reference, parse_time, run_window

if TYPE_CHECKING:
    import pandas as pd

    from components.settings import SourceSettings

__all__ = ["ExtractError", "ExtractResult", "Window", "extract", "parse_reference", "parse_time"]

log = logging.getLogger(__name__)


class ExtractError(RuntimeError):
    """The source could not deliver the window; the message names the window and the source."""


@dataclass(frozen=True)
class ExtractResult:
    frame: pd.DataFrame
    """The window's raw records (the spec's raw columns)."""
    window: Window
    source: str
    newest_hour: datetime
    """The newest hour the source has a value for."""
    data_end: datetime
    """The hour after the last complete hour of data: where the forecast starts."""
    requests: int = 0

    @property
    def metadata(self) -> dict[str, Any]:
        return {
            "rows": len(self.frame),
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "hours": self.window.hours,
            "source": self.source,
            "newest_hour": self.newest_hour.isoformat(),
            "data_end": self.data_end.isoformat(),
            "source_requests": self.requests,
        }


def record_hours(frame: pd.DataFrame, spec: DatasetSpec, where: str) -> pd.Series:
    """The records' hours (``spec.time_column``) as UTC timestamps; unreadable ones are an error."""
    import pandas as pd

    if frame.empty:
        return pd.Series([], dtype="datetime64[ns, UTC]")
    text = frame[spec.time_column].astype("string").str.strip()
    hours = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = hours.isna()
    if bad.any():
        samples = text[bad].head(5).tolist()
        raise ExtractError(
            f"{where}: {int(bad.sum())} rows have an unreadable {spec.time_column}, e.g. {samples}"
        )
    return hours.dt.floor("h")


def data_end_of(frame: pd.DataFrame, hours: pd.Series, spec: DatasetSpec) -> tuple[datetime, datetime] | None:
    """``(newest hour with a value, hour after the last complete hour)``, or None without values.

    The last complete hour is the earliest of the series' newest hours, among the series at most the
    spec's gap limit behind the newest (one that is further behind is a gap for the contract to judge).
    """
    import pandas as pd

    has_value = frame[spec.value_column].notna().to_numpy()
    if not has_value.any():
        return None
    keyed = pd.DataFrame({"hour": hours.to_numpy()[has_value]})
    for key in spec.keys:
        keyed[key.name] = frame[key.source].astype("string").to_numpy()[has_value]
    newest_by_series = keyed.groupby(list(spec.key_names), observed=True)["hour"].max()
    newest = newest_by_series.max()
    recent = newest_by_series[newest_by_series >= newest - pd.Timedelta(hours=spec.max_gap_hours)]
    return newest.to_pydatetime(), recent.min().to_pydatetime() + HOUR


def _cut(frame: pd.DataFrame, hours: pd.Series, window: Window) -> pd.DataFrame:
    inside = (hours >= window.start) & (hours < window.end)
    return frame.loc[inside.to_numpy()].reset_index(drop=True)


def extract_snapshot(
    path: Path, spec: DatasetSpec, reference: datetime, days_delay: int, days_export: int
) -> ExtractResult:
    where = f"snapshot file {path}"
    try:
        frame = read_snapshot_file(path, spec)
    except SnapshotError as err:
        raise ExtractError(str(err)) from err
    hours = record_hours(frame, spec, where)
    ends = data_end_of(frame, hours, spec)
    if ends is None:
        raise ExtractError(f"{where} has no {spec.value_column} values")
    newest, data_end = ends
    window = run_window(reference, data_end, days_delay, days_export)
    cut = _cut(frame, hours, window)
    if cut.empty:
        raise ExtractError(
            f"window {window} holds no records of {where} (it spans {hours.min().isoformat()} .. "
            f"{newest.isoformat()})"
        )
    log.info("extracted %d rows of %s from %s (newest hour %s)", len(cut), window, path, newest.isoformat())
    return ExtractResult(cut, window, f"snapshot:{path.name}", newest, data_end)


def extract_api(
    settings: SourceSettings, reference: datetime, days_delay: int, days_export: int
) -> ExtractResult:
    import pandas as pd

    from components.source.client import ApiClient

    spec = settings.spec
    client = ApiClient(
        api_url=settings.source_url,
        spec=spec,
        page_size=settings.source_page_size,
        timeout_s=settings.source_timeout_s,
        max_retries=settings.source_max_retries,
        backoff_s=settings.source_backoff_s,
        max_wait_s=settings.source_max_wait_s,
        max_requests=settings.source_max_requests,
    )
    hour = floor_hour(reference)
    margin = timedelta(days=max(1, math.ceil(2 * spec.publication_lag / timedelta(days=1))))
    asked = Window(hour - timedelta(days=days_delay + days_export) - margin, hour)
    with client:
        frame = pd.DataFrame(client.fetch(asked.start, asked.end), columns=list(spec.raw_columns))
        hours = record_hours(frame, spec, client.url)
        ends = data_end_of(frame, hours, spec) if len(frame) else None
        window = run_window(reference, ends[1], days_delay, days_export) if ends else None
        if ends is None or window is None or window.start < asked.start:
            newest_published = client.newest_hour()
            if newest_published is None:
                raise ExtractError(f"{client.url} has no records at all")
            log.info("%s: newest published hour %s", spec.name, newest_published.isoformat())
            end = min(hour, floor_hour(newest_published) + HOUR) - timedelta(days=days_delay)
            asked = Window(end - timedelta(days=days_export + 1), end)
            frame = pd.DataFrame(client.fetch(asked.start, asked.end), columns=list(spec.raw_columns))
            hours = record_hours(frame, spec, client.url)
            ends = data_end_of(frame, hours, spec) if len(frame) else None
            if ends is None:
                raise ExtractError(f"{client.url}: no {spec.value_column} values in {asked}")
            window = run_window(reference, ends[1], days_delay, days_export)
    newest, data_end = ends
    cut = _cut(frame, hours, window)
    log.info(
        "extracted %d rows of %s from %s (newest hour %s); the source made %s",
        len(cut),
        window,
        client.url,
        newest.isoformat(),
        client.log,
    )
    return ExtractResult(cut, window, f"api:{client.url}", newest, data_end, client.log.requests)


def extract(
    settings: SourceSettings, reference_time: str | datetime | None, days_delay: int, days_export: int
) -> ExtractResult:
    """The raw records of the run's window, from ``settings.snapshot`` if set, else from the API.

    ``days_export`` 0 means ``settings.days_export`` (the dataset's default unless set)."""
    days_export = days_export or settings.days_export
    reference = reference_time if isinstance(reference_time, datetime) else parse_reference(reference_time)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    if settings.snapshot is not None:
        return extract_snapshot(Path(settings.snapshot), settings.spec, reference, days_delay, days_export)
    return extract_api(settings, reference, days_delay, days_export)


def source_data_end(settings: SourceSettings) -> datetime:
    """The hour after the source's newest hour of data: the snapshot file's last complete hour, or
    the API's newest published record (one request)."""
    from components.source.client import ApiClient, check_resolvable

    spec = settings.spec
    if settings.snapshot is not None:
        path = Path(settings.snapshot)
        try:
            frame = read_snapshot_file(path, spec)
        except SnapshotError as err:
            raise ExtractError(str(err)) from err
        ends = data_end_of(frame, record_hours(frame, spec, f"snapshot file {path}"), spec)
        if ends is None:
            raise ExtractError(f"snapshot file {path} has no {spec.value_column} values")
        return ends[1]
    check_resolvable(settings.source_url, spec)
    with ApiClient(settings.source_url, spec, timeout_s=settings.source_timeout_s) as client:
        newest = client.newest_hour()
    if newest is None:
        raise ExtractError(f"{client.url} has no records")
    return floor_hour(newest) + HOUR
