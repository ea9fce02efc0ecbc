"""``make demo``'s script as a new user runs it: no settings and no network (the shipped DE35
sample), and a live dataset without network (one line, at once). The environment is emptied of
every ``EF_*``/``ENERGY_*`` variable; only ports and the data folder are chosen, so that the test
cannot collide with a running demo."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from components.datasets import DEFAULT_DATASET, LIVE_DEFAULT_DATASET
from devtools.emulator import free_port

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / ".ci" / "demo.sh"


def bare_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EF_", "ENERGY_", "STORAGE_EMULATOR"))}
    env.update(
        {
            "EF_DATA_DIR": str(tmp_path / "data"),
            "EF_EMULATOR_PORT": str(free_port()),
            "EF_API_PORT": str(free_port()),
            "EF_DASHBOARD_PORT": str(free_port()),
            "DEMO_EXIT_AFTER_START": "1",
            **extra,
        }
    )
    return env


@pytest.mark.slow
def test_demo_with_no_setting_runs_offline_on_the_shipped_sample(tmp_path: Path) -> None:
    env = bare_environment(tmp_path, DEMO_BACKFILL_DAYS="1")
    done = subprocess.run(
        ["bash", str(DEMO)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "offline demo on the shipped sample" in out
    (ready,) = [line for line in out.splitlines() if line.startswith("==> API ready: ")]
    meta = ready.removeprefix("==> API ready: ")
    assert DEFAULT_DATASET in meta
    assert "==> dashboard ready" in out
    forecasts = list((tmp_path / "data").rglob("forecasts/latest.json"))
    assert len(forecasts) == 1, "the backfill published one forecast pointer"
    assert json.loads(forecasts[0].read_text())["run_id"]


def test_a_live_dataset_without_network_fails_at_once_naming_the_setting(tmp_path: Path) -> None:
    # ``.invalid`` never resolves (RFC 2606), so this holds on a machine with network too
    env = bare_environment(
        tmp_path,
        EF_DATASET=LIVE_DEFAULT_DATASET,
        EF_SOURCE_URL="https://api.energidataservice.invalid/dataset",
    )
    done = subprocess.run(
        ["bash", str(DEMO)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "cannot resolve api.energidataservice.invalid" in errors[0]
    assert "ENERGY_SNAPSHOT" in errors[0] and "EF_DATASET" in errors[0]
    assert "Traceback" not in done.stderr


def test_an_invalid_setting_ends_the_demo_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    env = bare_environment(tmp_path, EF_DATASET="Nope")
    done = subprocess.run(
        ["bash", str(DEMO)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "python -m devtools: error: invalid setting EF_DATASET='Nope': unknown dataset 'Nope'; "
        "supported: ConsumptionDE35Hour, ConsumptionDK3619IndustryHour, ElectricityBalanceNonv"
    ]
    assert done.stdout == "" and not (tmp_path / "data").exists()
