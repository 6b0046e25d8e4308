"""Between the compiler's spans and LSP positions.

The compiler counts lines and columns from 1, in code points (lark's columns); LSP counts from 0,
in UTF-16 code units unless the client negotiates otherwise. A spec may hold Hindi, Chinese or an
emoji in a string, so the conversion goes through the line's text, never through arithmetic alone.
"""

from __future__ import annotations

from lsprotocol import types

from xexp.compiler import ast


def lines_of(text: str) -> list[str]:
    """Lines as the compiler's lexer counts them: only "\\n" ends a line (errors.py's ErrorSink)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def position(lines: list[str], line: int, column: int) -> types.Position:
    """The LSP position of the compiler's (line, column), both 1-based; clamped to the text."""
    if line < 1 or not lines:
        return types.Position(line=0, character=0)
    row = min(line, len(lines)) - 1
    text = lines[row]
    return types.Position(line=row, character=utf16_units(text[:max(column, 1) - 1]))


def span_range(lines: list[str], span: ast.Span) -> types.Range:
    """The range of a span. A span over several lines (a block) is shown on its first line only:
    an editor underlining a whole block hides the error it is about."""
    if span.line < 1:  # NO_SPAN: a whole-file problem ("the spec has no `experiment` line")
        return types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    start = position(lines, span.line, span.column)
    if span.end_line == span.line and span.end_column > span.column:
        end = position(lines, span.line, span.end_column)
    else:
        row_text = lines[start.line] if start.line < len(lines) else ""
        end = types.Position(line=start.line, character=max(utf16_units(row_text), start.character + 1))
    return types.Range(start=start, end=end)


def offset_of(lines: list[str], pos: types.Position) -> tuple[int, int]:
    """The compiler's (line, column), 1-based in code points, of an LSP position."""
    row = min(max(pos.line, 0), max(len(lines) - 1, 0))
    text = lines[row] if lines else ""
    units = 0
    for index, char in enumerate(text):
        if units >= pos.character:
            return row + 1, index + 1
        units += utf16_units(char)
    return row + 1, len(text) + 1


def contains(span: ast.Span, line: int, column: int) -> bool:
    """Whether the compiler position (line, column) lies on the span (its end included, so a word
    just typed is still "at" the cursor)."""
    if span.line < 1:
        return False
    if (line, column) < (span.line, span.column):
        return False
    return (line, column) <= (span.end_line, span.end_column)
