"""Object names in the bucket: the storage layout in one place (the README's Architecture section shows it).

Every name is built here from validated values (a feature-group name, a version number, a
run id made from a UTC timestamp); nothing a user sends ever becomes part of an object name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RUN_ID = re.compile(r"^\d{8}T\d{4}Z$")


def run_id(moment: datetime) -> str:
    """The id of a scheduled hour, e.g. ``20230117T2300Z`` (UTC, truncated to the hour)."""
    if moment.tzinfo is None:
        raise ValueError(f"run_id needs a timezone-aware datetime, got naive {moment.isoformat()}")
    hour = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour.strftime("%Y%m%dT%H%MZ")


def check_run_id(value: str) -> str:
    if not _RUN_ID.match(value):
        raise ValueError(f"invalid run id {value!r}: expected YYYYMMDDTHHMMZ")
    return value


def _group(group: str, version: int) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", group) or version < 1:
        raise ValueError(f"invalid feature group {group!r} v{version}")
    return f"features/{group}/v{version}"


def feature_snapshot(group: str, version: int, run: str) -> str:
    return f"{_group(group, version)}/snapshots/{check_run_id(run)}.parquet"


def feature_manifest(group: str, version: int, run: str) -> str:
    return f"{_group(group, version)}/snapshots/{check_run_id(run)}.manifest.json"


def feature_latest(group: str, version: int) -> str:
    return f"{_group(group, version)}/latest.json"


def forecast_run(run: str) -> str:
    return f"forecasts/runs/{check_run_id(run)}/forecast.parquet"


def forecast_metadata(run: str) -> str:
    return f"forecasts/runs/{check_run_id(run)}/metadata.json"


FORECASTS_PREFIX = "forecasts/runs/"
FORECAST_LATEST = "forecasts/latest.json"


def monitoring_run(run: str, table: str) -> str:
    if not re.fullmatch(r"[a-z_]+", table):
        raise ValueError(f"invalid monitoring table {table!r}")
    return f"monitoring/runs/{check_run_id(run)}/{table}.parquet"


def monitoring_summary(run: str) -> str:
    return f"monitoring/runs/{check_run_id(run)}/summary.json"


MONITORING_PREFIX = "monitoring/runs/"
MONITORING_LATEST = "monitoring/latest.json"
