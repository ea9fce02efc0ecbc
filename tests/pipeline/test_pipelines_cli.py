"""The two CLIs: ``python -m pipelines`` (compile, upload, schedule) and ``python -m devtools`` (local
runs, the emulator): argument parsing and help (the runs themselves are in test_pipeline_local.py)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools import cli as devtools_cli
from devtools.cli import parse_every, parse_utc
from devtools.emulator import GcsEmulator, free_port
from devtools.local_run import iso_hours
from pipelines import cli as pipelines_cli


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


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {choice.dest for choice in subparsers._choices_actions}  # the listed ones


@pytest.mark.parametrize(
    ("package", "parser", "expected"),
    [
        ("pipelines", pipelines_cli.build_parser(), {"compile", "upload", "schedule", "unschedule"}),
        ("devtools", devtools_cli.build_parser(), {"run", "backfill", "emulator"}),
    ],
)
def test_every_command_has_help(package: str, parser: argparse.ArgumentParser, expected: set[str]) -> None:
    commands = _commands(parser)
    assert commands == expected
    for command in sorted(commands):
        result = subprocess.run(
            [sys.executable, "-m", package, command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
        assert f"usage: python -m {package} {command}" in result.stdout


@pytest.mark.parametrize("command", ["run", "backfill"])
def test_the_local_commands_moved_to_devtools(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", command, "--local", "--last-days", "4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: `python -m pipelines {command}` moved to `python -m devtools {command}` "
        "(local runs are development tools; --local is no longer needed)"
    )


def test_pipelines_still_refuses_unknown_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        pipelines_cli.main(["compile", "--bogus"])
    assert done.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_devtools_takes_the_old_local_flag() -> None:
    parser = devtools_cli.build_parser()
    args = parser.parse_args(["backfill", "--local", "--last-days", "4", "--every", "1d"])
    assert (args.command, args.last_days, args.every) == ("backfill", 4, 24)
    assert parser.parse_args(["run"]).reference_time is None
    emulator = parser.parse_args(["emulator", "--root", "/tmp/gcs", "--port", "4999"])
    assert (str(emulator.root), emulator.port) == ("/tmp/gcs", 4999)


def test_devtools_emulator_serves_until_terminated(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools", "emulator", "--root", str(tmp_path / "gcs"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"export STORAGE_EMULATOR_HOST=http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/storage/v1/b", timeout=5) as response:
            assert response.status == 200
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
    assert GcsEmulator(tmp_path / "gcs", port=port).is_up() is False  # the server binary stopped too
