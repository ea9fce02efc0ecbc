"""``python -m serving`` with input it cannot use: one line naming the variable or option, status 2,
before uvicorn starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SUPPORTED = "supported: ConsumptionDE35Hour, ConsumptionDK3619IndustryHour, ElectricityBalanceNonv"


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (
            [],
            {"EF_DATASET": "Nope"},
            "python -m serving: error: invalid setting EF_DATASET='Nope': unknown dataset 'Nope'; "
            + SUPPORTED,
        ),
        (
            [],
            {"EF_API_PORT": "abc"},
            "python -m serving: error: invalid setting EF_API_PORT='abc': "
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            ["--port", "70000"],
            {},
            "python -m serving: error: argument --port: must be 1..65535, got 70000 "
            "(see python -m serving --help)",
        ),
    ],
    ids=["dataset", "port-variable", "port-option"],
)
def test_a_bad_setting_or_option_is_one_line(
    args: list[str], env: dict[str, str], line: str, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EF_", "ENERGY_"))}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "serving", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**clean, **env},
        timeout=60,
    )
    assert time.monotonic() - started < 20
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (2, [line], "")
