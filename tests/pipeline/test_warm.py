"""The warm-interpreter launcher runs a task exactly like ``python -m`` does, only pre-imported.

A real server process (``python -m devtools.warm serve``) and the real launcher script; the task is
``tests.warm_probe``, which reports what it sees. The whole DAG runs warm in test_pipeline_local.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.warm import python_executable, warm_interpreter
from tests.warm_probe import PRELOAD_MARKER

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def launcher() -> Iterator[Path]:
    with warm_interpreter(first=(PRELOAD_MARKER,), modules=(), ready_timeout_s=60) as path:
        yield path


def run(executable: str | Path, mode: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBE_ENV": "from-the-task", **kwargs.pop("env", {})}  # type: ignore[dict-item]
    return subprocess.run(
        [str(executable), "-m", "tests.warm_probe", mode, "two words", "--flag"],
        input=kwargs.pop("input", "piped stdin\n"),
        capture_output=True,
        text=True,
        cwd=kwargs.pop("cwd", REPO_ROOT),
        env=env,
        timeout=60,
        check=False,
    )


def report(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    return dict(json.loads(result.stdout.splitlines()[0]))


def test_a_task_sees_what_a_cold_interpreter_would_see(launcher: Path) -> None:
    warm, cold = run(launcher, "3"), run(sys.executable, "3")
    assert warm.returncode == cold.returncode == 3
    seen_warm, seen_cold = report(warm), report(cold)
    assert seen_warm.pop("warm") is True and seen_cold.pop("warm") is False
    assert (
        seen_warm
        == seen_cold
        == {
            "argv": ["3", "two words", "--flag"],
            "cwd": str(REPO_ROOT),
            "probe_env": "from-the-task",
            "stdin": "piped stdin\n",
            "root_handlers": 0,
            "name": "__main__",
        }
    )
    assert warm.stderr == cold.stderr == "to stderr\n"


def test_working_directory_and_pythonpath_are_the_tasks(launcher: Path, tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO_ROOT)}
    warm = run(launcher, "0", cwd=tmp_path, env=env)
    cold = run(sys.executable, "0", cwd=tmp_path, env=env)
    assert warm.returncode == cold.returncode == 0, warm.stderr
    assert report(warm)["cwd"] == report(cold)["cwd"] == str(tmp_path)


def test_an_exception_exits_1_with_the_tasks_traceback(launcher: Path) -> None:
    result = run(launcher, "raise")
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("RuntimeError: the probe failed on purpose")
    assert 'tests/warm_probe.py", line' in result.stderr
    assert "devtools/warm.py" not in result.stderr  # the server's frames are not the task's


def test_a_task_that_leaves_idle_pool_workers_exits(launcher: Path) -> None:
    """Interpreter exit stops ThreadPoolExecutor workers before joining threads; so must a task."""
    assert run(launcher, "pool").returncode == 0


def test_a_killed_task_fails(launcher: Path) -> None:
    assert run(launcher, "kill").returncode == 128 + signal.SIGKILL


def test_a_signal_to_the_launcher_reaches_the_task(launcher: Path) -> None:
    process = subprocess.Popen(
        [str(launcher), "-m", "tests.warm_probe", "sleep"],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert json.loads(process.stdout.readline())["warm"] is True  # the task is running
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 10  # the task died of it, it did not sleep on


def test_without_a_server_the_task_runs_cold(tmp_path: Path) -> None:
    missing = tmp_path / "python"
    launch = REPO_ROOT / "devtools" / "warm_launch.py"
    missing.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -S "{launch}" "{tmp_path}/none.sock" "{sys.executable}" "$@"\n'
    )
    missing.chmod(0o755)
    result = run(missing, "4")
    assert result.returncode == 4 and report(result)["warm"] is False


def test_other_invocations_run_cold(launcher: Path) -> None:
    result = subprocess.run(
        [str(launcher), "-c", f"import sys; print({PRELOAD_MARKER!r} in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_python_executable_is_restored() -> None:
    before = sys.executable
    with python_executable(Path("/elsewhere/python")):
        assert sys.executable == "/elsewhere/python"
    assert sys.executable == before
    with python_executable(None):
        assert sys.executable == before
