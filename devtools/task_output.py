"""What a local run prints while kfp.local runs it, and why a failed run failed, in one line.

kfp.local writes its own log lines and every step's output (stdout and stderr merged) to
``sys.stdout``, colour codes included, and a failed step's Python traceback with them. While a run
is under way :func:`task_output` puts a :class:`TaskOutput` in ``sys.stdout``: it passes every line
on, drops the colour codes unless the stream is a terminal, holds a traceback back (shown with
``verbose``) and remembers its last line, the exception the step ended with. :class:`StepFailed`
turns kfp.local's "Inner task failed: 'extract'" into that cause.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FAILED_TASK = re.compile(r"Inner task failed: '([^']+)'")
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*)(?::\s?(.*))?$")
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


class StepFailed(RuntimeError):
    """A step of a local run failed; the message names the step and the exception it ended with."""

    def __init__(self, task: str, cause: str | None) -> None:
        super().__init__(f"step {task} failed: {cause or 'see its output above'}")
        self.task = task
        self.cause = cause

    @classmethod
    def from_kfp(cls, err: RuntimeError, cause: str | None) -> StepFailed:
        """From kfp.local's ``RuntimeError`` (``… Inner task failed: 'extract' inside …``)."""
        match = _FAILED_TASK.search(_ANSI.sub("", str(err)))
        return cls(match[1] if match else "?", cause)


class TaskOutput(io.TextIOBase):
    """A line filter in front of ``target`` (see the module's docstring)."""

    def __init__(self, target: TextIO, verbose: bool = False, colour: bool | None = None) -> None:
        self.target = target
        self.verbose = verbose
        self.colour = target.isatty() if colour is None else colour
        self.error: str | None = None
        """The last exception a step's output ended with: ``Type: message``."""
        self._partial = ""
        self._held: list[str] = []
        self._depth = 0
        self._state = "text"  # or "traceback", or "after" (an exception line; a chained one may follow)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def close_traceback(self) -> None:
        """End of the output: what is still held back (a traceback cut short) is let go."""
        if self._partial:
            self._line(self._partial)
            self._partial = ""
        self._release()

    def _line(self, line: str) -> None:
        plain = _ANSI.sub("", line)
        text = plain.lstrip()
        depth = len(plain) - len(text)  # kfp.local indents a step's output
        if self._state == "text":
            if text.startswith("Traceback (most recent call last):"):
                self._state, self._depth, self._held = "traceback", depth, [line]
            else:
                self._emit(line)
            return
        if not text or text.startswith(("Traceback (most recent call last):", *_CHAINED)):
            self._held.append(line)
            self._state = "traceback" if text else self._state
            return
        if self._state == "traceback" and depth > self._depth:
            self._held.append(line)
            return
        if self._state == "traceback" and depth == self._depth and (match := _EXCEPTION.match(text)):
            self.error = f"{match[1]}: {match[2]}" if match[2] else match[1]
            self._held.append(line)
            self._state = "after"
            return
        self._release()
        self._emit(line)

    def _release(self) -> None:
        """The traceback held back is over: all of it with ``verbose``, else its last line."""
        held, self._held, self._state = self._held, [], "text"
        if self.verbose:
            for line in held:
                self._emit(line)
        elif held:
            last = next((line for line in reversed(held) if line.strip()), None)
            if last is not None:
                self._emit(last + "  (the traceback: -v)")

    def _emit(self, line: str) -> None:
        self.target.write((line if self.colour else _ANSI.sub("", line)) + "\n")


@contextmanager
def task_output(verbose: bool = False) -> Iterator[TaskOutput]:
    """``sys.stdout`` is a :class:`TaskOutput` for the block (kfp.local's log handler and its
    ``print`` of a step's output both look it up while the run goes on)."""
    original = sys.stdout
    output = TaskOutput(original, verbose)
    sys.stdout = output
    try:
        yield output
    finally:
        output.close_traceback()
        sys.stdout = original
