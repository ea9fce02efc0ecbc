"""A Debian bookworm Python 3.11 base image made from Debian packages, for machines without Docker Hub.

``debootstrap --variant=minbase`` from the mirror apt is configured with (read from
``/etc/apt/sources.list`` and ``/etc/apt/sources.list.d/``), then ``podman import``. Needs root and
about a minute; kept under :data:`BASE_REFERENCE` and reused afterwards.

    python -m devtools.debian_base       # prints the base's reference
    make image IMAGE_BASES=debian        # uses it (and uv from its PyPI wheel)
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools import engine

log = logging.getLogger(__name__)

BASE_REFERENCE = "localhost/energy-forecasting-python:3.11-bookworm"
SUITE = "bookworm"
# python3-distutils: without it debootstrap cannot resolve python3.11-venv.
PACKAGES = ("python3.11", "python3.11-venv", "python3-distutils", "ca-certificates")
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


def apt_mirror(sources: tuple[Path, ...] = APT_SOURCES) -> str:
    """The first Debian archive URI apt uses (one-line ``deb`` entries or deb822 ``URIs:``), not the
    security archive."""
    files: list[Path] = []
    for source in sources:
        files += (
            sorted(source.glob("*.list")) + sorted(source.glob("*.sources")) if source.is_dir() else [source]
        )
    pattern = re.compile(r"^\s*(?:deb\s+(?:\[[^\]]*\]\s+)?(\S+)|URIs:\s*(\S+))", flags=re.MULTILINE)
    for file in files:
        if not file.is_file():
            continue
        for match in pattern.finditer(file.read_text(errors="replace")):
            uri = match.group(1) or match.group(2)
            if uri.startswith(("http://", "https://")) and "security" not in uri:
                return uri
    raise RuntimeError(f"no Debian mirror found in {', '.join(map(str, sources))}")


def debian_base(reference: str = BASE_REFERENCE) -> str:
    """``reference``, made first if it is not there yet."""
    if engine.image_exists(reference):
        return reference
    if not shutil.which("podman"):
        raise engine.EngineUnavailable("podman is not installed (make setup installs it with apt-get)")
    if os.geteuid() != 0:
        raise engine.EngineUnavailable(f"making {reference} with debootstrap needs root")
    if not shutil.which("debootstrap"):
        raise engine.EngineUnavailable("debootstrap is not installed (make setup installs it with apt-get)")
    mirror = apt_mirror()
    log.info("making %s with debootstrap from %s (about a minute)", reference, mirror)
    with tempfile.TemporaryDirectory(prefix="ef-rootfs-") as work:
        rootfs = Path(work) / "rootfs"
        bootstrap = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                mirror,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if bootstrap.returncode != 0:
            raise RuntimeError(f"debootstrap failed: {bootstrap.stdout[-2000:]}{bootstrap.stderr[-2000:]}")
        for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*"):
            for item in rootfs.glob(pattern):
                item.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["podman", "import", "-", reference],
            stdin=tar.stdout,
            env=engine.engine_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"importing the base failed: {imported.stderr.strip()}")
    return reference


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    sys.stdout.write(debian_base() + "\n")
