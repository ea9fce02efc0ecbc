"""The two CLIs: ``python -m pipelines`` (compile, upload, schedule) and ``python -m devtools`` (local
runs, the emulator): argument parsing and help (the runs themselves are in test_pipeline_local.py)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
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
        ("devtools", devtools_cli.build_parser(), {"run", "backfill", "emulator", "check"}),
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


# --- every bad input is one line, at once ----------------------------------------------------------
RUN_ERROR = "python -m devtools: error: "
SUPPORTED = "supported: ConsumptionDE35Hour, ConsumptionDK3619IndustryHour, ElectricityBalanceNonv"
BAD_INPUTS: list[tuple[list[str], dict[str, str], str]] = [
    (
        ["devtools", "run"],
        {"ENERGY_SNAPSHOT": "/nonexistent/export.parquet"},
        f"{RUN_ERROR}invalid setting ENERGY_SNAPSHOT='/nonexistent/export.parquet': no such file",
    ),
    (
        ["devtools", "run", "--days-export", "-3"],
        {},
        f"{RUN_ERROR}invalid setting --days-export=-3: Input should be greater than or equal to 0",
    ),
    (
        ["devtools", "run"],
        {"EF_DATASET": "Nope"},
        f"{RUN_ERROR}invalid setting EF_DATASET='Nope': unknown dataset 'Nope'; {SUPPORTED}",
    ),
    (
        ["devtools", "run"],
        {"EF_DAYS_EXPORT": "-3"},
        f"{RUN_ERROR}invalid setting EF_DAYS_EXPORT='-3': Input should be greater than or equal to 0",
    ),
    (
        ["devtools", "run"],
        {"EF_DAYS_EXPORT": "abc"},
        f"{RUN_ERROR}invalid setting EF_DAYS_EXPORT='abc': "
        "Input should be a valid integer, unable to parse string as an integer",
    ),
    (
        ["devtools", "backfill", "--last-days", "-1"],
        {},
        "python -m devtools backfill: error: argument --last-days: must be at least 1, got -1 "
        "(see python -m devtools backfill --help)",
    ),
    (
        ["devtools", "backfill", "--start", "2023-01-10", "--end", "2023-01-05"],
        {},
        f"{RUN_ERROR}--start 2023-01-10T00:00:00+00:00 is after --end 2023-01-05T00:00:00+00:00",
    ),
    (
        ["pipelines", "compile", "--output", "/proc/nope/x.yaml"],
        {},
        "python -m pipelines: error: cannot write --output /proc/nope/x.yaml: No such file or directory",
    ),
    (
        ["pipelines", "compile"],
        {"EF_DATASET": "Nope"},
        f"python -m pipelines: error: invalid setting EF_DATASET='Nope': unknown dataset 'Nope'; {SUPPORTED}",
    ),
    (
        ["devtools", "check"],
        {"EF_API_CORS_ORIGINS": "*"},
        f"{RUN_ERROR}invalid setting EF_API_CORS_ORIGINS='*': a wildcard is not allowed; list the origins",
    ),
]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EF_", "ENERGY_", "STORAGE_EMULATOR"))}
    return {**env, **extra}


@pytest.mark.parametrize(("command", "env", "line"), BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_a_bad_input_is_one_line_and_status_2_at_once(
    command: list[str], env: dict[str, str], line: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", *command],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=_environment(EF_DATA_DIR=str(tmp_path / "data"), **env),
        timeout=60,
    )
    assert time.monotonic() - started < 20
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (2, [line], "")


def test_a_step_that_fails_ends_the_run_with_its_cause_on_the_last_line(tmp_path: Path) -> None:
    """A corrupt snapshot: the extract step fails once (no task retries), its traceback is held back,
    and the last line names the step and its exception, without colour codes."""
    corrupt = tmp_path / "export.parquet"
    corrupt.write_text("not parquet\n")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "devtools", "run", "--cold-start"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=_environment(EF_DATA_DIR=str(tmp_path / "data"), ENERGY_SNAPSHOT=str(corrupt)),
        timeout=120,
    )
    assert time.monotonic() - started < 60
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"error: step extract failed: ExtractError: snapshot file {corrupt} is not readable: ArrowInvalid: "
        "Could not open Parquet input source '<Buffer>': Parquet magic bytes not found in footer. "
        "Either the file is corrupted or this is not a parquet file."
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "\x1b[" not in output
    assert output.count("Executing task 'extract'") == 1  # not retried
