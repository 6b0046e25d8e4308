"""Fuzzing the compiler: whatever the text, only a SpecError comes out, and it renders.

No RecursionError, no lark or pydantic exception, no KeyError/TypeError/AssertionError may
escape `compile_text`; every error points inside the file, at the line it names. Where the text
parses, `fmt` must print something that parses back to the same tree.

Three sources of text, about 1,500 examples in all: arbitrary characters, soups of the
language's own tokens, and mutations of valid specs (the richest: almost-valid input).
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xexp.compiler import SpecError, compile_text, parse, parse_recovering
from xexp.compiler.fmt import format_module
from xexp.compiler.languages import KNOWN_LANGUAGES
from xexp.compiler.registry import REGISTRY

SPECS = Path(__file__).resolve().parent / "specs"

SMALL_VALID = """\
experiment fuzz
var data = "d"
model m = tiny(layers=1)
task src = nli(local("{data}/src.jsonl"), train="train[:100]", dev="dev")
task tgt = nli(local("{data}/{lang}.jsonl"), test="test")
intermediate = [none src]
target = tgt trained_on src
languages = [en de hi]
seeds = [1, 2]
perturbations {
  typo = char_noise(p=0.1) in [en de]
  neg  = stress("negation") on hypothesis
  atk  = char_attack(max_edits=2)
  cs   = code_switch(lexicon=muse("{data}/en-{lang}.txt"), p=.5) in [de hi]
}
train intermediate { lr=sweep[1e-5, 2e-5] epochs=1 }
train target { batch=16 }
resources { train.gpus=1 evaluate.gpus=0.5 load.memory="2GB" }
report { baseline=none ci=0.9 }
"""

BASES = [SMALL_VALID, *(p.read_text(encoding="utf-8") for p in sorted(SPECS.glob("compiler_*.xexp")))]

REGISTERED = sorted({entry.name for category in ("task_type", "data_source", "model_source", "perturbation",
                                                 "attack", "lexicon") for entry in REGISTRY.of(category)})
WORDS = ["experiment", "model", "task", "var", "intermediate", "target", "languages", "seeds", "perturbations",
         "train", "evaluate", "resources", "report", "trained_on", "on", "in", "sweep", "none", "true", "null",
         "premise", "hypothesis", "both", "lr", "batch", "epochs", "p", "gpus", "train.gpus", "evaluate.gpus",
         "load.memory", "baseline", "ci", "bootstrap", "limit", "src", "tgt", "xnli", "mnli", "typo", "clean",
         *REGISTERED, *sorted(KNOWN_LANGUAGES)[:8], "xx"]
PUNCTUATION = ["=", "(", ")", "[", "]", "{", "}", ",", ".", "#", '"']
STRINGS = ['"train"', '"test[:10]"', '"dev[5:2]"', '"{lang}"', '"{data}/x.jsonl"', '"{nope}"', '"a\\"b"', '"\\\\"',
           '""', '"2GiB"', '"negation"', '"insert|swap"', '"ünï 中文"']
NUMBERS = ["0", "1", "-3", ".5", "1e-5", "2.", "+7", "1e999", "9" * 40, "0.5", "100000", "-0"]
COMMENTS = ["# comment\n", "#\n", "# { [ ( unbalanced\n"]
SEPARATORS = [" ", " ", "\n", "", "  ", "\t", "\r\n"]
TOKENS = WORDS + PUNCTUATION + STRINGS + NUMBERS + COMMENTS
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")



def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def compiles_or_spec_error(text: str, variables: dict[str, str] | None = None) -> None:
    """The property: compile_text returns, or raises a SpecError that renders and points inside the file."""
    try:
        _spec, graph = compile_text(text, "fuzz.xexp", variables)
    except SpecError as err:
        rendered = err.render()
        assert isinstance(rendered, str) and rendered
        lines = text.split("\n")
        where = [(e.message, e.line, e.column) for e in err.errors]
        assert len(where) == len(set(where)), "an error is reported twice"
        for error in err.errors:
            assert isinstance(error, SpecError) and error.message
            assert 0 <= error.line <= len(lines), (error.line, len(lines))
            if error.line > 0:
                assert error.column >= 1
                assert f"fuzz.xexp:{error.line}:{error.column}: error: " in rendered
                assert error.source_line == lines[error.line - 1].removesuffix("\r")
    else:
        done: set[str] = set()
        for node in graph.nodes:  # a graph that comes out is well formed
            assert set(node.inputs.values()) <= done
            done.add(node.key)


def formats_back_to_the_same_tree(text: str) -> None:
    module, syntax_errors = parse_recovering(text, "fuzz.xexp")
    if syntax_errors:
        return
    formatted = format_module(module)
    reparsed = parse(formatted, "fuzz.xexp")
    assert reparsed == module, formatted
    assert format_module(reparsed) == formatted
    for comment in module.comments:
        assert comment.text in formatted, comment


# --- strategies ----------------------------------------------------------------------------------

grammar_characters = st.sampled_from(list("=()[]{},.#\"\\ \n\t-+_eE0123456789abcdefghijklmnopqrstuvwxyz"))
arbitrary_text = st.text(alphabet=grammar_characters | st.characters(exclude_categories=("Cs",)), max_size=300)


@st.composite
def token_soup(draw) -> str:
    tokens = draw(st.lists(st.sampled_from(TOKENS), max_size=80))
    out = []
    for token in tokens:
        out.append(token)
        out.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(out)


@st.composite
def mutated_spec(draw) -> str:
    text = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = min(len(text), i + draw(st.integers(1, 40)))
        operation = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "replace", "replace", "line"]))
        if operation == "delete":
            text = text[:i] + text[j:]
        elif operation == "insert":
            piece = draw(st.sampled_from(TOKENS) | st.text(max_size=3))
            text = text[:i] + piece + text[i:]
        elif operation == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif operation == "swap":
            k = draw(st.integers(0, len(text) - 1))
            a, b = sorted((i, k))
            text = text[:a] + text[b] + text[a + 1:b] + text[a] + text[b + 1:] if a != b else text
        elif operation == "replace":  # a name for another name of the file or of the language
            names = list(IDENTIFIER.finditer(text))
            if names:
                target = names[draw(st.integers(0, len(names) - 1))]
                other = draw(st.sampled_from([m.group(0) for m in names] + WORDS))
                text = text[:target.start()] + other + text[target.end():]
        else:  # move, drop or repeat a whole line
            lines = text.split("\n")
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            choice = draw(st.integers(0, 2))
            if choice == 0:
                lines[a], lines[b] = lines[b], lines[a]
            elif choice == 1:
                del lines[a]
            else:
                lines.insert(a, lines[b])
            text = "\n".join(lines)
    return text


GOOD_PERTURBATIONS = [
    "char_noise(p=0.1)", "char_noise(0.2, ops=\"swap|delete\")", "keyboard_typo(0.2)", "homoglyph()",
    "strip_diacritics()", "case_noise(p=0.3)", "space_noise(ops=[insert])", "word_shuffle(window=3)", "word_drop()",
    "word_repeat(p=.5)", "stress(\"negation\")", "stress(\"length_mismatch\", language=\"en\")",
    "code_switch(lexicon=muse(\"{data}/en-{lang}.txt\"))", "code_switch(lexicon=synthetic(), to=\"de\")",
    "char_attack(max_edits=2)", "codeswitch_attack([de], lexicon=synthetic())",
]
BAD_PERTURBATIONS = ["char_nose()", "char_noise(p=2)", "stress()", "word_shuffle(window=\"x\")", "homoglyph(q=1)",
                     "code_switch(lexicon=muse())", "codeswitch_attack(\"xx\", lexicon=1)", "char_attack(1, 2, 3)"]
GOOD_SETTINGS = {
    "train": ["lr=1e-5", "lr=sweep[1e-5, 3e-5]", "batch=16", "batch=sweep[8 16]", "epochs=1", "max_len=64",
              "warmup=0", "weight_decay=0.1", "grad_accum=2", "clip=1", "max_steps=10", "freeze_embeddings=true"],
    "evaluate": ["batch=8", "max_len=64", "limit=20"],
    "report": ["baseline=none", "ci=0.9", "bootstrap=200", "seed=3", "examples=2"],
    "resources": ["train.gpus=1", "train.cpus=2", "evaluate.gpus=0.5", "attack.memory=\"2GiB\"", "load.cpus=0.5"],
}
BAD_SETTINGS = ["lr=-1", "batch=2.5", "epochs=sweep[]", "bogus=1", "ci=1.5", "baseline=mid", "gpus=1",
                "train.gpus=1.5", "limit=0", "train.memory=\"lots\"", "x=1e999", "lr=\"fast\"", "a.b=1 on premise"]
LANGUAGE_CHOICES = ["en", "de", "fr", "hi", "zh", "th", "ar", "sw"]


def sometimes_wrong(draw, good: list[str], bad: list[str]) -> str:
    """Mostly a valid choice, now and then an invalid one: specs that often reach lowering."""
    # (a middle value: Hypothesis draws the ends of a range far more often than 1 in 30)
    return draw(st.sampled_from(bad)) if draw(st.integers(0, 29)) == 17 else draw(st.sampled_from(good))


@st.composite
def generated_spec(draw) -> str:
    """A whole spec assembled from the statement shapes, mostly valid with occasional errors:
    it reaches validation and lowering far more often than raw mutations do."""
    wrong = lambda good, bad: sometimes_wrong(draw, good, bad)  # noqa: E731
    lines = ["experiment " + wrong(["gen", "on", "x-y"], ["", "a b"]), 'var data = "d"',
             "model m = " + wrong(["tiny()", "tiny(layers=1)", 'hf("x")', 'packaged("multilingual-e5-small")'],
                                  ["tinyy()", "tiny(0)", "hf()", '"m"'])]
    kinds = ["nli", "paraphrase", "extractive_qa", "multiple_choice"]
    lines.append('task src = nli(local("{data}/src.jsonl"), train="train", dev="dev[:10]")')
    mid_source = wrong(["synthetic()", 'hf("m")'], ['"m"'])
    mid_split = wrong(['train="train"', 'train="train[5:9]"'], ['dev="dev"', 'train="t[5:1]"'])
    lines.append(f"task mid = {wrong(kinds, ['nil'])}({mid_source}, {mid_split})")
    target_source = wrong(['local("{data}/{lang}.jsonl")', "synthetic()", 'hf("xnli", "{lang}")'], ['local("a.jsonl")'])
    target_split = wrong(['test="test"', 'dev="dev"'], ['train="train"'])
    lines.append(f"task tgt = nli({target_source}, {target_split})")
    variants = ["none", *draw(st.lists(st.sampled_from(["mid", "src"]), unique=True))]
    lines.append(f"intermediate = [{' '.join(draw(st.permutations(variants)))} {wrong([''], ['tgt', 'none', 'mdi'])}]")
    lines.append("target = " + wrong(["tgt trained_on src"], ["tgt trained_on mid", "src trained_on tgt", "tgt"]))
    languages = draw(st.lists(st.sampled_from(LANGUAGE_CHOICES), min_size=1, max_size=4, unique=True))
    lines.append(f"languages = [{' '.join(languages)} {wrong([''], ['xx', 'en', 'EN'])}]")
    seeds = draw(st.lists(st.integers(0, 9), min_size=1, max_size=3, unique=True))
    lines.append(f"seeds = [{' '.join(str(seed) for seed in seeds)}]")
    entries = []
    for i in range(draw(st.integers(0, 5))):
        entry = f"  p{i} = {wrong(GOOD_PERTURBATIONS, BAD_PERTURBATIONS)}"
        if draw(st.integers(0, 3)) == 0:
            entry += " on " + wrong(["premise", "hypothesis", "both"], ["title"])
        if draw(st.integers(0, 2)) == 0:
            subset = draw(st.lists(st.sampled_from(languages), min_size=1, unique=True))
            entry += f" in [{' '.join(subset)} {wrong([''], ['xx', 'ko'])}]"
        entries.append(entry)
    lines.append("perturbations {\n" + "\n".join(entries) + "\n}")
    for block, label in draw(st.lists(st.sampled_from([("train", "intermediate"), ("train", "target"),
                                                        ("train", "src"), ("evaluate", ""), ("report", ""),
                                                        ("resources", "")]), unique=True, max_size=5)):
        settings_ = draw(st.lists(st.sampled_from(GOOD_SETTINGS[block]), unique_by=lambda x: x.split("=")[0],
                                  max_size=4))
        if draw(st.integers(0, 7)) == 0:
            settings_.append(draw(st.sampled_from(BAD_SETTINGS)))
        lines.append(f"{block}{' ' + label if label else ''} {{ {' '.join(settings_)} }}")
    if draw(st.integers(0, 9)) == 0:
        lines = draw(st.permutations(lines))
    return "\n".join(lines) + "\n"


variables = st.none() | st.dictionaries(st.sampled_from(["data", "nope", "lang"]), st.text(max_size=8), max_size=2)


# --- the tests -----------------------------------------------------------------------------------


@fuzz(300)
@given(arbitrary_text)
def test_arbitrary_text(text):
    compiles_or_spec_error(text)
    formats_back_to_the_same_tree(text)


@fuzz(350)
@given(token_soup())
def test_token_soup(text):
    compiles_or_spec_error(text)
    formats_back_to_the_same_tree(text)


@fuzz(450)
@given(mutated_spec(), variables)
def test_mutated_specs(text, overrides):
    compiles_or_spec_error(text, overrides)
    formats_back_to_the_same_tree(text)


@fuzz(400)
@given(generated_spec())
def test_generated_specs(text):
    compiles_or_spec_error(text)
    formats_back_to_the_same_tree(text)


def test_the_bases_are_valid_specs():
    for text in BASES:
        compile_text(text, "base.xexp")


def test_pathological_inputs():
    """Inputs found by fuzzing or by hand that once crashed a stage of the compiler."""
    header = SMALL_VALID
    for text in [
        "x = " + "[" * 3000 + "]" * 3000,                       # recursion in the tree transformer
        "x = " + "f(" * 500 + ")" * 500,
        "report { x = " + "{a=" * 400 + "1" + "}" * 400 + " }",
        "seeds = [" + "9" * 5000 + "]",                          # int() refuses > 4300 digits
        header.replace("train.gpus=1", "train.gpus=1e999"),       # float('inf') -> int()
        header.replace('load.memory="2GB"', "load.memory=1e999"),
        header.replace('load.memory="2GB"', 'load.memory="' + "9" * 400 + 'TB"'),
        header.replace("epochs=1", "epochs=1e999"),               # inf in a key's canonical JSON
        header.replace("lr=sweep[1e-5, 2e-5]", "lr=sweep[1e999]"),
        header.replace('"train[:100]"', '"train[' + "9" * 30 + ':]"'),
        header.replace("lr=sweep[1e-5, 2e-5]", "lr=sweep[]"),
        "\x00\x0c\u2028\u00a0",
        'x = "\\',
        header.replace("\n", "\r"),
        header.replace("# ", "\x0c# "),
    ]:
        compiles_or_spec_error(text)
