"""The compiler's parse of a document, statement by statement, so that typing in one statement
re-parses that statement rather than the whole file.

The grammar has no statement separators, but a statement starts at the beginning of a line, at
bracket depth 0, shaped `NAME NAME? =` or `NAME NAME? {` (parser.STATEMENT_START, the shape the
parser's own error recovery looks for). The text is cut before each unindented line of that
shape; each piece is parsed by `parse_recovering` (the one parser) with the lines above it left
blank, so its spans are the document's, and remembered by (first line, text). Typing within a line
re-parses one piece; a new line re-parses the pieces below it. A syntax error in any piece falls
back to one `parse_recovering` of the whole text, so syntax errors (whose recovery and wording
look across statements) are exactly the compiler's. tests/test_lsp_pieces.py checks that the
pieces give the whole parse's statements, spans included, for every spec of the repository.
The module carries no comments (validation does not read them; `xexp fmt` parses on its own).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from xexp.compiler import ast
from xexp.compiler.errors import SpecError
from xexp.compiler.parser import CLOSERS, STATEMENT_START, _brackets, parse_recovering

#: Pieces remembered at most, over every open document.
CACHE_PIECES = 20_000


def statement_starts(lines: list[str]) -> list[int]:
    """0-based rows where a statement starts: unindented, at bracket depth 0, statement-shaped."""
    starts, depth = [], 0
    for row, line in enumerate(lines):
        if depth == 0 and line[:1].isalpha() and STATEMENT_START.match(line):
            starts.append(row)
        for _column, char in _brackets(line):
            depth = max(depth + (1 if char in CLOSERS else -1), 0)
    return starts


class PieceParser:
    """`parse(text, filename)`: what `parse_recovering(text, filename)` returns, reusing the
    statements of pieces parsed before."""

    def __init__(self, capacity: int = CACHE_PIECES) -> None:
        self.capacity = capacity
        self.pieces: OrderedDict[tuple[int, str], tuple[ast.Statement, ...]] = OrderedDict()
        self.lock = threading.Lock()
        self.parsed = 0  # pieces parsed (not found remembered): what a test or bench can count

    def parse(self, text: str, filename: str) -> tuple[ast.Module, list[SpecError]]:
        lines = text.split("\n")
        starts = statement_starts(lines)
        if len(starts) < 2:
            return parse_recovering(text, filename)
        bounds = [0, *starts[1:], len(lines)]
        statements: list[ast.Statement] = []
        for start, end in zip(bounds, bounds[1:]):
            key = (start, "\n".join(lines[start:end]))
            with self.lock:
                found = self.pieces.get(key)
                if found is not None:
                    self.pieces.move_to_end(key)
            if found is None:
                module, errors = parse_recovering("\n" * start + key[1], filename)
                if errors:
                    return parse_recovering(text, filename)
                found = module.statements
                with self.lock:
                    self.parsed += 1
                    self.pieces[key] = found
                    while len(self.pieces) > self.capacity:
                        self.pieces.popitem(last=False)
            statements += found
        return ast.Module(tuple(statements), filename, text), []
