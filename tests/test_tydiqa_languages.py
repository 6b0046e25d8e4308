"""TyDiQA-GoldP's languages beyond XNLI's: bn (Bengali script), fi (Latin), te (Telugu script).

A spec may name them (compiler/languages.py); every perturbation either works on them or is
refused by `xexp check` with a caret and a hint. Character noise edits a Bengali or Telugu word
with letters of that word's own script (runtime/perturbations/alphabets.py), as it does Hindi.
The sentences are our own, short and plain.
"""

from __future__ import annotations

import pytest

from xexp.compiler import SpecError, compile_spec
from xexp.compiler.languages import KNOWN_LANGUAGES, script_of
from xexp.compiler.registry import REGISTRY
from xexp.runtime import perturbations as P
from xexp.runtime.perturbations.text import graphemes, has_base, script_of_text, words

SENTENCES = {
    "bn": "আমি প্রতিদিন সকালে বাজারে যাই এবং তাজা মাছ কিনি।",
    "te": "నేను ప్రతి రోజు ఉదయం బజారుకు వెళ్లి తాజా చేపలు కొంటాను.",
    "fi": "Käyn joka aamu torilla ostamassa tuoretta kalaa.",
}
SCRIPTS = {"bn": "Bengali", "te": "Telugu", "fi": "Latin"}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_the_codes_are_known_with_their_scripts(lang):
    assert lang in KNOWN_LANGUAGES and script_of(lang) == SCRIPTS[lang]
    assert script_of_text(SENTENCES[lang]) == SCRIPTS[lang]


@pytest.mark.parametrize("lang", ["bn", "te"])
def test_char_noise_inserts_and_substitutes_letters_of_the_words_own_script(lang):
    text = SENTENCES[lang]
    new: set[str] = set()
    for seed in range(5):
        out = P.apply("char_noise", text, lang=lang, seed=seed, p=0.5, ops="insert|substitute")
        assert out != text
        assert len(words(out, lang)) == len(words(text, lang))  # edits stay inside words
        new |= set(graphemes(out)) - set(graphemes(text))
    assert new, "nothing was inserted or substituted"
    for cluster in new:
        assert has_base(cluster) and script_of_text(cluster) == SCRIPTS[lang], cluster


def spec(entry: str, languages: str = "bn fi te") -> str:
    return f"""experiment tydiqa_languages
model m = tiny()
task squad = extractive_qa(local("squad.json"), train="train")
task tydiqa = extractive_qa(local("tydiqa.goldp.{{lang}}.dev.json"), test="test")
target = tydiqa trained_on squad in [{languages}]
perturbations {{
  p = {entry}
}}
"""


#: Perturbations of text written in any script (no language list in the registry).
UNIVERSAL = ["char_noise(p=0.1)", "space_noise(p=0.1)", "word_drop(p=0.1)", "word_shuffle(window=3)",
             "word_repeat(p=0.1)"]
#: Perturbations bound to a script's or a language's own tables, which have none for bn, fi, te.
BOUND = ["keyboard_typo(p=0.1)", "homoglyph(p=0.1)", "strip_diacritics()", "case_noise(p=0.1)"]


@pytest.mark.parametrize("entry", UNIVERSAL)
def test_check_accepts_script_independent_perturbations_in_the_new_languages(entry):
    checked = compile_spec(spec(entry))
    assert list(checked.targets[0].languages) == ["bn", "fi", "te"]


@pytest.mark.parametrize("entry", BOUND)
def test_check_refuses_script_bound_perturbations_in_the_new_languages_with_a_caret(entry):
    name = entry.split("(")[0]
    assert REGISTRY.get("perturbation", name).languages is not None
    with pytest.raises(SpecError) as caught:
        compile_spec(spec(entry))
    rendered = caught.value.render()
    assert f"`{name}` does not support language" in rendered, rendered
    assert "^" in rendered and "hint:" in rendered, rendered
    # restricted to the languages it supports, the same entry is accepted
    compile_spec(spec(f"{entry} in [ru]", languages="bn fi ru te"))


def test_code_switch_needs_a_lexicon_for_the_language():
    """code_switch reads an en-<lang> MUSE file; the synthetic lexicon has no Bengali."""
    with pytest.raises(SpecError) as caught:
        compile_spec(spec('code_switch(lexicon=synthetic(), to="de")', languages="bn"))
    assert "no English-bn pairs" in caught.value.render()
    compile_spec(spec('code_switch(lexicon=muse("en-{lang}.txt"))', languages="bn te"))
