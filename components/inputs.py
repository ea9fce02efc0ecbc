"""How every entry point (``python -m devtools|pipelines|serving|dashboard``, a pipeline step) reports
input it cannot use: one line naming what is wrong, and from a command line exit status 2.

A setting is named by its environment variable (or by the option or parameter it was given as), with
its value and what is allowed: ``invalid setting EF_DAYS_EXPORT='-3': Input should be greater than or
equal to 0`` (:func:`read_settings`, :class:`InvalidSettings`). A command line prints such a line, an
argument error of its :class:`Parser` or a :class:`UsageError` as ``PROG: error: …`` (:func:`fail`).
Imports pydantic only, so the dashboard, the API and the steps can all use it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

S = TypeVar("S", bound=BaseSettings)


class InvalidSettings(ValueError):
    """Settings that cannot be used. The message is one line naming each bad variable (or option),
    its value and what is allowed; every entry point prints it and exits with status 2."""


_UNPARSED = re.compile(r'field "(\w+)"')


def read_settings(model: type[S], options: Mapping[str, str] | None = None, **values: Any) -> S:
    """``model(**values)`` (the rest from the environment), or :class:`InvalidSettings`.

    ``options`` names how a field of ``values`` was given, e.g. ``{"days_export": "--days-export"}``;
    every other field (and one of ``options`` not in ``values``) is named by its environment variable.
    """
    named = {field: name for field, name in (options or {}).items() if field in values}
    try:
        return model(**values)
    except ValidationError as err:
        raise InvalidSettings(settings_problems(err, model, named)) from None
    except SettingsError as err:  # a complex value (JSON) that does not parse
        match = _UNPARSED.search(str(err))
        field = match[1] if match else ""
        name = named.get(field) or variable_name(model, field)
        why = str(err.__cause__ or err)
        raise InvalidSettings(
            f"invalid setting {name}={os.environ.get(name, '')!r}: not valid JSON ({why})"
        ) from None


def settings_problems(err: ValidationError, model: type[BaseSettings], options: Mapping[str, str]) -> str:
    """``invalid setting NAME='value': what is allowed`` for each problem of ``err``, on one line."""
    found = []
    for problem in err.errors(include_url=False):
        field = _field_of(model, str(problem["loc"][0])) if problem["loc"] else ""
        prefix = model.model_config.get("env_prefix") or ""
        name = options.get(field) or (variable_name(model, field) if field else f"{prefix}*")
        message = problem["msg"].removeprefix("Value error, ").removeprefix(f"{name}: ")
        value = "'***'" if _secret(model, field) else repr(problem.get("input"))
        found.append(f"{name}={value}: {message}" if field else f"{name}: {message}")
    return "invalid setting " + "; ".join(found)


def _secret(model: type[BaseSettings], field: str) -> bool:
    info = model.model_fields.get(field)
    return info is not None and "Secret" in str(info.annotation)


def _aliases(model: type[BaseSettings], field: str) -> list[str]:
    info = model.model_fields.get(field)
    return [str(c) for c in getattr(info.validation_alias, "choices", None) or ()] if info else []


def _field_of(model: type[BaseSettings], loc: str) -> str:
    """The field an error's location names (pydantic names a field read by alias by that alias)."""
    if loc in model.model_fields:
        return loc
    return next(
        (f for f in model.model_fields if loc.lower() in (a.lower() for a in _aliases(model, f))), loc
    )


def variable_name(model: type[BaseSettings], field: str) -> str:
    """The environment variable ``field`` of ``model`` is read from: the one of its own names that is
    set (``ENERGY_SNAPSHOT``), else the first of them, else ``<prefix><FIELD>``."""
    choices = [c.upper() for c in _aliases(model, field) if c.upper() == c or c.upper() in os.environ]
    if choices:
        return next((c for c in choices if c in os.environ), choices[0])
    return f"{model.model_config.get('env_prefix') or ''}{field}".upper()


USAGE_ERROR = 2


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


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` (to ``high``), e.g. a port or ``--last-days``."""
    allowed = f"{low}..{high}" if high is not None else f"at least {low}"

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from err
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {number}")
        return number

    return parse


port_number = whole_number(1, 65535)
