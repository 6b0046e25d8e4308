"""The statement-piece parse of the language server (xexp/lsp/pieces.py) is the compiler's parse:
the same statements with the same spans for every spec of the repository and for edits of them,
the compiler's own syntax errors when there are any, and one piece parsed again per edited line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from xexp.compiler.parser import parse_recovering
from xexp.lsp.pieces import PieceParser, statement_starts
from test_contracts import spec_files

REPO = Path(__file__).resolve().parents[1]
SPECS = [*spec_files(REPO / "specs"), *spec_files(REPO / "tests" / "specs")]  # files, not a demo store


def dump(node):
    """Everything of an AST node, spans included (AST equality leaves spans out)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return type(node).__name__, tuple((f.name, dump(getattr(node, f.name))) for f in dataclasses.fields(node))
    if isinstance(node, tuple):
        return tuple(dump(item) for item in node)
    return node


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_pieces_give_the_whole_parse(spec):
    text = spec.read_text(encoding="utf-8")
    whole, errors = parse_recovering(text, str(spec))
    assert not errors
    pieces = PieceParser()
    module, piece_errors = pieces.parse(text, str(spec))
    assert piece_errors == [] and dump(module.statements) == dump(whole.statements)
    assert pieces.parsed == len(statement_starts(text.split("\n"))) > 1
    edited = text.replace("experiment ", "experiment  ", 1) + "\n# a comment\n"
    module, _ = pieces.parse(edited, str(spec))
    assert dump(module.statements) == dump(parse_recovering(edited, str(spec))[0].statements)


def test_an_edited_line_reparses_its_piece_only():
    text = (REPO / "specs" / "phang2020.xexp").read_text(encoding="utf-8")
    pieces = PieceParser()
    pieces.parse(text, "p.xexp")
    before = pieces.parsed
    edited = text.replace("task snli      =", "task snli_x    =")
    module, _ = pieces.parse(edited, "p.xexp")
    assert pieces.parsed == before + 1
    assert dump(module.statements) == dump(parse_recovering(edited, "p.xexp")[0].statements)


def test_syntax_errors_are_the_compilers():
    text = (REPO / "specs" / "demo.xexp").read_text(encoding="utf-8")
    broken = text.replace("languages    = [en de fr hi zh]", "languages    = [en de fr hi zh").replace(
        "seeds        = [1]", "seeds        = ]1]")
    module, errors = PieceParser().parse(broken, "demo.xexp")
    whole, expected = parse_recovering(broken, "demo.xexp")
    assert [e.render() for e in errors] == [e.render() for e in expected] and len(errors) == 2
    assert dump(module.statements) == dump(whole.statements)
