"""Acceptance tests of the perturbation library, for every perturbation x every language it
declares, on 50 real XNLI dev sentences per language."""

from __future__ import annotations

import json
import math
import unicodedata
from functools import lru_cache
from pathlib import Path

import pytest

import needs
from xexp.compiler.languages import SCRIPTS, XNLI_LANGUAGES
from xexp.compiler.registry.base import REGISTRY
from xexp.runtime.robustness import perturbations as P
from xexp.runtime.robustness.perturbations.alphabets import ALPHABETS
from xexp.runtime.robustness.perturbations.casing import flip_case
from xexp.runtime.robustness.perturbations.diacritics import stripped
from xexp.runtime.robustness.perturbations.homoglyph import homoglyph_options
from xexp.runtime.robustness.perturbations.keyboard import typo_options
from xexp.runtime.robustness.perturbations.stress import TAUTOLOGIES
from xexp.runtime.robustness.perturbations.text import graphemes, script_of_text, words

N_SENTENCES = 50
RATE = 0.2

#: name -> params used in the generic tests (code_switch gets its lexicon per language)
GENERIC = {
    "char_noise": {"p": RATE},
    "keyboard_typo": {"p": RATE},
    "homoglyph": {"p": RATE},
    "strip_diacritics": {"p": 0.5},
    "case_noise": {"p": RATE},
    "space_noise": {"p": RATE},
    "word_shuffle": {"window": 3},
    "word_drop": {"p": RATE},
    "word_repeat": {"p": RATE},
    "stress": {"test": "negation"},
}
RATED = {name: params["p"] for name, params in GENERIC.items() if "p" in params}


def _data(*parts: str) -> Path:
    return needs.data(*parts)


@lru_cache(maxsize=None)
def sentences(lang: str, n: int = N_SENTENCES) -> tuple[str, ...]:
    """50 distinct premises (XNLI repeats each premise for its three hypotheses; duplicates
    would get identical, correlated draws and break the rate statistics)."""
    unique: dict[str, None] = {}
    with _data("xnli", f"dev.{lang}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            unique.setdefault(json.loads(line)["premise"], None)
            if len(unique) == n:
                break
    return tuple(unique)


def supported(name: str) -> list[str]:
    languages = REGISTRY.get("perturbation", name).languages
    return [lang for lang in XNLI_LANGUAGES if languages is None or lang in languages]


CASES = [(name, lang) for name in GENERIC for lang in supported(name)]


# ---------------------------------------------------------------- determinism and order


@pytest.mark.parametrize("name,lang", CASES)
def test_deterministic_and_independent_of_order(name, lang):
    texts = list(sentences(lang))
    first = [P.apply(name, t, lang=lang, seed=7, **GENERIC[name]) for t in texts]
    again = [P.apply(name, t, lang=lang, seed=7, **GENERIC[name]) for t in texts]
    backwards = [P.apply(name, t, lang=lang, seed=7, **GENERIC[name]) for t in reversed(texts)]
    assert first == again
    assert first == backwards[::-1]
    assert sum(out != t for out, t in zip(first, texts)) > 0, "the perturbation never changed anything"
    if name not in ("stress", "strip_diacritics"):
        other_seed = [P.apply(name, t, lang=lang, seed=8, **GENERIC[name]) for t in texts]
        assert other_seed != first, "the seed has no effect"


# ---------------------------------------------------------------- well-formed output


def _produced(name: str, text: str, lang: str) -> set[str]:
    """Graphemes a perturbation may deliberately create from `text`."""
    clusters = set(graphemes(text))
    if name == "char_noise":  # letters of the scripts the text's words are written in
        scripts = {script_of_text(w.text) for w in words(text, lang)}
        letters = {g for code, alphabet in ALPHABETS.items() if SCRIPTS[code] in scripts
                   for g in graphemes(alphabet)}
        return letters | {g.upper() for g in letters} | {"İ"}
    if name == "keyboard_typo":
        # an edited cluster may re-cluster (क्ष with its virama replaced is two graphemes)
        return {g for c in clusters for option in typo_options(c, lang) for g in graphemes(option)}
    if name == "homoglyph":
        return {g for c in clusters for option in homoglyph_options(c) for g in graphemes(option)}
    if name == "strip_diacritics":
        return {g for c in clusters if stripped(c) for g in graphemes(stripped(c))}
    if name == "case_noise":
        return {flip_case(c, lang) for c in clusters} - {None}
    if name in ("space_noise", "word_repeat"):  # a space between words / around a Latin word
        return {" "}
    if name == "stress":
        return {g for phrases in TAUTOLOGIES.values() for p in phrases for g in graphemes(" " + p)}
    return set()


def _composed_of(cluster: str, allowed: set[str]) -> bool:
    """`cluster` is a concatenation of allowed graphemes (neighbours can re-cluster, e.g. a
    Devanagari consonant + virama followed by a consonant)."""
    reachable = {0}
    for end in range(1, len(cluster) + 1):
        if any(start in reachable and cluster[start:end] in allowed for start in range(end)):
            reachable.add(end)
    return len(cluster) in reachable


def assert_well_formed(name: str, text: str, out: str, lang: str) -> None:
    out.encode("utf-8")  # no lone surrogates
    assert "\ufffd" not in out or "\ufffd" in text
    if unicodedata.is_normalized("NFC", text):
        assert unicodedata.is_normalized("NFC", out), f"{name}: output not NFC: {out!r}"
    allowed = set(graphemes(text)) | _produced(name, text, lang)
    for cluster in graphemes(out):
        if cluster in allowed:
            continue
        assert unicodedata.category(cluster[0])[0] != "M", f"{name}: orphaned mark {cluster!r} in {out!r}"
        assert _composed_of(cluster, allowed), f"{name}: grapheme {cluster!r} from nowhere in {out!r}"


@pytest.mark.parametrize("name,lang", CASES)
def test_output_is_well_formed_text(name, lang):
    for text in sentences(lang):
        out = P.apply(name, text, lang=lang, seed=3, **GENERIC[name])
        assert_well_formed(name, text, out, lang)


# ---------------------------------------------------------------- rates


#: rates are measured over at least this many units (more sentences for rare units such as
#: Russian ё/й), at most 400 distinct sentences
MIN_UNITS = 300


def rate_sentences(lang: str) -> tuple[str, ...]:
    return sentences(lang, 400)


def _close_to(rate: float, changed: int, units: int) -> bool:
    assert units >= 100, f"too few units ({units}) to measure a rate"
    tolerance = 4 * math.sqrt(rate * (1 - rate) / units) + 0.01
    return abs(changed / units - rate) <= tolerance


@pytest.mark.parametrize("name,lang", [(n, l) for n, l in CASES if n in RATED])
def test_reported_rate_is_close_to_p(name, lang):
    changed = units = 0
    for text in rate_sentences(lang):
        result = P.outcome(name, text, lang=lang, seed=11, **GENERIC[name])
        changed += result.changed
        units += result.units
        if units >= MIN_UNITS:
            break
    assert _close_to(RATED[name], changed, units), f"{name}/{lang}: {changed}/{units} vs p={RATED[name]}"


def _osa(a: list[str], b: list[str]) -> int:
    """Optimal-string-alignment distance (Damerau-Levenshtein with adjacent swaps)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _measured_changes(name: str, text: str, out: str, lang: str) -> int:
    """Changed units measured from the output alone, independently of the bookkeeping."""
    if name in ("char_noise", "keyboard_typo", "homoglyph", "case_noise", "strip_diacritics"):
        # these never touch whitespace, so words align one to one on spaces
        before, after = text.split(" "), out.split(" ")
        assert len(before) == len(after)
        return sum(_osa(graphemes(a), graphemes(b)) for a, b in zip(before, after) if a != b)
    if name == "space_noise":
        assert "".join(out.split()) == "".join(text.split()), "space_noise touched a non-space"
        return _spacing_changes(text, out)
    if name in ("word_drop", "word_repeat"):
        return abs(len(out.split()) - len(text.split()))
    raise AssertionError(name)


def _spacing_changes(text: str, out: str) -> int:
    """Places where whitespace was inserted or removed (runs of changes count once)."""
    def gaps(s: str) -> dict[int, bool]:
        result, count = {}, 0
        for char in s:
            if char.isspace():
                result[count] = True
            else:
                count += 1
        return result
    before, after = gaps(text), gaps(out)
    return sum(1 for k in set(before) | set(after) if before.get(k) != after.get(k))


#: independent measurement needs whitespace-separated words for the word-level families
_SPACED = [lang for lang in XNLI_LANGUAGES if lang not in ("zh", "th")]


@pytest.mark.parametrize("name,lang", [
    (n, l) for n, l in CASES if n in RATED and (n not in ("word_drop", "word_repeat") or l in _SPACED)
])
def test_measured_rate_is_close_to_p(name, lang):
    measured = units = 0
    for text in rate_sentences(lang):
        result = P.outcome(name, text, lang=lang, seed=11, **GENERIC[name])
        measured += _measured_changes(name, text, result.text, lang)
        units += result.units
        if units >= MIN_UNITS:
            break
    rate = RATED[name]
    # swaps and re-clustering can make two edits look like one or one like two: allow 15 %
    assert _close_to(rate, measured, units) or abs(measured / units - rate) <= 0.15 * rate, (
        f"{name}/{lang}: measured {measured}/{units} vs p={rate}")


def test_word_shuffle_keeps_the_words_and_moves_them():
    for lang in XNLI_LANGUAGES:
        for text in sentences(lang)[:20]:
            out = P.apply("word_shuffle", text, lang=lang, window=4)
            assert sorted(w.text for w in words(out, lang)) == sorted(
                w.text for w in words(text, lang)) or lang in ("th", "zh")
            assert sorted(out) == sorted(text)  # same characters, only reordered


# ---------------------------------------------------------------- changed flags and tables


def test_perturb_example_and_table_record_whether_the_text_changed():
    import pyarrow as pa

    with _data("xnli", "dev.de.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(40), handle)]
    table = pa.table({
        "id": [str(i) for i in range(len(rows))],
        "premise": [r["premise"] for r in rows],
        "hypothesis": [r["hypothesis"] for r in rows],
        "label": [r["label"] for r in rows],
    })
    params = {"p": 0.03}
    out = P.perturb_table("char_noise", params, "hypothesis", table, "de", 5)
    assert out.column_names == ["id", "premise", "hypothesis", "label", "changed"]
    assert out.column("premise").to_pylist() == table.column("premise").to_pylist()
    assert out.column("label").to_pylist() == table.column("label").to_pylist()
    flags = out.column("changed").to_pylist()
    expected = [a != b for a, b in zip(out.column("hypothesis").to_pylist(), table.column("hypothesis").to_pylist())]
    assert flags == expected and any(flags) and not all(flags)
    for row, flag in zip(table.to_pylist(), flags):
        example, changed = P.perturb_example("char_noise", params, "hypothesis", row, "de", 5)
        assert changed == flag and example["premise"] == row["premise"]
    both = P.perturb_table("stress", {"test": "word_overlap"}, "both", table, "de", 0)
    assert all(both.column("changed").to_pylist())
    assert all(p.endswith("und wahr ist wahr") for p in both.column("premise").to_pylist())
    with pytest.raises(ValueError, match="has the columns of no task family"):
        P.perturb_table("word_drop", {}, "premise", table.drop_columns(["premise"]), "de", 0)
    with pytest.raises(ValueError, match="field must be one of"):
        P.perturb_example("word_drop", {}, "title", rows[0], "de", 0)
    with pytest.raises(ValueError, match="a pair example has no field 'context'"):
        P.perturb_example("word_drop", {}, "context", {"id": "0", **rows[0]}, "de", 0)


# ---------------------------------------------------------------- errors and declarations


@pytest.mark.parametrize("name,lang", [
    ("case_noise", "th"), ("case_noise", "hi"), ("keyboard_typo", "zh"), ("strip_diacritics", "zh"),
    ("strip_diacritics", "en"), ("homoglyph", "zh"),
])
def test_unsupported_language_is_a_clear_error(name, lang):
    with pytest.raises(ValueError, match=rf"{name}.*does not support language '{lang}'.*supported:"):
        P.apply(name, "some text", lang=lang)


def test_unknown_name_and_bad_params_are_clear_errors():
    with pytest.raises(ValueError, match="did you mean 'char_noise'"):
        P.apply("char_nosie", "text", lang="en")
    with pytest.raises(ValueError, match="word_drop: invalid parameters"):
        P.apply("word_drop", "text", lang="en", p=1.5)
    with pytest.raises(ValueError, match="invalid parameters"):
        P.apply("word_drop", "text", lang="en", q=0.1)
    with pytest.raises(ValueError, match="invalid parameters"):
        P.apply("char_noise", "text", lang="en", ops="insert|explode")


def test_descriptions_name_every_parameter_and_docs_explain_them():
    for entry in REGISTRY.of("perturbation"):
        params = {"test": "negation"} if entry.name == "stress" else {}
        if entry.name == "code_switch":
            params = {"lexicon": {"kind": "synthetic"}}
        description = P.describe(entry.name, params)
        assert description.startswith(entry.name + "(")
        for field in entry.params.model_fields:
            assert f"{field}=" in description, (entry.name, field)
            assert f"`{field}`" in entry.doc, f"{entry.name}: docstring does not name `{field}`"
    assert P.describe("char_noise", {"p": 0.05}) == "char_noise(p=0.05, ops=insert|delete|substitute|swap)"
    assert P.describe("char_noise", {"ops": "swap|insert"}) == "char_noise(p=0.05, ops=swap|insert)"


def test_stress_tests_follow_naik_et_al():
    hyp = "The man is sleeping."
    assert P.apply("stress", hyp, lang="en", test="negation") == hyp + " and false is not true"
    assert P.apply("stress", hyp, lang="en", test="word_overlap") == hyp + " and true is true"
    assert P.apply("stress", hyp, lang="en", test="length_mismatch") == hyp + " and true is true" * 5
    assert P.default_field("stress", {"test": "length_mismatch"}) == "premise"
    assert P.default_field("stress", {"test": "negation"}) == "hypothesis"
    for lang in XNLI_LANGUAGES:
        text = sentences(lang)[0]
        own = P.apply("stress", text, lang=lang, test="negation")
        assert own.startswith(text.rstrip()) and own.endswith(TAUTOLOGIES[lang][1])
        english = P.apply("stress", text, lang=lang, test="negation", language="en")
        assert english.endswith(" and false is not true")


def test_compiler_declarations_import_nothing_heavy():
    import ast
    import subprocess
    import sys

    import xexp.compiler.registry.perturbations as declarations

    tree = ast.parse(Path(declarations.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "typing", "pydantic", "xexp"}, imported
    code = (
        "import sys, xexp.compiler.registry.perturbations\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'ray', 'transformers', 'datasets', 'pyarrow', 'pythainlp')"
        " or m.startswith('xexp.runtime')]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- properties on arbitrary text

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ANY_TEXT = st.text(
    alphabet=st.sampled_from(
        list("abcéIiı ,.-'") + ["\u0301", "\u0308", "\u0306"]
        + list("кийё") + list("άσς") + list("कखषि्ा ") + list("กขคเ่้ัา") + list("我们北京。")
        + list("ابيكأ ً") + ["\u200c"]
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_ANY_TEXT, st.sampled_from(CASES), st.integers(0, 3))
def test_property_deterministic_and_no_orphaned_marks(text, case, seed):
    name, lang = case
    out = P.apply(name, text, lang=lang, seed=seed, **GENERIC[name])
    assert out == P.apply(name, text, lang=lang, seed=seed, **GENERIC[name])
    out.encode("utf-8")
    orphans_in = [c for c in graphemes(text) if unicodedata.category(c[0])[0] == "M"]
    orphans_out = [c for c in graphemes(out) if unicodedata.category(c[0])[0] == "M"]
    for cluster in orphans_out:  # stray marks may survive (or be dropped), never appear
        assert cluster in orphans_in, f"{name}: new orphaned mark {cluster!r} in {out!r}"
        orphans_in.remove(cluster)
    if name == "space_noise":
        assert "".join(out.split()) == "".join(text.split())
