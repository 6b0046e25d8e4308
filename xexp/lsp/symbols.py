"""Where each name of a spec is declared and where it is used, read off the typed AST.

Tasks, variants and models share one namespace (the validator refuses a task and a variant of
one name); `var`s have their own, used as `{name}` inside strings. A reference is recorded
where the language reads a name as such: `intermediate`, `target … trained_on …`, a `mix([...])`
member, a `train NAME {…}` / `evaluate NAME {…}` label and the report's `baseline`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xexp.compiler import ast
from xexp.compiler.validate_blocks import PHASES

DECLARED = ("task", "model", "variant", "var")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_\-]*)\}")
RESERVED = ("none",)


@dataclass(frozen=True)
class Symbol:
    name: str
    keyword: str  # task, model, variant, var
    span: ast.Span  # the declared name
    statement: ast.Declaration


@dataclass(frozen=True)
class Reference:
    name: str
    namespace: str  # "name" (tasks, variants, models) or "var"
    span: ast.Span


@dataclass
class SymbolIndex:
    symbols: dict[tuple[str, str], Symbol] = field(default_factory=dict)  # (namespace, name)
    references: list[Reference] = field(default_factory=list)

    def declared(self, *keywords: str) -> list[Symbol]:
        return [s for s in self.symbols.values() if s.keyword in keywords]

    def symbol(self, namespace: str, name: str) -> Symbol | None:
        return self.symbols.get((namespace, name))

    def at(self, line: int, column: int) -> tuple[str, str] | None:
        """(namespace, name) of the declaration or reference at a compiler position."""
        from xexp.lsp.positions import contains

        for (namespace, name), symbol in self.symbols.items():
            if contains(symbol.span, line, column):
                return namespace, name
        for ref in self.references:
            if contains(ref.span, line, column):
                return ref.namespace, ref.name
        return None

    def uses(self, namespace: str, name: str) -> list[ast.Span]:
        return [r.span for r in self.references if (r.namespace, r.name) == (namespace, name)]


def namespace_of(keyword: str) -> str:
    return "var" if keyword == "var" else "name"


def index(module: ast.Module) -> SymbolIndex:
    out = SymbolIndex()
    lines = module.source.split("\n")
    for st in module.statements:
        if isinstance(st, ast.Declaration) and st.keyword.name in DECLARED:
            key = (namespace_of(st.keyword.name), st.name.name)
            out.symbols.setdefault(key, Symbol(st.name.name, st.keyword.name, st.name.span, st))
    for st in module.statements:
        _statement(st, out)
        for string in _strings(st):
            out.references += _placeholders(string, lines)
    return out


def _name_ref(out: SymbolIndex, name: ast.Name) -> None:
    if name.name not in RESERVED:
        out.references.append(Reference(name.name, "name", name.span))


def _statement(st: ast.Statement, out: SymbolIndex) -> None:
    if isinstance(st, ast.Assignment):
        items = st.value.items if isinstance(st.value, ast.ListValue) else (st.value,)
        if st.name.name == "intermediate":
            for item in items:
                if isinstance(item, ast.Name):
                    _name_ref(out, item)
        elif st.name.name == "target":
            for item in items:
                if isinstance(item, ast.TrainedOn):
                    _name_ref(out, item.target)
                    if item.source is not None:  # a retrieval target is trained on nothing
                        _name_ref(out, item.source)
                elif isinstance(item, ast.Name):  # a bare untrained target: `tatoeba`
                    _name_ref(out, item)
    elif isinstance(st, ast.Declaration) and st.keyword.name == "variant" and isinstance(st.value, ast.Call):
        for arg in st.value.args:
            if arg.key is None and isinstance(arg.value, ast.ListValue):
                for item in arg.value.items:
                    if isinstance(item, ast.Name):
                        _name_ref(out, item)
    elif isinstance(st, ast.Block):
        if st.label is not None and st.keyword.name in ("train", "evaluate") and st.label.name not in PHASES:
            _name_ref(out, st.label)
        if st.keyword.name == "report":
            for entry in st.entries:
                if entry.key == "baseline" and isinstance(entry.value, ast.Name):
                    _name_ref(out, entry.value)


def _strings(node) -> list[ast.Str]:
    """Every string literal under a statement."""
    if isinstance(node, ast.Str):
        return [node]
    found: list[ast.Str] = []
    if isinstance(node, (ast.Declaration, ast.Assignment)):
        found += _strings(node.value)
    elif isinstance(node, ast.Block):
        for entry in node.entries:
            found += _strings(entry)
    elif isinstance(node, ast.Entry):
        found += _strings(node.value)
    elif isinstance(node, ast.Call):
        for arg in node.args:
            found += _strings(arg.value)
    elif isinstance(node, ast.ListValue):
        for item in node.items:
            found += _strings(item)
    elif isinstance(node, ast.MapValue):
        for entry in node.entries:
            found += _strings(entry)
    return found


def _placeholders(string: ast.Str, lines: list[str]) -> list[Reference]:
    """`{name}` inside a string, located in the raw source text (escapes keep their width there)."""
    span = string.span
    if span.line < 1 or span.end_line != span.line or span.line > len(lines):
        return []
    raw = lines[span.line - 1][span.column - 1:span.end_column - 1]
    return [Reference(m.group(1), "var", ast.Span(span.line, span.column + m.start(1),
                                                  span.line, span.column + m.end(1)))
            for m in PLACEHOLDER.finditer(raw)]
