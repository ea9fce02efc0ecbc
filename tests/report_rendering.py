"""Open a report in headless Chromium and check what was drawn (helpers, no tests here).

A report is a static page (inline CSS and SVG, no script), so Chromium's plain one-shot mode is
enough: ``chromium --headless --screenshot --virtual-time-budget=10000``. The screenshot goes to
``test-artifacts/`` (git-ignored); :func:`pixels_of` counts the pixels of a plotted line's colour in
it, which is how a test knows a plot was drawn, not only written.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.browser_fixtures import chromium_flags

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"
TIMEOUT_S = 120


def screenshot(
    chromium: str, page: Path, name: str, profile: Path, size: tuple[int, int] = (1200, 2600)
) -> Path:
    """A full screenshot of ``page`` as ``test-artifacts/<name>.png``, offline."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    target.unlink(missing_ok=True)
    command = [
        chromium,
        *chromium_flags(profile, size),
        "--virtual-time-budget=10000",
        f"--screenshot={target}",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert target.exists() and target.stat().st_size > 0, f"no screenshot of {page}: {result.stderr[-2000:]}"
    return target


def hex_rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def pixels_of(png: Path, color: str, tolerance: int = 40) -> int:
    """How many pixels of the screenshot are within ``tolerance`` (per channel) of ``color``."""
    from PIL import Image

    want = hex_rgb(color)
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        return sum(
            count
            for count, pixel in (rgb.getcolors(maxcolors=1 << 24) or [])
            if all(abs(int(c) - w) <= tolerance for c, w in zip(pixel, want, strict=True))
        )


def markdown_page(markdown: str) -> str:
    """A Markdown report as the HTML a viewer shows (GitHub-style tables), for a screenshot."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    style = (
        "body{font-family:sans-serif;margin:16px;max-width:1150px}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    head = f'<meta charset="utf-8"><style>{style}</style>'
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"
