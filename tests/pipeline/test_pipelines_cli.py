"""The pipelines CLI: argument parsing and help (the runs themselves are in test_pipeline_local.py)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from devtools.local_run import iso_hours
from pipelines.cli import build_parser, parse_every, parse_utc


def test_parse_utc_accepts_z_offsets_and_naive() -> None:
    expected = datetime(2023, 1, 17, 23, tzinfo=UTC)
    assert parse_utc("2023-01-17T23:00:00Z") == expected
    assert parse_utc("2023-01-18T00:00:00+01:00") == expected
    assert parse_utc("2023-01-17T23:00") == expected
    with pytest.raises(argparse.ArgumentTypeError, match="ISO-8601"):
        parse_utc("yesterday")


@pytest.mark.parametrize(("text", "hours"), [("24h", 24), ("6h", 6), ("1d", 24), ("12", 12)])
def test_parse_every(text: str, hours: int) -> None:
    assert parse_every(text) == hours


@pytest.mark.parametrize("text", ["0h", "-1h", "soon", "1w"])
def test_parse_every_rejects_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_every(text)


def test_iso_hours_is_inclusive_and_checks_order() -> None:
    start = datetime(2023, 1, 15, tzinfo=UTC)
    times = iso_hours(start, datetime(2023, 1, 17, tzinfo=UTC), 24)
    assert [t.day for t in times] == [15, 16, 17]
    with pytest.raises(ValueError, match="before"):
        iso_hours(start, datetime(2023, 1, 14, tzinfo=UTC), 24)


def test_every_command_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = set(subparsers.choices)
    assert {"compile", "run", "backfill", "upload", "schedule", "unschedule"} <= commands
    for command in sorted(commands):
        result = subprocess.run(
            [sys.executable, "-m", "pipelines", command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
        assert "usage: python -m pipelines" in result.stdout


def test_run_without_local_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "run"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "--local" in result.stderr
