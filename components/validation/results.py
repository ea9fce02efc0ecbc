"""One format for every rule result, whether Great Expectations or pandas evaluated it
(:class:`components.contracts.RuleResult`)."""

from __future__ import annotations

import json
from typing import Any

from components.contracts import RuleResult, Severity

SAMPLE_SIZE = 5


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def rule(
    name: str,
    column: str | None,
    success: bool,
    *,
    check: str,
    engine: str,
    severity: Severity = "error",
    unexpected_count: int = 0,
    element_count: int | None = None,
    sample_values: list[Any] | None = None,
    observed: Any = None,
    error: str | None = None,
) -> RuleResult:
    """A rule result; a failed ``error`` rule blocks the run, a failed ``warning`` is reported only."""
    return RuleResult(
        rule=name,
        column=column,
        success=success,
        severity=severity,
        check=check,
        engine=engine,
        unexpected_count=unexpected_count,
        element_count=element_count,
        sample_values=jsonable(sample_values or []),
        observed=jsonable(observed),
        error=error,
    )
