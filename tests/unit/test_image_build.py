"""How ``make image`` finds the Debian mirror and keys a build by its inputs (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import image
from devtools.debian_base import apt_mirror


def test_the_mirror_comes_from_apts_own_configuration(tmp_path: Path) -> None:
    one_line = tmp_path / "sources.list"
    one_line.write_text("# comment\ndeb [arch=amd64] http://mirror.example/debian bookworm main\n")
    assert apt_mirror((one_line,)) == "http://mirror.example/debian"
    folder = tmp_path / "sources.list.d"
    folder.mkdir()
    (folder / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: https://other.example/debian\nSuites: bookworm\n"
    )
    assert apt_mirror((tmp_path / "missing.list", folder)) == "https://other.example/debian"
    with pytest.raises(RuntimeError, match="no Debian mirror"):
        apt_mirror((tmp_path / "missing.list",))


def test_the_build_key_follows_the_context_and_the_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"PYTHON_IMAGE": "base:1", "VERSION": "0.1.0"}
    first = image.inputs_hash(args)
    assert image.inputs_hash(dict(args)) == first
    assert image.inputs_hash({**args, "VERSION": "0.2.0"}) != first
    names = {str(path.relative_to(image.engine.REPO)) for path in image.context_files()}
    assert {"pyproject.toml", "uv.lock", "components/settings.py"} <= names
    assert not {name for name in names if name.startswith(("devtools/", "tests/", ".venv/"))}
    assert image.dockerfile_default("UV_IMAGE").endswith(":" + image.dockerfile_default("UV_VERSION"))
