"""Headless Debian Chromium for the tests: finding it, its flags, a DevTools-protocol driver that
waits for a Streamlit page to finish, and the dashboard as a real ``streamlit run`` process.

Used by the browser tests of the dashboard, the report renderings and the whole-pipeline test of
every dataset. Screenshots and DOMs go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.settings import DATA_CREDIT
from devtools.emulator import free_port
from devtools.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[1]
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


def chromium_or_skip() -> str:
    """Debian's chromium, or skip the test that needs it."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip(
            "Debian's chromium is not installed and .ci/setup.d/chromium.sh could not install it "
            "(needs root and apt access): the browser test cannot run here"
        )
    return binary


@contextlib.contextmanager
def run_dashboard(api_url: str, log_dir: Path) -> Iterator[str]:
    """``python -m dashboard`` (``streamlit run``) on a free port, talking to ``api_url``."""
    port = free_port()
    log_path = log_dir / "streamlit.log"
    # short cache and watch periods, so an open page notices new data within seconds
    env = {
        **os.environ,
        "EF_DASHBOARD_API_URL": api_url,
        "EF_DASHBOARD_CACHE_TTL_S": "1",
        "EF_DASHBOARD_AUTO_REFRESH_S": "2",
    }
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
        stop_process(process)


@dataclass(frozen=True)
class Rendered:
    dom: str
    screenshot: Path
    seconds: float


def chromium_flags(profile: Path, size: tuple[int, int] = (1400, 1000)) -> list[str]:
    """Flags for Debian's chromium: headless, offline (no background networking), ``size`` pixels."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        "--hide-scrollbars",
    ]


class Browser:
    """Headless chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

    ``--dump-dom`` with ``--virtual-time-budget`` returns as soon as the budget is spent, and
    virtual time does not wait for Streamlit's websocket: on a loaded machine the dump often comes
    back before the script has drawn anything. Over the protocol the test loads a page once and
    polls its DOM until it is complete, then takes the screenshot of that same page.
    """

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # chromium reads commands on fd 3 and writes answers on fd 4 (no preexec_fn: threads run)
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.process = subprocess.Popen(
            [
                "bash",
                "-c",
                script,
                binary,
                *chromium_flags(profile),
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        viewport = {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", viewport, session=True)

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for message in messages:
                body = json.loads(message)
                if "id" in body:
                    self._answers.put(body)

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: bool = False
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._answers.get(timeout=60)
            if answer["id"] == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"chromium: {method} failed: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url}, session=True)

    def dom(self) -> str:
        answer = self.call(
            "Runtime.evaluate",
            {"expression": "document.documentElement.outerHTML", "returnByValue": True},
            session=True,
        )
        return str(answer.get("result", {}).get("value") or "")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)


def complete(dom: str, expected: tuple[str, ...]) -> bool:
    """The page finished: the script stopped running, a Plotly chart is drawn, the texts are there."""
    return (
        'data-testid="stStatusWidgetRunningIcon"' not in dom
        and 'data-testid="stPlotlyChart"' in dom
        and "main-svg" in dom
        and DATA_CREDIT in dom
        and all(text in dom for text in expected)
    )


def render(browser: Browser, url: str, name: str, expected: tuple[str, ...]) -> Rendered:
    """Load ``url`` once, wait until it is complete, keep its DOM and a screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    browser.navigate(url)
    dom = ""
    while not complete(dom, expected):
        if time.monotonic() - started > PAGE_DEADLINE_S:
            missing = [t for t in (*expected, DATA_CREDIT, "stPlotlyChart", "main-svg") if t not in dom]
            pytest.fail(f"{url} did not finish rendering in {PAGE_DEADLINE_S:.0f} s; missing {missing}")
        time.sleep(0.25)
        dom = browser.dom()
    time.sleep(0.5)  # let Plotly finish its transitions before the picture
    dom = browser.dom()
    screenshot = ARTIFACTS / f"dashboard-{name}.png"
    browser.screenshot(screenshot)
    (ARTIFACTS / f"dashboard-{name}.html").write_text(dom)
    return Rendered(dom, screenshot, time.monotonic() - started)


def visible_text(dom: str) -> str:
    return re.sub(r"<[^>]+>", " ", dom)
