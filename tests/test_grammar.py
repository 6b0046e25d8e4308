"""The grammar: every statement shape and value form parses into the AST it should.

These tests pin the *syntax* (tokens -> typed AST); what a statement means is the validator's
job and is tested in test_errors.py and test_keys.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xexp.compiler import SpecError, compile_text, parse
from xexp.compiler import ast

SPECS = Path(__file__).resolve().parent / "specs"


def only(text: str) -> ast.Statement:
    module = parse(text, "g.xexp")
    assert len(module.statements) == 1, module.statements
    return module.statements[0]


def value_of(text: str) -> ast.Value:
    """The value of `x = TEXT`."""
    st = only(f"x = {text}")
    assert isinstance(st, ast.Assignment)
    return st.value


# --- statement shapes ------------------------------------------------------------------------


def test_header_declaration_assignment_and_blocks():
    module = parse(
        'experiment study\n'
        'model enc = hf("FacebookAI/xlm-roberta-large")\n'
        'languages = [en de]\n'
        'train target { lr=1e-5 batch=32 }\n'
        'resources { train.gpus=1 }\n'
        'report {}\n',
        "g.xexp",
    )
    header, declaration, assignment, labelled, unlabelled, empty = module.statements
    assert isinstance(header, ast.Header) and (header.keyword.name, header.name.name) == ("experiment", "study")
    assert isinstance(declaration, ast.Declaration)
    assert (declaration.keyword.name, declaration.name.name) == ("model", "enc")
    assert declaration.value == ast.Call("hf", (ast.Argument(None, ast.Str("FacebookAI/xlm-roberta-large")),))
    assert isinstance(assignment, ast.Assignment) and assignment.name.name == "languages"
    assert isinstance(labelled, ast.Block) and labelled.label == ast.Name("target")
    assert [e.key for e in labelled.entries] == ["lr", "batch"]
    assert isinstance(unlabelled, ast.Block) and unlabelled.label is None
    assert unlabelled.entries[0].key == "train.gpus"  # dotted key
    assert isinstance(empty, ast.Block) and empty.entries == ()


def test_statements_may_share_a_line_and_span_lines():
    module = parse("experiment a model m = tiny() languages = [\n en\n de\n]", "g.xexp")
    assert [type(s).__name__ for s in module.statements] == ["Header", "Declaration", "Assignment"]
    languages = module.statements[2]
    assert languages.span.line == 1 and languages.span.end_line == 4


def test_spans_point_at_the_source():
    module = parse("experiment a\n\n  task t = nli(hf(\"x\"))\n", "g.xexp")
    task = module.statements[1]
    assert (task.span.line, task.span.column) == (3, 3)
    assert (task.name.span.line, task.name.span.column, task.name.span.end_column) == (3, 8, 9)
    assert (task.value.name_span.line, task.value.name_span.column) == (3, 12)


# --- comments --------------------------------------------------------------------------------


def test_comments_are_ignored_by_the_parser_but_kept_with_positions():
    text = ('# leading\n'
            'experiment a   # trailing\n'
            'var s = "not # a comment"\n'
            '  # indented\n')
    module = parse(text, "g.xexp")
    assert len(module.statements) == 2
    assert module.statements[1].value == ast.Str("not # a comment")
    assert [(c.text, c.line, c.column) for c in module.comments] == [
        ("# leading", 1, 1), ("# trailing", 2, 16), ("# indented", 4, 3)]


def test_a_comment_inside_a_multiline_list():
    value = value_of("[en  # English\n de  # German\n]")
    assert value == ast.ListValue((ast.Name("en"), ast.Name("de")))


# --- lists, maps, sweeps ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "[a b c]", "[a, b, c]", "[a, b c]", "[a b c,]", "[\n  a\n  b,\n  c\n]", "[ a,b,c ]",
])
def test_lists_with_or_without_commas(text):
    assert value_of(text) == ast.ListValue((ast.Name("a"), ast.Name("b"), ast.Name("c")))


def test_empty_and_nested_lists():
    assert value_of("[]") == ast.ListValue(())
    assert value_of("[[1 2] [3]]") == ast.ListValue((
        ast.ListValue((ast.Num(1), ast.Num(2))), ast.ListValue((ast.Num(3),))))


def test_maps_with_names_dotted_and_quoted_keys():
    value = value_of('{premise="s1" a.b=2 "0"=entailment nested={x=[1 2]}}')
    assert isinstance(value, ast.MapValue)
    assert [e.key for e in value.entries] == ["premise", "a.b", "0", "nested"]
    assert value.entries[0].value == ast.Str("s1")
    assert value.entries[2].value == ast.Name("entailment")
    assert value.entries[3].value == ast.MapValue((ast.Entry("x", ast.ListValue((ast.Num(1), ast.Num(2)))),))


def test_labels_map_from_raw_values_compiles():
    """`labels={"0"=entailment …}` (documented for hf/local sources) must be expressible."""
    text = (SPECS / "compiler_features.xexp").read_text(encoding="utf-8")
    spec, _graph = compile_text(text, "compiler_features.xexp")
    source = spec.tasks["pairs"].splits["train"].source
    assert source["labels"] == {"0": "entailment", "1": "neutral", "2": "contradiction"}
    assert source["columns"] == {"premise": "s1", "hypothesis": "s2"}


@pytest.mark.parametrize("text", ["sweep[1e-5, 2e-5, 3e-5]", "sweep[1e-5 2e-5 3e-5]", "sweep[\n1e-5\n2e-5,\n3e-5]"])
def test_sweeps(text):
    value = value_of(text)
    assert isinstance(value, ast.Sweep)
    assert [n.value for n in value.items.items] == [1e-5, 2e-5, 3e-5]


def test_trained_on():
    value = value_of("xnli trained_on mnli")
    assert value == ast.TrainedOn(ast.Name("xnli"), ast.Name("mnli"))


# --- perturbation entries: `on FIELD` and `in [languages]` ------------------------------------


def test_on_field_and_in_languages():
    block = only("perturbations {\n"
                 "  a = char_noise(p=0.1)\n"
                 "  b = stress(\"negation\") on hypothesis\n"
                 "  c = keyboard_typo(0.1) in [de fr]\n"
                 "  d = homoglyph() on premise in [ru, bg]\n"
                 "}")
    a, b, c, d = block.entries
    assert (a.on, a.languages) == (None, None)
    assert b.on == ast.Name("hypothesis") and b.languages is None
    assert c.on is None and c.languages == ast.ListValue((ast.Name("de"), ast.Name("fr")))
    assert d.on == ast.Name("premise") and d.languages == ast.ListValue((ast.Name("ru"), ast.Name("bg")))


# --- calls -----------------------------------------------------------------------------------


def test_calls_positional_keyword_nested_and_trailing_comma():
    value = value_of('nli(hf("glue", "mnli"), train="train", dev=local("d.jsonl",),)')
    assert isinstance(value, ast.Call) and value.name == "nli"
    first, train, dev = value.args
    assert first.key is None and first.value == ast.Call("hf", (ast.Argument(None, ast.Str("glue")),
                                                                ast.Argument(None, ast.Str("mnli"))))
    assert (train.key, train.value) == ("train", ast.Str("train"))
    assert dev.key == "dev" and dev.value == ast.Call("local", (ast.Argument(None, ast.Str("d.jsonl")),))
    assert value_of("f()") == ast.Call("f", ())


# --- scalars ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source, expected", [
    (r'"plain"', "plain"),
    (r'"a \"quoted\" word"', 'a "quoted" word'),
    (r'"back\\slash"', "back\\slash"),
    (r'"tab\tnewline\nreturn\r"', "tab\tnewline\nreturn\r"),
    (r'"unknown \q escape kept"', "unknown \\q escape kept"),
    (r'"{lang} and {data}"', "{lang} and {data}"),
    ('"ünïcödé 中文 हिन्दी"', "ünïcödé 中文 हिन्दी"),
    ('""', ""),
])
def test_strings_and_escapes(source, expected):
    assert value_of(source) == ast.Str(expected)


@pytest.mark.parametrize("source, expected, kind", [
    ("1e-5", 1e-5, float), ("-3", -3, int), (".5", 0.5, float), ("+2", 2, int), ("3.", 3.0, float),
    ("1E5", 1e5, float), ("2.5e+3", 2500.0, float), ("0", 0, int), ("-0.25", -0.25, float),
])
def test_numbers(source, expected, kind):
    value = value_of(source)
    assert isinstance(value, ast.Num) and value.value == expected and type(value.value) is kind
    assert value.text == source  # kept verbatim for fmt


def test_names_may_contain_dashes_and_digits():
    assert value_of("multilingual-e5_small2") == ast.Name("multilingual-e5_small2")


# --- structure, not layout -------------------------------------------------------------------


def test_layout_does_not_change_the_tree():
    compact = parse('experiment a\nlanguages=[en,de]\nreport{ci=0.9 bootstrap=200}', "a.xexp")
    airy = parse('experiment   a\r\n\r\nlanguages =\n  [ en\n    de ]   # c\r\n'
                 'report {\n ci = 0.9\n bootstrap = 200\n}\n', "b.xexp")
    assert compact == airy


def test_different_trees_compare_unequal():
    assert parse("x = [a b]", "a") != parse("x = [b a]", "a")
    assert parse('x = "1"', "a") != parse("x = 1", "a")


@pytest.mark.parametrize("text", ["x = [a b", "experiment", "x = = 1", "model m = hf(", "report { a = }"])
def test_malformed_text_is_a_spec_error(text):
    with pytest.raises(SpecError) as info:
        parse(text, "bad.xexp")
    assert info.value.line >= 1


def test_no_parser_cache_is_read_or_written_so_a_planted_pickle_runs_nothing(tmp_path):
    """lark's cache is a pickle: xexp neither writes one nor reads one planted where the old
    versions kept it ($XEXP_CACHE/parser/), whatever its name."""
    import os
    import pickle
    import subprocess
    import sys

    marker = tmp_path / "code-ran"

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    import hashlib
    from importlib import resources

    import lark

    grammar = resources.files("xexp.grammar").joinpath("xexp.lark").read_text(encoding="utf-8")
    # the very name the cached versions read: sha256 of lark's version and the grammar
    digest = hashlib.sha256(f"{lark.__version__}\n{grammar}".encode()).hexdigest()[:16]
    names = [f"xexp-{digest}.lark.cache", "anything.cache"]
    folder = tmp_path / "parser"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"0" * 64 + b"\n" + pickle.dumps(Planted()))  # lark's layout
    code = ("from xexp.compiler import compile_text; "
            "s, g = compile_text('experiment a\\nmodel m = tiny()\\ntask t = nli(synthetic(\"nli\"), train=\"train\", "
            "test=\"test\")\\ntarget = t trained_on t\\nlanguages = [en]\\n'); print(len(g.nodes))")
    env = {**os.environ, "XEXP_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0 and not marker.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
