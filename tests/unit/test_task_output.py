"""``devtools.task_output``: what kfp.local prints during a local run, a failed step's traceback held
back and its last line kept as the cause; colour codes only on a terminal."""

from __future__ import annotations

import io

from devtools.task_output import StepFailed, TaskOutput

STEP_OUTPUT = """\
\x1b[36m12:00:00.000 - INFO - Executing task 'extract'\x1b[0m
    [KFP Executor 12:00:00 INFO]: Got executor_input:
    Traceback (most recent call last):
      File "files.py", line 38, in read_snapshot_file
        frame = pd.read_parquet(path)
    pyarrow.lib.ArrowInvalid: Parquet magic bytes not found in footer.

    The above exception was the direct cause of the following exception:

    Traceback (most recent call last):
      File "extract.py", line 115, in extract_snapshot
        raise ExtractError(str(err)) from err
    components.extract.ExtractError: snapshot file x.parquet is not readable


12:00:01.000 - ERROR - Task \x1b[36m'extract'\x1b[0m finished with status \x1b[91mFAILURE\x1b[0m
"""


def _filtered(verbose: bool, colour: bool = False) -> tuple[TaskOutput, list[str]]:
    target = io.StringIO()
    output = TaskOutput(target, verbose=verbose, colour=colour)
    for chunk in (STEP_OUTPUT[:50], STEP_OUTPUT[50:]):  # lines arrive in pieces
        output.write(chunk)
    output.close_traceback()
    return output, target.getvalue().splitlines()


def test_a_traceback_is_held_back_and_its_last_line_is_the_cause() -> None:
    output, lines = _filtered(verbose=False)
    assert output.error == "ExtractError: snapshot file x.parquet is not readable"
    assert lines == [
        "12:00:00.000 - INFO - Executing task 'extract'",
        "    [KFP Executor 12:00:00 INFO]: Got executor_input:",
        "    components.extract.ExtractError: snapshot file x.parquet is not readable  (the traceback: -v)",
        "12:00:01.000 - ERROR - Task 'extract' finished with status FAILURE",
    ]


def test_verbose_keeps_the_traceback_and_a_terminal_keeps_colour() -> None:
    output, lines = _filtered(verbose=True, colour=True)
    assert output.error == "ExtractError: snapshot file x.parquet is not readable"
    assert sum(line.strip() == "Traceback (most recent call last):" for line in lines) == 2
    assert lines[0].startswith("\x1b[36m") and lines[-1].endswith("\x1b[0m")


def test_kfp_local_failure_becomes_the_step_and_its_cause() -> None:
    kfp = RuntimeError(
        "Pipeline \x1b[95m'energy-forecasting'\x1b[0m finished with status \x1b[91mFAILURE\x1b[0m. "
        "Inner task failed: \x1b[36m'extract'\x1b[0m."
    )
    failed = StepFailed.from_kfp(kfp, "ExtractError: snapshot file x.parquet is not readable")
    assert str(failed) == "step extract failed: ExtractError: snapshot file x.parquet is not readable"
    assert str(StepFailed.from_kfp(kfp, None)) == "step extract failed: see its output above"
