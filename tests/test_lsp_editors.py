"""The editor package: its TextMate grammar is generated from grammar/xexp.lark and the
registry (and colours every token of the repository's specs as lark lexes it); the VS Code
extension's files are valid and point at each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from xexp.compiler.parser import _lark
from xexp.lsp.textmate import render, terminals
from test_contracts import spec_files

REPO = Path(__file__).resolve().parents[1]
VSCODE = REPO / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "xexp.tmLanguage.json"
SPECS = [*spec_files(REPO / "specs"), *spec_files(REPO / "tests" / "specs")]  # files, not a demo store


#: The grammar's terminal behind each rule of the editor grammar: each token of the specs, lexed
#: by the grammar itself, must match its rule's pattern.
RULE_OF_TERMINAL = {"NAME": "name", "NUMBER": "number", "STRING": "string", "COMMENT": "comment"}


def test_the_committed_grammar_is_the_generated_one():
    assert GRAMMAR.read_text(encoding="utf-8") == render(), \
        "regenerate: python -m xexp.lsp.textmate > editors/vscode/syntaxes/xexp.tmLanguage.json"


def test_token_rules_are_the_lark_terminals():
    rules = json.loads(GRAMMAR.read_text(encoding="utf-8"))["repository"]
    found = terminals()
    assert rules["name"]["match"] == found["NAME"][1]
    assert rules["string"]["match"] == found["STRING"][1]
    assert rules["comment"]["match"] == found["COMMENT"][1]
    assert rules["number"]["match"].endswith(found["NUMBER"][1])
    keywords = {value for kind, value in found.values() if kind == "str" and value.isidentifier()}
    assert keywords == {"on", "in", "sweep", "trained_on"}
    assert all(re.search(rules["keyword"]["match"], f" {k} ") for k in keywords)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_token_of_the_specs_is_coloured_by_its_rule(spec):
    rules = json.loads(GRAMMAR.read_text(encoding="utf-8"))["repository"]
    text = spec.read_text(encoding="utf-8")
    checked = 0
    for token in _lark().lex(text, dont_ignore=True):
        rule = RULE_OF_TERMINAL.get(token.type)
        if rule is None:
            continue
        assert re.fullmatch(rules[rule]["match"], str(token)), (token.type, str(token))
        checked += 1
    if token_words := [str(t) for t in _lark().lex(text) if t.type in ("ON", "IN", "SWEEP", "TRAINED_ON")]:
        line_words = re.findall(rules["keyword"]["match"], re.sub(r'"([^"\\\n]|\\.)*"|#[^\n]*', " ", text))
        assert sorted(token_words) == sorted(line_words)
    assert checked > 10


def test_the_vscode_extension_points_at_its_files():
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = package["contributes"]["languages"]
    (grammar,) = package["contributes"]["grammars"]
    assert language["extensions"] == [".xexp"] and grammar["language"] == language["id"] == "xexp"
    assert (VSCODE / grammar["path"]).resolve() == GRAMMAR
    assert json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))["comments"] == {
        "lineComment": "#"}
    assert (VSCODE / package["main"]).is_file()
    assert package["contributes"]["configuration"]["properties"]["xexp.server.command"]["default"] == ["xexp", "lsp"]
    assert '"lsp"' in (VSCODE / "extension.js").read_text(encoding="utf-8")
