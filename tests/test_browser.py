"""The dashboard in a real browser: headless Debian Chromium against ``streamlit run`` and the API.

The API (uvicorn in a thread) serves ``dashboard_data`` from the GCS emulator; the dashboard runs as
``python -m dashboard`` on a free port; Chromium loads each page, dumps the rendered DOM and saves a
screenshot to ``test-artifacts/`` (git-ignored). Chromium's virtual time does not wait for
Streamlit's websocket, so on a busy machine a dump can come back before the page finished
rendering: such a dump is retried (a fresh browser each time) until the page is complete or the
deadline passes; the assertions then run on the complete DOM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from components.emulator import free_port
from dashboard.settings import DATA_CREDIT
from tests.test_dashboard_fixtures import REPO_ROOT, WORST, DashboardData, api_url, dashboard_data, label

__all__ = ["api_url", "dashboard_data"]  # fixtures used by name below

pytestmark = pytest.mark.browser

ARTIFACTS = REPO_ROOT / "test-artifacts"
SETUP_STEP = REPO_ROOT / ".ci" / "setup.d" / "chromium.sh"
PAGE_DEADLINE_S = 90.0


def chromium_binary() -> str | None:
    """Debian's chromium; run the setup step once to install it if it is missing."""
    found = shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium") or None
    if found:
        return str(found)
    if SETUP_STEP.exists():
        subprocess.run(["bash", str(SETUP_STEP)], check=False, timeout=600)
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        pytest.skip(
            "Debian's chromium is not installed and .ci/setup.d/chromium.sh could not install it "
            "(needs root and apt access): the browser test cannot run here"
        )
    return binary


@pytest.fixture(scope="module")
def dashboard_url(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m dashboard`` (``streamlit run``) on a free port, talking to ``api_url``."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "EF_DASHBOARD_API_URL": api_url}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dashboard",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--api-url",
                api_url,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the dashboard exited with {process.returncode}: {log_path.read_text()}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not answer on {url}: {log_path.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Rendered:
    dom: str
    screenshot: Path
    attempts: int


def complete(dom: str, expected: tuple[str, ...]) -> bool:
    """The page finished: the script stopped running, a Plotly chart is drawn, the texts are there."""
    return (
        'data-testid="stStatusWidgetRunningIcon"' not in dom
        and 'data-testid="stPlotlyChart"' in dom
        and "main-svg" in dom
        and DATA_CREDIT in dom
        and all(text in dom for text in expected)
    )


def render(chromium: str, url: str, name: str, expected: tuple[str, ...], tmp: Path) -> Rendered:
    """Load ``url`` in headless Chromium; the DOM and a screenshot of the same load."""
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"dashboard-{name}.png"
    deadline = time.monotonic() + PAGE_DEADLINE_S
    attempt, dom = 0, ""
    while True:
        attempt += 1
        profile = tmp / f"chromium-{name}-{attempt}"
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--window-size=1400,1000",
            "--hide-scrollbars",
            f"--screenshot={screenshot}",
            "--dump-dom",
            url,
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        shutil.rmtree(profile, ignore_errors=True)
        dom = run.stdout
        if complete(dom, expected):
            return Rendered(dom, screenshot, attempt)
        if time.monotonic() > deadline:
            missing = [t for t in (*expected, DATA_CREDIT, "stPlotlyChart", "main-svg") if t not in dom]
            pytest.fail(
                f"{url} did not finish rendering in {attempt} loads ({PAGE_DEADLINE_S:.0f} s); "
                f"missing {missing}; chromium exit {run.returncode}: {run.stderr[-500:]}"
            )
        time.sleep(1.0)


def visible_text(dom: str) -> str:
    return re.sub(r"<[^>]+>", " ", dom)


PAGES = {
    "forecasts": ("", (label(("DK1", "111")), label(("DK2", "111")), "now (forecast made)", "version 7")),
    "monitoring": (
        "monitoring",
        ("Accuracy over time", label(WORST), "within the alert threshold", "Rolling WAPE"),
    ),
    "quality": ("quality", ("Latest validation", "passed: 7 of 7", "West Denmark", "East Denmark")),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_chromium(
    page: str, chromium: str, dashboard_url: str, dashboard_data: DashboardData, tmp_path: Path
) -> None:
    path, expected = PAGES[page]
    shot = render(chromium, f"{dashboard_url}/{path}", page, expected, tmp_path)
    dom = shot.dom
    # a chart is drawn (Plotly's SVG inside Streamlit's chart element)
    assert dom.count('data-testid="stPlotlyChart"') >= 1 and "main-svg" in dom
    # readable series names are shown, not bare codes
    for text in expected:
        assert text in dom
    # no error box, no traceback, no "page not found"
    assert 'data-testid="stException"' not in dom
    assert "stAlertContentError" not in dom
    assert "Page not found" not in visible_text(dom)
    # the data credit in the footer, the page's own navigation entry
    assert DATA_CREDIT in dom
    assert all(title in dom for title in ("Forecasts", "Monitoring", "Data quality"))
    # the screenshot is a real PNG of the window
    data = shot.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 1000)
    print(f"{page}: {shot.screenshot} after {shot.attempts} load(s)")
