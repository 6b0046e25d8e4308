"""Completion: what may be written at the cursor, from the registry and the document's names.

The context comes from cursor.py (the grammar's tokens up to the cursor); the candidates from
the registry (task types, sources, perturbations and attacks with parameter snippets, parameter
names, the language codes a source or perturbation supports), the settings contracts (the keys of
`train`/`evaluate`/`report`/`resources`) and the document (declared tasks, variants, targets, vars).
"""

from __future__ import annotations

import typing
from dataclasses import replace

from lsprotocol import types

from xexp.compiler.languages import KNOWN_LANGUAGES
from xexp.compiler.parser import parse_recovering
from xexp.compiler.registry import REGISTRY, Entry
from xexp.compiler.registry.base import FAMILY_FIELDS, FIELDS, task_family
from xexp.compiler.registry.sources import SPLIT_ARGUMENTS
from xexp.compiler.validate import ASSIGNMENTS, DECLARATIONS, HEADERS
from xexp.compiler.validate_blocks import BLOCKS, PHASES
from xexp.compiler.validate_variants import MIX_KEYWORDS, MIX_USAGE
from xexp.lsp import docs, outline
from xexp.lsp.analysis import Analysis
from xexp.lsp.cursor import Cursor, Frame, cursor_at
from xexp.lsp.symbols import index

Kind = types.CompletionItemKind
LANGUAGE_PARAMETERS = ("to",)  # a parameter whose value is one language code
#: What a call in each place is resolved against (the validator's `bind` categories).
CALL_CATEGORIES = {"task": ("task_type",), "model": ("model_source",)}


def complete(analysis: Analysis, lines: list[str], row: int, column: int) -> list[types.CompletionItem]:
    """Candidates at (row, column), 0-based, of the document's current `lines`. `analysis` may be
    a pass over an earlier version (completion never waits for a pass): the cursor's context is
    read from the current text, the names and calls from the pass."""
    cursor = cursor_at(lines, row, column)
    analysis = _without_line(analysis, lines, row)
    if cursor.in_comment:
        return []
    if cursor.in_string:
        return _in_string(analysis, cursor)
    if cursor.line_start:
        return _keywords()
    frame = cursor.frame
    if frame.kind == "top":
        return _top(analysis, frame)
    if frame.kind == "block":
        return _block(analysis, frame)
    if frame.kind == "call":
        return _call(analysis, cursor, frame)
    if frame.kind == "list":
        return _list(analysis, frame)
    return []


def _without_line(analysis: Analysis, current: list[str], row: int) -> Analysis:
    """The document's names while the line being typed stops the parser (an unclosed `[`, a
    block head without its `{`): the same parse of the text with that line blanked."""
    if analysis.module.statements or not "".join(current).strip():
        return analysis
    lines = list(current)
    if row < len(lines):
        lines[row] = " " * len(lines[row])
    module, _ = parse_recovering("\n".join(lines), analysis.filename)
    return replace(analysis, module=module, names=index(module))


# -- candidates ---------------------------------------------------------------------------------


def _item(label: str, kind: Kind, detail: str = "", doc: str = "", insert: str | None = None,
          sort: str | None = None) -> types.CompletionItem:
    return types.CompletionItem(
        label=label, kind=kind, detail=detail or None,
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc) if doc else None,
        insert_text=insert, sort_text=sort,
        insert_text_format=types.InsertTextFormat.Snippet if insert and "$" in insert else None)


def _entries(*categories: str, first: tuple[str, ...] | None = None) -> list[types.CompletionItem]:
    """Registry entries as calls with their parameters as snippet tab stops; entries in `first`
    (those that fit the spec's targets) sort before the others."""
    out = []
    for category in categories:
        for entry in REGISTRY.of(category):
            rank = "0" if first is None or entry.name in first else "1"
            out.append(_item(entry.name, Kind.Function, docs.signature(entry), docs.entry_markdown(entry),
                             docs.snippet(entry), sort=rank + entry.name))
    return out


def _languages(codes, detail: str, taken=()) -> list[types.CompletionItem]:
    from xexp.compiler.languages import script_of

    return [_item(code, Kind.EnumMember, f"{detail} ({script_of(code)} script)") for code in sorted(codes)
            if code not in taken]


def _names(analysis: Analysis, *keywords: str, extra=()) -> list[types.CompletionItem]:
    out = [_item(name, Kind.Reference, detail) for name, detail in extra]
    for symbol in analysis.names.declared(*keywords):
        call = symbol.statement.value
        what = f"{symbol.keyword} = {call.name}(…)" if hasattr(call, "name") and hasattr(call, "args") else symbol.keyword
        out.append(_item(symbol.name, Kind.Reference, what))
    return out


def _keywords() -> list[types.CompletionItem]:
    snippets = {"experiment": "experiment ${1:name}", "model": "model ${1:name} = ", "task": "task ${1:name} = ",
                "var": 'var ${1:name} = "${2}"', "variant": "variant ${1:name} = mix([${2}])",
                "target": "target = ${1:task} trained_on ${2:task}", "perturbations": "perturbations {\n  $0\n}"}
    words = [*HEADERS, *DECLARATIONS, *ASSIGNMENTS, *BLOCKS]
    return [_item(w, Kind.Keyword, "statement", insert=snippets.get(w, f"{w} = " if w in ASSIGNMENTS else
                                                                     f"{w} {{ $0 }}" if w in BLOCKS else None))
            for w in words]


# -- contexts -----------------------------------------------------------------------------------


def _top(analysis: Analysis, frame: Frame) -> list[types.CompletionItem]:
    if not frame.after_equal:
        if len(frame.words) == 1 and frame.words[0] == "train":
            return _names(analysis, "task", "variant", extra=[(p, "phase") for p in PHASES])
        if len(frame.words) == 1 and frame.words[0] == "evaluate":
            return [_item(t.target.name, Kind.Reference, "target") for t in outline.targets(analysis.module)]
        return []
    keyword = frame.words[0] if frame.words else ""
    if len(frame.words) >= 2 and not frame.values:
        if keyword == "task":
            return _entries("task_type")
        if keyword == "model":
            return _entries("model_source")
        if keyword == "variant":
            return [_item("mix", Kind.Function, MIX_USAGE.removeprefix("usage: "), insert="mix([${1}])")]
    if keyword == "target" and (not frame.values or frame.values[-1] == "TRAINED_ON"):
        return _names(analysis, "task")
    return []


def _block(analysis: Analysis, frame: Frame) -> list[types.CompletionItem]:
    block = frame.name
    if frame.expect in ("key", "done") and block in docs.SETTINGS or (frame.expect in ("key", "done")
                                                                       and block == "resources"):
        label = frame.label if frame.label in PHASES else None
        return [_item(key, Kind.Property, "setting", docs.setting_markdown(block, label, key) or "", f"{key}=")
                for key in docs.setting_keys(block) if key not in frame.given[:-1] or key == frame.key]
    if frame.expect == "value" and block == "perturbations":
        fitting = _fitting_entries(analysis)
        return _entries("perturbation", "attack", first=fitting)
    if frame.expect == "value" and block == "report" and frame.key == "baseline":
        return _names(analysis, "task", "variant", extra=[("none", "direct fine-tuning")])
    if frame.expect == "value" and block == "train" and frame.key == "freeze_embeddings":
        return [_item("true", Kind.Value), _item("false", Kind.Value)]
    if frame.expect == "on" and block == "perturbations":
        entry = _perturbation(frame.values[-1]) if frame.values else None
        fields = [f for f in (entry.fields if entry is not None else FIELDS) if f in _target_fields(analysis)]
        return [_item(f, Kind.EnumMember, "field") for f in fields]
    return []


def _fitting_entries(analysis: Analysis) -> tuple[str, ...] | None:
    """Perturbations and attacks that work on the task types of the spec's targets."""
    calls = outline.task_calls(analysis.module)
    types_ = {calls[t.target.name].name for t in outline.targets(analysis.module) if t.target.name in calls}
    if not types_:
        return None
    return tuple(e.name for c in ("perturbation", "attack") for e in REGISTRY.of(c)
                 if e.task_types is None or types_ & set(e.task_types))


def _target_fields(analysis: Analysis) -> set[str]:
    """The fields the examples of the spec's targets have (every field while none is known)."""
    calls = outline.task_calls(analysis.module)
    types_ = {calls[t.target.name].name for t in outline.targets(analysis.module) if t.target.name in calls}
    families = {task_family(name) for name in types_ if REGISTRY.get("task_type", name) is not None}
    found: set[str] = {f for family in families for f in FAMILY_FIELDS.get(family, {})}
    return found or set(FIELDS)


def _perturbation(name: str) -> Entry | None:
    return REGISTRY.get("perturbation", name) or REGISTRY.get("attack", name)


def call_entry(frames: list[Frame], index: int) -> Entry | None:
    """The registry entry the call frame `frames[index]` names, from where it stands."""
    frame = frames[index]
    owner = frame.owner
    categories: tuple[str, ...]
    if owner[:1] == ("declare",) and len(owner) > 1:
        categories = CALL_CATEGORIES.get(owner[1], ())
    elif owner[:1] == ("entry",) and owner[1] == "perturbations":
        categories = ("perturbation", "attack")
    elif owner[:1] == ("arg",) and index > 0 and frames[index - 1].kind == "call":
        parent = call_entry(frames, index - 1)
        if parent is None:
            return None
        categories = ("data_source",) if parent.category == "task_type" else ("lexicon",)
    else:
        categories = ()
    for category in categories:
        entry = REGISTRY.get(category, frame.name)
        if entry is not None:
            return entry
    return None


def _call(analysis: Analysis, cursor: Cursor, frame: Frame) -> list[types.CompletionItem]:
    index = len(cursor.frames) - 1
    if frame.name == "mix" and frame.owner[:2] == ("declare", "variant"):
        if frame.expect == "arg":
            return [_item(k, Kind.Property, "mix option", insert=f"{k}=") for k in MIX_KEYWORDS if k not in frame.given]
        return []
    entry = call_entry(cursor.frames, index)
    if entry is None:
        return []
    if frame.expect == "arg":
        out = []
        if entry.category == "task_type" and frame.position == 0 and not frame.given:
            out += _entries("data_source")
        names = list(entry.params.model_fields)
        if entry.category == "task_type":
            names = list(SPLIT_ARGUMENTS) + names
        for name in names:
            if name in frame.given:
                continue
            doc = docs.parameter_markdown(entry, name) or ""
            out.append(_item(name, Kind.Property, f"parameter of {entry.name}", doc, f"{name}=", sort="0" + name))
        return out
    if frame.expect == "value":
        return _argument_values(analysis, entry, frame.key or "")
    return []


def _argument_values(analysis: Analysis, entry: Entry, key: str) -> list[types.CompletionItem]:
    if entry.category == "task_type" and key in SPLIT_ARGUMENTS + ("source",):
        return _entries("data_source")
    if key == "lexicon":
        return _entries("lexicon")
    if key in LANGUAGE_PARAMETERS:
        return [_item(f'"{c}"', Kind.EnumMember, "language") for c in outline.spec_languages(analysis.module)]
    info = entry.params.model_fields.get(key)
    if info is not None:
        return [_item(v, Kind.EnumMember, f"value of {key}") for v in _literal_values(info.annotation, quoted=True)]
    return []


def _literal_values(annotation, quoted: bool) -> list[str]:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return [f'"{a}"' if quoted and isinstance(a, str) else str(a) for a in typing.get_args(annotation)]
    if annotation is bool:
        return ["true", "false"]
    out: list[str] = []
    for arg in typing.get_args(annotation):
        out += _literal_values(arg, quoted)
    return out


def _list(analysis: Analysis, frame: Frame) -> list[types.CompletionItem]:
    owner = frame.owner
    module = analysis.module
    if owner[:1] == ("in",):
        clause = owner[1]
        if clause[:1] == ("entry",) and clause[1] == "perturbations":
            call = outline.perturbation_calls(module).get(clause[3] or "")
            entry = _perturbation(call.name) if call is not None else None
            codes = set(outline.spec_languages(module)) or set(KNOWN_LANGUAGES)
            if entry is not None and entry.languages is not None:
                codes &= entry.languages
            return _languages(codes, f"evaluated, supported by {entry.name}" if entry else "evaluated", frame.given)
        target = owner[2] if len(owner) > 2 else None
        if target:
            return _languages(outline.source_languages(module, target), f"in the data of {target}", frame.given)
        return _languages(KNOWN_LANGUAGES, "language", frame.given)
    if owner == ("assign", "languages"):
        return _languages(outline.default_target_languages(module), "in the targets' data", frame.given)
    if owner == ("assign", "intermediate"):
        return [i for i in _names(analysis, "task", "variant", extra=[("none", "direct fine-tuning")])
                if i.label not in frame.given]
    if owner == ("assign", "target"):
        values = frame.values
        if not values or values[-1] in (",", "TRAINED_ON"):
            return _names(analysis, "task")
        return []
    if owner[:2] == ("arg", "mix") and owner[2] == 0:
        return [i for i in _names(analysis, "task") if i.label not in frame.given]
    if owner[:1] == ("arg",) and owner[2] == "languages":
        return _languages(KNOWN_LANGUAGES, "language", frame.given)
    return []


def _in_string(analysis: Analysis, cursor: Cursor) -> list[types.CompletionItem]:
    text = cursor.string_text
    if text.rfind("{") > text.rfind("}"):
        items = [_item(s.name, Kind.Variable, f'var = {_var_value(s)}') for s in analysis.names.declared("var")]
        return items + [_item(p, Kind.Variable, "filled per language / split") for p in ("lang", "split")]
    frame = cursor.frame
    if frame.kind != "call" or frame.expect not in ("arg", "value"):
        return []
    entry = call_entry(cursor.frames, len(cursor.frames) - 1)
    if entry is None:
        return []
    key = frame.key if frame.expect == "value" else (
        entry.positional[frame.position] if frame.position < len(entry.positional) else None)
    if key in LANGUAGE_PARAMETERS:
        return _languages(outline.spec_languages(analysis.module), "language")
    info = entry.params.model_fields.get(key or "")
    return [_item(v, Kind.EnumMember, f"value of {key}") for v in _literal_values(info.annotation, quoted=False)] \
        if info is not None else []


def _var_value(symbol) -> str:
    value = symbol.statement.value
    return getattr(value, "text", None) or repr(getattr(value, "value", getattr(value, "name", "")))
