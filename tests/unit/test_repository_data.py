"""A clone tests itself: the real exports are in the repository, unaltered, and no test, benchmark or
make target reads a file outside it (a clone from GitHub has no folder of shared data beside it)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import API_PAGE_SAMPLE, EBN_2019, EBN_2024, REPO_ROOT, SNAPSHOT_PATH

EXPORT_SHA256 = {
    EBN_2019: "6fe0e75c4083d53d67443107c4bc6d90b140ae058b790a5411a11efc385ca2a2",
    EBN_2024: "00625b6b95df44a4e1a56037aa918e1945b17ea5bb6017fdf655016e07f30a31",
    API_PAGE_SAMPLE: "67655b62b2976fbe96a5b29de8d76e3228d1db70c1418ceb9ed5b04869af52e4",
    SNAPSHOT_PATH: "b46b3ac1863ebe592aabbd26045124dd4311dc170eecc70cb01f7fd990c59d77",
}
SIBLING = "shared"
"""The folder beside the clone that holds the project's shared data on the developers' machines."""
OUTSIDE = re.compile(rf"\.\./{SIBLING}|EF_{SIBLING.upper()}_DATA|parent\s*/\s*[\"']{SIBLING}")
"""What reading a file beside the clone looks like in code (spelled from parts, so this file itself
does not read as such a reference to a text scan)."""


@pytest.mark.parametrize("path", list(EXPORT_SHA256), ids=lambda path: path.name)
def test_each_export_is_in_the_repository_unaltered(path: Path) -> None:
    assert path.resolve().is_relative_to(REPO_ROOT), f"{path} is outside the repository"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPORT_SHA256[path]


def test_no_test_bench_or_make_target_reads_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "tests", "bench", "Makefile", ".ci", "devtools"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked, "git listed no files: the scan would pass vacuously"
    this_file = Path(__file__).resolve().relative_to(REPO_ROOT).as_posix()
    offenders = [
        f"{name}:{number}: {line.strip()}"
        for name in tracked
        if name != this_file and not name.startswith("tests/data/")
        for number, line in enumerate((REPO_ROOT / name).read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not offenders, "reads beside the clone:\n" + "\n".join(offenders)


def test_the_scan_sees_what_it_looks_for() -> None:
    assert OUTSIDE.search('SHARED = REPO.parent / "shared" / "data"')
    assert OUTSIDE.search(f"see ../{SIBLING}/data/README.md")
    assert not OUTSIDE.search('EXPORTS = REPO_ROOT / "tests" / "data"')
