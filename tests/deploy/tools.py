"""The deploy checkers (helm, kubectl, hadolint, checkov, actionlint, terraform...) as the tests find them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """A checker installed by `make setup` (.tools/bin, the project venv, or PATH); fail if missing."""
    for candidate in (REPO / ".tools" / "bin" / name, Path(sys.executable).parent / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make setup` (.ci/setup.d/deploy-tools.sh, uv sync)")
    return found
