"""Go to definition, find references and the document outline, from the AST's names and spans."""

from __future__ import annotations

from lsprotocol import types

from xexp.compiler import ast
from xexp.lsp.analysis import Analysis
from xexp.lsp.positions import span_range

SYMBOL_KINDS = {"task": types.SymbolKind.Class, "variant": types.SymbolKind.Class,
                "model": types.SymbolKind.Module, "var": types.SymbolKind.Variable}


def definition(analysis: Analysis, line: int, column: int) -> ast.Span | None:
    found = analysis.names.at(line, column)
    symbol = analysis.names.symbol(*found) if found else None
    return symbol.span if symbol is not None else None


def references(analysis: Analysis, line: int, column: int, declaration: bool) -> list[ast.Span]:
    found = analysis.names.at(line, column)
    if found is None:
        return []
    spans = analysis.names.uses(*found)
    symbol = analysis.names.symbol(*found)
    if declaration and symbol is not None:
        spans = [symbol.span, *spans]
    return spans


def document_symbols(analysis: Analysis) -> list[types.DocumentSymbol]:
    lines = analysis.lines
    out = []
    for st in analysis.module.statements:
        if isinstance(st, ast.Header):
            out.append(_symbol(lines, f"{st.keyword.name} {st.name.name}", types.SymbolKind.Namespace, st.span,
                               st.name.span))
        elif isinstance(st, ast.Declaration):
            out.append(_symbol(lines, st.name.name, SYMBOL_KINDS.get(st.keyword.name, types.SymbolKind.Object),
                               st.span, st.name.span, detail=st.keyword.name))
        elif isinstance(st, ast.Assignment):
            out.append(_symbol(lines, st.name.name, types.SymbolKind.Property, st.span, st.name.span))
        elif isinstance(st, ast.Block):
            title = st.keyword.name + (f" {st.label.name}" if st.label else "")
            children = [_symbol(lines, e.key, types.SymbolKind.Field, e.span, e.key_span) for e in st.entries]
            out.append(_symbol(lines, title, types.SymbolKind.Struct, st.span, st.keyword.span, children=children))
    return out


def _symbol(lines, name, kind, span, selection, detail=None, children=None) -> types.DocumentSymbol:
    whole = _whole(lines, span)
    return types.DocumentSymbol(name=name, kind=kind, range=whole, selection_range=span_range(lines, selection),
                                detail=detail, children=children)


def _whole(lines, span: ast.Span) -> types.Range:
    """A statement's full range (span_range keeps a multi-line span to its first line)."""
    from xexp.lsp.positions import position

    return types.Range(start=position(lines, span.line, span.column), end=position(lines, span.end_line, span.end_column))
