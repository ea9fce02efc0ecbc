"""The search space as declared once in ``components.model.config.SEARCH_SPACE``: the one place it
is validated (the specs, and any value said to be inside them), Optuna suggestions, and typing of
values that come back as strings (Katib, the trial CLI, ``EF_TUNE_FIXED``).

This module imports no other module of the project, so ``components.model.config`` can check its
configs with it; what is pinned and what is searched is ``components.tuning.plan``.

Spec format (one per parameter name)::

    {"type": "int", "low": 16, "high": 255, "log": True}
    {"type": "float", "low": 0.01, "high": 0.3, "log": True}
    {"type": "categorical", "choices": [24, 48, 168]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

if TYPE_CHECKING:
    import optuna

Choice = str | int | float | bool
OBJECTIVE_METRIC = "wape"
"""The objective of every search: backtest WAPE, minimised (the trial prints ``wape=<value>``)."""


class SearchSpaceError(ValueError):
    """The search space, or a value said to be inside it, is invalid; the message names the parameter."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntParam(_Spec):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> IntParam:
        if self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got {self.low}")
        return self


class FloatParam(_Spec):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> FloatParam:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"need finite low <= high, got [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got {self.low}")
        return self


class CategoricalParam(_Spec):
    type: Literal["categorical"]
    choices: list[Choice] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> CategoricalParam:
        labels = [str(choice) for choice in self.choices]
        if len(set(labels)) != len(labels):
            raise ValueError(f"choices must be distinct as text (Katib passes them as strings): {labels}")
        return self


ParamSpec = Annotated[IntParam | FloatParam | CategoricalParam, Field(discriminator="type")]
_SPEC: TypeAdapter[IntParam | FloatParam | CategoricalParam] = TypeAdapter(ParamSpec)

Space = dict[str, IntParam | FloatParam | CategoricalParam]


def parse_space(space: Mapping[str, Mapping[str, Any]]) -> Space:
    """Validate a raw ``SEARCH_SPACE`` dict into typed specs; raise naming the bad parameter."""
    if not space:
        raise SearchSpaceError("search space is empty")
    parsed: Space = {}
    for name, raw in space.items():
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise SearchSpaceError(f"search space: parameter name {name!r} must be [A-Za-z0-9_]+")
        try:
            parsed[name] = _SPEC.validate_python(dict(raw))
        except (ValidationError, TypeError) as exc:
            raise SearchSpaceError(
                f"search space: parameter {name!r} spec {raw!r} is invalid: {exc}"
            ) from exc
    return parsed


def ensure_space(space: Mapping[str, Any]) -> Space:
    """``space`` as typed specs: parsed if it is a raw dict, returned as is if already parsed."""
    if space and all(isinstance(spec, IntParam | FloatParam | CategoricalParam) for spec in space.values()):
        return dict(space)
    return parse_space(space)


def suggest(trial: optuna.Trial, space: Space) -> dict[str, Any]:
    """One Optuna suggestion per parameter of the space."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if isinstance(spec, IntParam):
            params[name] = trial.suggest_int(name, spec.low, spec.high, log=spec.log)
        elif isinstance(spec, FloatParam):
            params[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
        else:
            params[name] = trial.suggest_categorical(name, spec.choices)
    return params


def coerce(
    name: str,
    value: Any,
    spec: IntParam | FloatParam | CategoricalParam,
    check_range: bool = True,
    *,
    text: bool = True,
) -> Choice:
    """Type ``value`` by its spec and check it; the one check of a value against the search space.

    ``text=True`` (values from Katib, a command line, ``EF_TUNE_FIXED``): a string is read as the
    spec's type and a categorical value is matched by its text. ``text=False`` (a config read back
    from JSON, :func:`components.model.config.validate_config`): a number must already be a number
    and a categorical value must equal one of the choices.

    A categorical value must always be one of the choices. A number must be finite, of the spec's
    type, and inside ``[low, high]`` if ``check_range``; otherwise (a pinned value, a quick demo's few
    trees) it only needs the sign the range implies: ``>= 0``, or ``> 0`` when ``low > 0``.

    Raise :class:`SearchSpaceError` naming the parameter otherwise.
    """
    if isinstance(spec, CategoricalParam):
        if text:
            by_label = {str(choice): choice for choice in spec.choices}
            if str(value) in by_label:
                return by_label[str(value)]
        else:
            for choice in spec.choices:
                if not isinstance(value, bool) and choice == value:
                    return choice
        raise SearchSpaceError(f"parameter {name!r}: {value!r} is not one of {spec.choices}")
    if isinstance(value, bool) or (not text and not isinstance(value, int | float)):
        raise SearchSpaceError(f"parameter {name!r}: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise SearchSpaceError(f"parameter {name!r}: cannot read {value!r} as {spec.type}") from exc
    if not math.isfinite(number):
        raise SearchSpaceError(f"parameter {name!r}: {value!r} is not finite")
    if check_range and not spec.low <= number <= spec.high:
        raise SearchSpaceError(f"parameter {name!r}: {value!r} is outside [{spec.low}, {spec.high}]")
    if not check_range and (number < 0 or (number == 0 and spec.low > 0)):
        raise SearchSpaceError(f"parameter {name!r}: {value!r} must be {'> 0' if spec.low > 0 else '>= 0'}")
    if isinstance(spec, FloatParam):
        return number
    if not number.is_integer():
        raise SearchSpaceError(f"parameter {name!r}: {value!r} is not an integer")
    return int(number)


def coerce_params(
    params: Mapping[str, Any], space: Space, where: str, check_range: bool = True, *, text: bool = True
) -> dict[str, Choice]:
    """Type every value of ``params`` (see :func:`coerce`); each name must be in the space.
    ``where`` names the source in the message."""
    unknown = sorted(set(params) - set(space))
    if unknown:
        raise SearchSpaceError(
            f"{where}: unknown parameter(s) {unknown}; the search space has {sorted(space)}"
        )
    try:
        return {
            name: coerce(name, value, space[name], check_range, text=text) for name, value in params.items()
        }
    except SearchSpaceError as exc:
        raise SearchSpaceError(f"{where}: {exc}") from exc


def is_inside(config: Mapping[str, Any], space: Space) -> bool:
    """Whether every parameter of the space is present in ``config`` with a value inside its range."""
    try:
        for name, spec in space.items():
            if name not in config or coerce(name, config[name], spec) != config[name]:
                return False
    except SearchSpaceError:
        return False
    return True
