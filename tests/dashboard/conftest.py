"""Fixtures of the dashboard tests: what the API serves, and the API itself.

The data source of the AppTest tests (``tests/dashboard/test_dashboard*.py``) is one fixture,
``dashboard_data``: deterministic, synthetic objects of a dataset written with the real
``ObjectStore`` into a fresh bucket of the session's GCS emulator (observations, the forecast and
monitoring via ``tests.api_fixtures``, with a different error per series so that "worst first"
means something), because those tests check selections and error handling on data they control.
The browser test (``tests/dashboard/test_browser.py``) shows real pipeline output instead
(``real_pipeline`` in ``tests/pipeline_fixtures.py``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components.datasets import get_spec
from components.storage import ObjectStore
from devtools.emulator import GcsEmulator
from serving.settings import ApiSettings
from tests.api_fixtures import (
    BALANCE,
    DE35,
    INDUSTRY,
    Key,
    all_series,
    learned_labels,
    serve_api,
    write_forecast,
    write_monitoring,
    write_observations,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "dashboard" / "app.py"

SERIES: tuple[Key, ...] = all_series(get_spec(DE35))
"""All 76 series of DE35, as the pipeline writes them."""
SELECTORS = {DE35: ["fc_areas", "fc_consumer_types"], BALANCE: ["fc_areas"], INDUSTRY: ["fc_industries"]}
"""The forecasts page's selector widgets (one per series key) for each dataset."""
WORST: Key = ("DK2", "999")
"""The series the synthetic monitoring makes worst (30 % over-forecast)."""


def error_of(key: Key, run: int = 0, horizon: int = 0) -> float:
    """Relative over-forecast of a series in the synthetic monitoring tables (2 % ... 9.5 %, WORST 30 %),
    a little worse run by run and hour by hour ahead."""
    base = 0.30 if key == WORST else 0.02 + 0.005 * (sum(map(ord, "".join(key))) % 16)
    return base * (1 + 0.01 * run) * (1 + horizon / 48)


def label(key: Key, dataset: str = DE35) -> str:
    """The readable series name the dashboard shows (codes with the API's labels)."""
    spec = get_spec(dataset)
    return spec.series_label(key, learned_labels(spec))


@dataclass(frozen=True)
class DashboardData:
    """What the API of a dashboard test serves: its settings (bucket...), the store, the series."""

    settings: ApiSettings
    store: ObjectStore
    series: tuple[Key, ...]
    needs_attention: bool = False
    reason: str | None = None


def api_settings(bucket: str, data_dir: Path, dataset: str = DE35) -> ApiSettings:
    """API settings for one bucket; the refresher looks for new pointers every 0.2 s."""
    return ApiSettings(
        bucket=bucket, data_dir=data_dir, dataset=dataset, api_refresh_interval_s=0.2, api_log_level="warning"
    )


def new_store(settings: ApiSettings) -> ObjectStore:
    store = ObjectStore.from_settings(settings)
    store.ensure_bucket()
    return store


def populate(
    bucket: str,
    data_dir: Path,
    series: Sequence[Key] | None = None,
    needs_attention: bool = False,
    reason: str | None = None,
    dataset: str = DE35,
) -> DashboardData:
    """A fresh bucket with a feature snapshot, a forecast with a band, and a monitoring run."""
    settings = api_settings(bucket, data_dir, dataset)
    series = tuple(all_series(settings.spec) if series is None else series)
    store = new_store(settings)
    write_observations(store, settings, series=series)
    write_forecast(store, settings, series=series, model_version="7")
    write_monitoring(
        store,
        settings,
        series=series,
        runs=4,
        needs_attention=needs_attention,
        reason=reason,
        error=error_of,
        drift=True,
    )
    return DashboardData(settings, store, series, needs_attention, reason)


def open_app(page: str | None = None) -> AppTest:
    """The app from its real entry point, switched to ``page`` (e.g. ``views/quality.py``)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def figures(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(node.proto.spec) for node in at.get("plotly_chart")]


def array(value: Any) -> np.ndarray:
    """A figure array as Plotly serialises it: a list, or base64 ``bdata`` with a dtype (and shape)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if shape is None:
            return flat
        dims = tuple(int(d) for d in shape.split(",")) if isinstance(shape, str) else tuple(shape)
        return flat.reshape(dims)
    return np.asarray(value)


def trace_names(figure: dict[str, Any]) -> list[str]:
    return [trace.get("name") for trace in figure["data"]]


def no_failure(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture()
def use_api(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point the dashboard at an API; answers are revalidated with their ETag on every run."""

    def use(url: str) -> None:
        monkeypatch.setenv("EF_API_URL", url)
        monkeypatch.delenv("EF_DASHBOARD_API_URL", raising=False)
        monkeypatch.setenv("EF_DASHBOARD_CACHE_TTL_S", "0")

    return use


def unique_bucket(tag: str) -> str:
    return f"dash-{tag}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def dashboard_data(gcs_emulator: GcsEmulator, tmp_path_factory: pytest.TempPathFactory) -> DashboardData:
    """The data source of the dashboard tests (override to serve real pipeline output)."""
    return populate(unique_bucket("main"), tmp_path_factory.mktemp("dashboard-data"))


@pytest.fixture(scope="module")
def api_url(dashboard_data: DashboardData) -> Iterator[str]:
    """A real API process (uvicorn in a thread) serving ``dashboard_data``."""
    with serve_api(dashboard_data.settings) as url:
        yield url
