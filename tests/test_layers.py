"""The runtime's layering, read from the source: no import circles (module-level and
function-level imports alike), the engine and the report import no learning code, and runtime/
holds its code in stage folders, not loose modules (docs/architecture.md, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: folder in the repository -> the package it installs as (pyproject's package-dir)
PACKAGES = {"xexp": "xexp", "compiler": "xexp.compiler", "runtime": "xexp.runtime", "grammar": "xexp.grammar"}
#: at most this many modules may lie loose in runtime/ (besides its __init__)
LOOSE_LIMIT = 4


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in (REPO / folder).rglob("*.py"):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module `name` imports, wherever in the file the import stands."""
    out: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    out.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                if child in known:
                    out.add(child)
                elif base in known:
                    out.add(base)
    out.discard(name)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(start: str) -> None:
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return found


def test_no_import_circles():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _crossings(source: str, forbidden: str) -> list[str]:
    edges = graph()
    return sorted(f"{module} -> {target}" for module, targets in edges.items() if module.startswith(source)
                  for target in targets if target.startswith(forbidden))


def test_engine_imports_no_learning_code():
    assert _crossings("xexp.runtime.engine", "xexp.runtime.learning") == []
    assert _crossings("xexp.runtime.engine", "xexp.runtime.robustness") == []
    assert _crossings("xexp.runtime.manifests", "xexp.runtime.learning") == []


def test_report_imports_no_learning_code():
    assert _crossings("xexp.runtime.report", "xexp.runtime.learning") == []


def test_the_compiler_imports_no_runtime():
    assert _crossings("xexp.compiler", "xexp.runtime") == []


def test_runtime_keeps_its_code_in_stage_folders():
    loose = sorted(p.name for p in (REPO / "runtime").glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= LOOSE_LIMIT, loose
