"""Facts about a document read straight off its AST, for completion and hover while the spec does
not validate yet: each task's type and data source call, the targets, the declared languages."""

from __future__ import annotations

from xexp.compiler import ast
from xexp.compiler.languages import KNOWN_LANGUAGES
from xexp.compiler.registry import REGISTRY


def task_calls(module: ast.Module) -> dict[str, ast.Call]:
    return {st.name.name: st.value for st in module.statements
            if isinstance(st, ast.Declaration) and st.keyword.name == "task" and isinstance(st.value, ast.Call)}


def source_call(call: ast.Call) -> ast.Call | None:
    """The data source of a task type call: its first positional argument or `source=`."""
    for arg in call.args:
        if (arg.key is None or arg.key == "source") and isinstance(arg.value, ast.Call):
            return arg.value
        if arg.key is None:
            return None
    return None


def source_languages(module: ast.Module, task: str) -> list[str]:
    """The languages a task's data source has (the registry's `languages=`), else every known code."""
    call = task_calls(module).get(task)
    source = source_call(call) if call is not None else None
    entry = REGISTRY.get("data_source", source.name) if source is not None else None
    if entry is not None and entry.languages is not None:
        return sorted(entry.languages)
    return sorted(KNOWN_LANGUAGES)


def assignment(module: ast.Module, name: str) -> ast.Assignment | None:
    return next((st for st in module.statements if isinstance(st, ast.Assignment) and st.name.name == name), None)


def targets(module: ast.Module) -> list[ast.TrainedOn]:
    st = assignment(module, "target")
    if st is None:
        return []
    items = st.value.items if isinstance(st.value, ast.ListValue) else (st.value,)
    return [item for item in items if isinstance(item, ast.TrainedOn)]


def spec_languages(module: ast.Module) -> list[str]:
    """The spec's `languages` and every target's own `in [...]` codes, in order."""
    out: list[str] = []
    st = assignment(module, "languages")
    lists = [st.value] if st is not None and isinstance(st.value, ast.ListValue) else []
    lists += [t.languages for t in targets(module) if t.languages is not None]
    for listed in lists:
        out += [item.name for item in listed.items if isinstance(item, ast.Name) and item.name not in out]
    return out


def default_target_languages(module: ast.Module) -> list[str]:
    """Codes `languages = [...]` may list: those every target without its own `in [...]` can
    read (the spec's languages are those targets' languages)."""
    found = set(KNOWN_LANGUAGES)
    for target in targets(module):
        if target.languages is None:
            found &= set(source_languages(module, target.target.name))
    return sorted(found)


def perturbation_calls(module: ast.Module) -> dict[str, ast.Call]:
    out: dict[str, ast.Call] = {}
    for st in module.statements:
        if isinstance(st, ast.Block) and st.keyword.name == "perturbations":
            out.update({e.key: e.value for e in st.entries if isinstance(e.value, ast.Call)})
    return out
