"""The window of one run: a half-open UTC window ``[start, end)`` on whole hours, and time parsing.

A run's window ends at the hour after the last complete hour of data (or at the reference time, if
that is earlier), minus ``days_delay`` days, and spans ``days_export`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

HOUR = timedelta(hours=1)


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

    @classmethod
    def ending(cls, end: datetime, days: int) -> Window:
        return cls(end - timedelta(days=days), end)

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


def floor_hour(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} must be timezone-aware")
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def run_window(reference: datetime, data_end: datetime, days_delay: int, days_export: int) -> Window:
    """The window of one run.

    ``data_end`` is the hour after the last complete hour of data; the window ends there or at the
    reference hour if that is earlier, then ``days_delay`` days earlier, and spans ``days_export`` days.
    """
    if days_delay < 0:
        raise ValueError(f"days_delay must be >= 0, got {days_delay}")
    if days_export < 1:
        raise ValueError(f"days_export must be >= 1, got {days_export}")
    end = min(floor_hour(reference), floor_hour(data_end)) - timedelta(days=days_delay)
    return Window.ending(end, days_export)
