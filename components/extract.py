"""Extract: the raw records of one window ``[start, end)`` from the API or from a snapshot file.

The window comes from ``reference_time``, ``days_delay`` and ``days_export``:
``end = clamp(reference truncated to the hour) - days_delay days``, ``start = end - days_export days``.
The clamp: the dataset has a last published hour (``Settings.dataset_last_hour`` for the API, the
newest hour of a snapshot file); a reference after that hour + 1 h is replaced by it, and the log says so.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.schemas import RAW_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from components.settings import Settings

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


class ExtractError(RuntimeError):
    """The source could not deliver the window; the message names the window and the source."""


@dataclass(frozen=True)
class Window:
    """A half-open UTC window ``[start, end)`` on whole hours."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is None:
                raise ValueError(f"window {name} {value.isoformat()} must be timezone-aware")
            if value.minute or value.second or value.microsecond:
                raise ValueError(f"window {name} {value.isoformat()} must be on a whole hour")
        if self.start >= self.end:
            raise ValueError(f"empty window [{self.start.isoformat()}, {self.end.isoformat()})")

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR)

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """From the ISO strings that travel between KFP steps (naive means UTC)."""
        return cls(parse_time(start, "window_start"), parse_time(end, "window_end"))

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "hours": self.hours}

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()}) ({self.hours} h)"


def parse_time(value: str, what: str = "time") -> datetime:
    """An ISO-8601 time as aware UTC; naive values are taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(f"{what}: {value!r} is not an ISO-8601 time (e.g. 2023-01-18T00:00Z)") from err
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_reference(value: str | None, now: datetime | None = None) -> datetime:
    """``""``/``"now"``/None mean now (UTC); otherwise an ISO-8601 time."""
    if value is None or value.strip().lower() in ("", "now"):
        return now or datetime.now(UTC)
    return parse_time(value, "reference_time")


def compute_window(reference: datetime, days_delay: int, days_export: int, last_hour: datetime) -> Window:
    """The window of one run; the reference is truncated to the hour and clamped to ``last_hour + 1 h``."""
    if days_delay < 0:
        raise ValueError(f"days_delay must be >= 0, got {days_delay}")
    if days_export < 1:
        raise ValueError(f"days_export must be >= 1, got {days_export}")
    if reference.tzinfo is None:
        raise ValueError(f"reference_time {reference.isoformat()} must be timezone-aware")
    hour = reference.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    limit = last_hour.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + HOUR
    if hour > limit:
        log.warning(
            "reference time %s is after the dataset's last hour %s: using %s instead",
            hour.isoformat(),
            (limit - HOUR).isoformat(),
            limit.isoformat(),
        )
        hour = limit
    end = hour - timedelta(days=days_delay)
    return Window(end - timedelta(days=days_export), end)


@dataclass(frozen=True)
class ExtractResult:
    frame: pd.DataFrame
    window: Window
    source: str


# --- snapshot files --------------------------------------------------------------------------
def read_snapshot_file(path: Path) -> pd.DataFrame:
    """A Parquet file or the API's CSV export (``,`` or ``;`` separated), with raw column names.

    CSV values are kept as text (codes like ``"111"`` stay codes); numbers are parsed by the
    validate step, which accepts ``,`` decimals.
    """
    import pandas as pd

    if not path.is_file():
        raise ExtractError(f"snapshot file {path} does not exist (ENERGY_SNAPSHOT)")
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
            raise ExtractError(f"snapshot file {path}: unsupported type {suffix!r} (use .parquet or .csv)")
    except ExtractError:
        raise
    except Exception as err:
        raise ExtractError(f"snapshot file {path} is not readable: {type(err).__name__}: {err}") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    if "HourUTC" not in frame.columns:
        raise ExtractError(
            f"snapshot file {path} has no HourUTC column (columns: {list(frame.columns)}); "
            f"expected the ConsumptionDE35Hour columns {list(RAW_COLUMNS)}"
        )
    return frame


def _hours(frame: pd.DataFrame, where: str) -> pd.Series:
    import pandas as pd

    text = frame["HourUTC"].astype("string").str.strip()
    hours = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = hours.isna()
    if bad.any():
        samples = text[bad].head(5).tolist()
        raise ExtractError(f"{where}: {int(bad.sum())} rows have an unreadable HourUTC, e.g. {samples}")
    return hours


def _raw_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    extra = [c for c in frame.columns if c not in RAW_COLUMNS]
    if extra:
        log.info("%s: ignoring columns %s", where, extra)
    return frame[[c for c in RAW_COLUMNS if c in frame.columns]].reset_index(drop=True)


def _check_coverage(frame: pd.DataFrame, hours: pd.Series, window: Window, source: str) -> None:
    found = hours.nunique()
    if found < window.hours:
        span = f"{hours.min().isoformat()} .. {hours.max().isoformat()}" if len(hours) else "nothing"
        raise ExtractError(
            f"window {window} asks for {window.hours} hours but {source} has {found} distinct hours "
            f"in it ({len(frame)} rows, {span})"
        )


def extract_snapshot(path: Path, reference: datetime, days_delay: int, days_export: int) -> ExtractResult:
    frame = read_snapshot_file(path)
    where = f"snapshot file {path}"
    hours = _hours(frame, where)
    if hours.empty:
        raise ExtractError(f"{where} has no rows")
    window = compute_window(reference, days_delay, days_export, hours.max().to_pydatetime())
    inside = (hours >= window.start) & (hours < window.end)
    cut = frame.loc[inside]
    source = f"snapshot:{path.name}"
    _check_coverage(cut, hours[inside], window, f"snapshot file {path}")
    log.info("extracted %d rows of %s from %s", len(cut), window, path)
    return ExtractResult(_raw_columns(cut, where), window, source)


def extract_api(settings: Settings, reference: datetime, days_delay: int, days_export: int) -> ExtractResult:
    import pandas as pd

    from components.energidataservice import ApiClient, records_to_rows

    window = compute_window(reference, days_delay, days_export, settings.dataset_last_hour)
    client = ApiClient(
        api_url=settings.source_url,
        dataset=settings.dataset,
        page_size=settings.api_page_size,
        timeout_s=settings.api_timeout_s,
        max_retries=settings.api_max_retries,
        backoff_s=settings.api_backoff_s,
    )
    records = client.fetch(window.start, window.end)
    frame = pd.DataFrame(records_to_rows(records), columns=list(RAW_COLUMNS))
    where = f"{client.url}"
    hours: pd.Series = _hours(frame, where) if len(frame) else pd.Series([], dtype="datetime64[ns, UTC]")
    outside = (hours < window.start) | (hours >= window.end)
    if outside.any():
        raise ExtractError(
            f"{where} returned {int(outside.sum())} records outside {window}, "
            f"e.g. {frame.loc[outside, 'HourUTC'].head(3).tolist()}"
        )
    _check_coverage(frame, hours, window, f"the API ({where})")
    log.info("extracted %d rows of %s from %s", len(frame), window, where)
    return ExtractResult(frame, window, f"api:{client.url}")


def extract(
    settings: Settings, reference_time: str | datetime | None, days_delay: int, days_export: int
) -> ExtractResult:
    """The raw records of the run's window, from ``settings.snapshot`` if set, else from the API."""
    reference = reference_time if isinstance(reference_time, datetime) else parse_reference(reference_time)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    if settings.snapshot is not None:
        return extract_snapshot(Path(settings.snapshot), reference, days_delay, days_export)
    return extract_api(settings, reference, days_delay, days_export)
