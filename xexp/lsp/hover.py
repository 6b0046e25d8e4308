"""Hover: what the name under the cursor means to the compiler.

A call shows its registry entry (signature and docstring), chosen by where the call stands as
the validator chooses it (a task's type, its data source, a model source, a perturbation or
attack, a lexicon); a parameter or setting its type, default and bounds; a task its resolved
type, source and splits; a variant its members; a var its value; `target`/`intermediate` the
node counts of the plan.
"""

from __future__ import annotations

from collections.abc import Iterator

from xexp.compiler import ast
from xexp.compiler.binding import bind
from xexp.compiler.errors import ErrorSink
from xexp.compiler.registry import REGISTRY, Entry
from xexp.compiler.registry.sources import SPLIT_ARGUMENTS
from xexp.compiler.validate_blocks import PHASES
from xexp.compiler.validate_variants import MIX, MIX_USAGE
from xexp.lsp import docs
from xexp.lsp.analysis import Analysis
from xexp.compiler.fmt import value_text as call_text  # the one printer of spec syntax
from xexp.lsp.lens import LENS_STATEMENTS, plan_summary
from xexp.lsp.positions import contains

#: (span, markdown maker) of each hoverable thing
Item = tuple[ast.Span, object]


def hover_text(analysis: Analysis, line: int, column: int) -> tuple[str, ast.Span] | None:
    """Markdown and the span it is about, at the compiler position (line, column)."""
    found = analysis.names.at(line, column)
    for span, make in _items(analysis):
        if contains(span, line, column):
            text = make() if callable(make) else make
            if text:
                return str(text), span
    if found is not None:
        namespace, name = found
        text = symbol_text(analysis, namespace, name)
        if text:
            symbol = analysis.names.symbols.get(found)
            ref = symbol.span if symbol is not None and contains(symbol.span, line, column) else next(
                r.span for r in analysis.names.references if (r.namespace, r.name) == found and contains(r.span, line, column))
            return text, ref
    return None


def _items(analysis: Analysis) -> Iterator[Item]:
    for st in analysis.module.statements:
        if isinstance(st, ast.Declaration):
            if st.keyword.name == "task" and isinstance(st.value, ast.Call):
                yield from _call_items(st.value, ("task_type",))
            elif st.keyword.name == "model" and isinstance(st.value, ast.Call):
                yield from _call_items(st.value, ("model_source",))
            elif st.keyword.name == "variant" and isinstance(st.value, ast.Call) and st.value.name == MIX:
                yield st.value.name_span, f"**mix** — a multi-task intermediate training\n\n```xexp\n{MIX_USAGE}\n```"
        elif isinstance(st, ast.Assignment) and st.name.name in LENS_STATEMENTS:
            yield st.name.span, lambda: _plan_text(analysis)
        elif isinstance(st, ast.Block):
            yield from _block_items(analysis, st)


def _plan_text(analysis: Analysis) -> str | None:
    summary = plan_summary(analysis)
    return f"**plan** — {summary}" if summary else "**plan** — shown once the spec checks without errors"


def _call_items(call: ast.Call, categories: tuple[str, ...]) -> Iterator[Item]:
    entry = next((e for c in categories if (e := REGISTRY.get(c, call.name)) is not None), None)
    if entry is None:
        return
    yield call.name_span, docs.entry_markdown(entry)
    for position, arg in enumerate(call.args):
        name = arg.key if arg.key is not None else (
            entry.positional[position] if position < len(entry.positional) else None)
        if arg.key is not None and name is not None:
            yield arg.key_span, _parameter(entry, name)
        if isinstance(arg.value, ast.Call):
            inner = ("data_source",) if entry.category == "task_type" else ("lexicon",)
            yield from _call_items(arg.value, inner)
        elif isinstance(arg.value, ast.ListValue):
            for item in arg.value.items:
                if isinstance(item, ast.Call):
                    yield from _call_items(item, ("lexicon",))


def _parameter(entry: Entry, name: str) -> str | None:
    if entry.category == "task_type" and name in SPLIT_ARGUMENTS:
        return (f"**{name}** — the {name} split of `{entry.name}`: a split name with an optional row "
                'range ("train[:3000]"), or a data source call of its own')
    return docs.parameter_markdown(entry, name)


def _block_items(analysis: Analysis, block: ast.Block) -> Iterator[Item]:
    keyword = block.keyword.name
    if keyword == "perturbations":
        described = {p.name: p.description for p in analysis.spec.perturbations} if analysis.spec else {}
        for entry in block.entries:
            if entry.key in described:
                yield entry.key_span, f"**{entry.key}** — `{described[entry.key]}`"
            if isinstance(entry.value, ast.Call):
                yield from _call_items(entry.value, ("perturbation", "attack"))
        return
    label = block.label.name if block.label is not None else None
    phase = label if label in PHASES else None
    for entry in block.entries:
        text = docs.setting_markdown(keyword, phase, entry.key) if (
            keyword in docs.SETTINGS or keyword == "resources") else None
        if text:
            yield entry.key_span, text


def symbol_text(analysis: Analysis, namespace: str, name: str) -> str | None:
    symbol = analysis.names.symbol(namespace, name)
    if symbol is None:
        return None
    value = symbol.statement.value
    if symbol.keyword == "var":
        shown = value.value if isinstance(value, ast.Str) else getattr(value, "text", None) or getattr(value, "name", "")
        return f'**var {name}** = `"{shown}"`' if isinstance(value, ast.Str) else f"**var {name}** = `{shown}`"
    if symbol.keyword == "task":
        return _task_text(analysis, name, value)
    if symbol.keyword == "variant" and isinstance(value, ast.Call):
        return f"**variant {name}** — intermediate multi-task training\n\n```xexp\n{call_text(value)}\n```"
    if symbol.keyword == "model" and isinstance(value, ast.Call):
        return f"**model {name}**\n\n```xexp\n{call_text(value)}\n```"
    return None


def _task_text(analysis: Analysis, name: str, value: ast.Value) -> str | None:
    """The task as the validator resolves it: its type, its source with defaults, its splits."""
    if analysis.spec is not None and name in analysis.spec.tasks:
        task = analysis.spec.tasks[name]
        kind, params = task.type, task.params
        splits = {split: _ref_text(ref) for split, ref in task.splits.items()}
        source = next(iter(task.splits.values())).source if task.splits else None
    elif isinstance(value, ast.Call):
        sink = ErrorSink(analysis.filename, analysis.text)
        bound = bind(value, ("task_type",), {}, sink, skip=("source",) + SPLIT_ARGUMENTS)
        if bound is None:
            return None
        entry, params, args = bound
        kind = entry.name
        source = None
        if "source" in args and isinstance(args["source"].value, ast.Call):
            resolved = bind(args["source"].value, ("data_source",), {}, sink)
            source = {"source": resolved[0].name, **resolved[1]} if resolved else None
        splits = {s: call_text(args[s].value) if isinstance(args[s].value, ast.Call) else repr(
            getattr(args[s].value, "value", "")) for s in SPLIT_ARGUMENTS if s in args}
    else:
        return None
    entry_ = REGISTRY.get("task_type", kind)
    family = (entry_.family or "") if entry_ else ""
    head = [f"**task {name}** — `{kind}`" + (f" ({family})" if family else "")]
    if params:
        head.append("parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    if source is not None:
        head.append("source: `" + _source_text(source) + "`")
    bullets = [f"- {split}: {text}" for split, text in splits.items()]
    for t in (analysis.spec.targets if analysis.spec else []):
        if t.task == name:
            bullets.append(f"- target, in [{' '.join(t.languages)}]")
        elif t.trained_on == name:
            bullets.append(f"- trains the target `{t.task}`")
    return "\n\n".join(head + ["\n".join(bullets)] if bullets else head)


def _source_text(source: dict) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in source.items() if k != "source" and v is not None)
    return f"{source.get('source')}({params})"


def _ref_text(ref) -> str:
    rows = f"[{ref.rows[0]}:{'' if ref.rows[1] >= 2**62 else ref.rows[1]}]" if ref.rows else ""
    return f'"{ref.split}{rows}"' if ref.split else f"`{_source_text(ref.source)}`{rows}"
