"""What every command line (``python -m devtools|pipelines|serving|dashboard``) does with input it
cannot use: one line on stderr, ``PROG: error: what is wrong``, and exit status 2.

Argument errors come from :class:`Parser` (argparse's own checks and ``parser.error``) or are a
:class:`UsageError` that a command raises; settings errors are
:class:`components.settings.InvalidSettings`, whose message names the variable, its value and what
is allowed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

from pydantic_settings import BaseSettings

from components.settings import InvalidSettings, read_settings

USAGE_ERROR = 2
S = TypeVar("S", bound=BaseSettings)


class UsageError(ValueError):
    """Input a command cannot use (arguments that contradict each other, an output path that cannot
    be written); the message is the one line."""


def fail(prog: str, message: str) -> NoReturn:
    """Print ``PROG: error: message`` (one line) and exit with status 2."""
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(USAGE_ERROR)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block; ``--help`` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        fail(self.prog, f"{message} (see {self.prog} --help)")


def settings_or_exit(prog: str, model: type[S], options: Mapping[str, str] | None = None, **values: Any) -> S:
    """:func:`components.settings.read_settings`, or the one line and exit status 2."""
    try:
        return read_settings(model, options, **values)
    except InvalidSettings as err:
        fail(prog, str(err))


def port_number(value: str) -> int:
    """An argparse ``type``: a TCP port, 1..65535."""
    try:
        port = int(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from err
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1..65535, got {port}")
    return port
