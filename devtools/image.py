"""Build ``Dockerfile.base`` with podman or buildah: ``make image`` (``python -m devtools.image``).

The bases are build arguments: the official Python and uv images where their registries answer, or
(``--bases debian``) a Python 3.11 base made here from Debian packages (:mod:`devtools.debian_base`) and
uv from its PyPI wheel. A build is reused when its inputs (the build context, the Dockerfile and the
build arguments) are unchanged: it is also tagged ``BUILD_REPOSITORY:<hash of the inputs>``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools import engine
from devtools.debian_base import debian_base

log = logging.getLogger(__name__)

DOCKERFILE = engine.REPO / "Dockerfile.base"
BUILD_REPOSITORY = "localhost/energy-forecasting-build"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PULL_TIMEOUT_S = 60
BASES = ("auto", "official", "debian")


def dockerfile_default(name: str) -> str:
    """The default value of a global ``ARG`` of Dockerfile.base."""
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    if match is None:
        raise KeyError(f"Dockerfile.base has no ARG {name}=<default>")
    return match.group(1)


def context_files() -> Iterator[Path]:
    """The files ``.dockerignore`` lets into the build context (it starts empty and re-includes)."""
    lines = (engine.REPO / ".dockerignore").read_text().splitlines()
    included = [line[1:].rstrip("/") for line in lines if line.startswith("!")]
    for name in included:
        path = engine.REPO / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.is_file() and "__pycache__" not in candidate.parts and candidate.suffix != ".pyc":
                yield candidate


def inputs_hash(build_args: dict[str, str]) -> str:
    digest = hashlib.sha256(DOCKERFILE.read_bytes())
    for path in context_files():
        digest.update(str(path.relative_to(engine.REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    for key, value in sorted(build_args.items()):
        digest.update(f"{key}={value}\n".encode())
    return digest.hexdigest()[:16]


def git_revision() -> str:
    done = subprocess.run(
        ["git", "-C", str(engine.REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def official_bases_reachable(python_image: str) -> bool:
    """Whether the official Python image is here or can be pulled (quick to fail without a registry)."""
    if engine.image_exists(python_image):
        return True
    try:
        pulled = engine.run([engine.builder(), "pull", "--quiet", python_image], timeout=PULL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False
    return pulled.returncode == 0


@dataclass
class BuildPlan:
    reference: str
    """What the image is tagged and the build prints: ``Settings().image_uri``."""
    build_args: dict[str, str]
    ca_bundle: Path | None = None

    @property
    def cache_tag(self) -> str:
        return f"{BUILD_REPOSITORY}:{inputs_hash(self.build_args)}"


def plan(
    reference: str,
    version: str,
    bases: str = "auto",
    python_image: str = "",
    uv_image: str = "",
    ca_bundle: Path | None = HOST_CA_BUNDLE,
) -> BuildPlan:
    """The build arguments for ``bases``: official images, the Debian base (made if missing) and uv
    from PyPI, or ``auto`` (the official ones when they can be pulled). Explicit images win."""
    if bases not in BASES:
        raise ValueError(f"bases must be one of {', '.join(BASES)}, not {bases!r}")
    official = dockerfile_default("PYTHON_IMAGE")
    if bases == "auto" and not python_image:
        bases = "official" if official_bases_reachable(official) else "debian"
        log.info("bases: %s", bases)
    if bases == "debian":
        python_image = python_image or debian_base()
        uv_image = uv_image or "uv-wheel"
    args = {
        "PYTHON_IMAGE": python_image or official,
        "UV_IMAGE": uv_image or dockerfile_default("UV_IMAGE"),
        "VERSION": version,
        "REVISION": git_revision(),
    }
    bundle = ca_bundle if ca_bundle and ca_bundle.is_file() else None
    return BuildPlan(reference, args, bundle)


def build(build_plan: BuildPlan) -> str:
    """Build (or reuse) the image of ``build_plan``; returns its reference."""
    cache_tag = build_plan.cache_tag
    tool = engine.builder()
    if engine.image_exists(cache_tag):
        log.info("inputs unchanged: reusing %s", cache_tag)
    else:
        command = [tool, "build" if tool == "podman" else "bud", "--file", str(DOCKERFILE), "--layers"]
        command += ["--network", "host", "--tag", cache_tag]
        if tool == "buildah":
            command += ["--isolation", "chroot"]
        for key, value in build_plan.build_args.items():
            command += ["--build-arg", f"{key}={value}"]
        # buildah's layer cache ignores a changed ARG value, so a cached LABEL step would keep the
        # previous build's version and revision; labels given here always apply.
        for key in ("VERSION", "REVISION"):
            command += ["--label", f"org.opencontainers.image.{key.lower()}={build_plan.build_args[key]}"]
        if build_plan.ca_bundle:
            command += ["--volume", f"{build_plan.ca_bundle}:{HOST_CA_BUNDLE}:ro"]
        log.info("building: %s", " ".join(command))
        done = subprocess.run([*command, str(engine.REPO)], env=engine.engine_env(), check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} build failed (exit {done.returncode})")
    tagged = engine.run([tool, "tag", cache_tag, build_plan.reference])
    if tagged.returncode != 0:
        raise RuntimeError(f"{tool} tag {cache_tag} {build_plan.reference}: {tagged.stderr.strip()}")
    return build_plan.reference


@dataclass(frozen=True)
class Layer:
    size: int
    created_by: str


def image_size(reference: str) -> int:
    done = engine.run([engine.builder(), "image", "inspect", "--format", "{{.Size}}", reference])
    return int(done.stdout.strip())


def layers(reference: str) -> list[Layer]:
    """The image's layers, largest first (``podman history``; an empty list with buildah)."""
    if engine.builder() != "podman":
        return []
    done = engine.run(["podman", "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", reference])
    found = []
    for line in done.stdout.splitlines():
        size, _, created_by = line.partition("\t")
        found.append(Layer(_bytes(size), " ".join(created_by.split())))
    return sorted(found, key=lambda layer: layer.size, reverse=True)


def _bytes(text: str) -> int:
    """``podman history`` sizes (``262MB``, ``1.5kB``, ``0B``) in bytes."""
    match = re.fullmatch(r"([\d.]+)\s*([kMG]?B)", text.strip())
    if match is None:
        return 0
    return int(float(match.group(1)) * {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9}[match.group(2)])


def describe(reference: str, top: int = 3) -> list[str]:
    """Lines with the image's size and its ``top`` largest layers."""
    out = [f"image size: {image_size(reference) / 1e6:.0f} MB"]
    for layer in layers(reference)[:top]:
        out.append(f"  layer {layer.size / 1e6:8.1f} MB  {layer.created_by[:100]}")
    return out


def main(argv: list[str] | None = None) -> int:
    from components.settings import Settings
    from components.version import __version__

    parser = argparse.ArgumentParser(prog="python -m devtools.image", description=__doc__)
    parser.add_argument("--bases", choices=BASES, default="auto")
    parser.add_argument("--python-image", default="", help="PYTHON_IMAGE (default: by --bases)")
    parser.add_argument("--uv-image", default="", help="UV_IMAGE, or uv-wheel (default: by --bases)")
    parser.add_argument(
        "--ca-bundle",
        default=str(HOST_CA_BUNDLE),
        help="CA bundle mounted into the RUN steps (empty: none); never copied into the image",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    settings = Settings()
    try:
        build_plan = plan(
            settings.image_uri,
            __version__,
            args.bases,
            args.python_image,
            args.uv_image,
            Path(args.ca_bundle) if args.ca_bundle else None,
        )
        reference = build(build_plan)
    except (engine.EngineUnavailable, RuntimeError) as err:
        log.error("make image: %s", err)
        return 1
    for line in describe(reference):
        log.info("%s", line)
    sys.stdout.write(reference + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
