"""What ``serving`` and ``dashboard`` may import, and how large a serving module may grow.

``serving`` imports only the shared contracts of ``components`` (settings, datasets, schemas,
contracts, layout, storage; the package version; ``inputs``, how a bad input is reported) and never
an ML or pipeline library; ``dashboard`` speaks HTTP to the API: of ``components`` it imports only
``contracts`` (the JSON shapes the API serves, e.g. the validation report) and, to start,
``inputs``, and nothing of ``serving``.
Checked in a fresh interpreter, so what other tests imported does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("lightgbm", "sktime", "mlflow", "great_expectations", "kfp", "optuna", "kubernetes")
CONTRACTS = ("settings", "datasets", "schemas", "contracts", "layout", "storage", "version", "inputs")
MAX_LINES = 500


def imported_after(*modules: str) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_serving_imports_only_the_shared_contracts() -> None:
    loaded = imported_after("serving.main", "serving.__main__")
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, heavy
    components = {m for m in loaded if m.startswith("components.")}
    assert all(m.split(".")[1] in CONTRACTS for m in components), sorted(components)


def test_dashboard_imports_only_the_contracts_of_components() -> None:
    loaded = imported_after("dashboard.client", "dashboard.charts", "dashboard.validation", "dashboard.ui")
    assert not {m for m in loaded if m.split(".")[0] in ("serving", *HEAVY)}
    assert {m for m in loaded if m.split(".")[0] == "components"} == {"components", "components.contracts"}
    started = imported_after("dashboard.__main__")
    assert {m for m in started if m.split(".")[0] in ("components", "serving")} == {
        "components",
        "components.inputs",
    }


@pytest.mark.parametrize("path", sorted((REPO / "serving").rglob("*.py")), ids=lambda p: p.name)
def test_no_serving_module_above_500_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_api_settings_carry_storage_and_api_values_only() -> None:
    """The API reads the data where the pipeline wrote it, and none of the pipeline's own settings."""
    from components.settings import Settings, StorageSettings
    from serving.settings import ApiSettings

    pipeline_only = set(Settings.model_fields) - set(StorageSettings.model_fields)
    assert {"source_url", "horizon", "model_name", "tune_fixed"} <= pipeline_only
    assert not set(ApiSettings.model_fields) & pipeline_only
    own = set(ApiSettings.model_fields) - set(StorageSettings.model_fields)
    assert own and all(name.startswith("api_") for name in own)
