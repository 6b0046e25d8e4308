"""TyDiQA-GoldP's languages beyond XNLI's: bn (Bengali script), fi (Latin), te (Telugu script).

A spec may name them (compiler/languages.py); every perturbation either works on them or is
refused by `xexp check` with a caret and a hint. Character noise edits a Bengali or Telugu word
with letters of that word's own script (runtime/robustness/perturbations/alphabets.py), as it does Hindi.
The sentences are our own, short and plain.
"""

from __future__ import annotations

import pytest

from xexp.compiler import SpecError, compile_spec
from xexp.compiler.languages import KNOWN_LANGUAGES, script_of
from xexp.compiler.registry import REGISTRY
from xexp.runtime.robustness import perturbations as P
from xexp.runtime.robustness.perturbations.text import graphemes, has_base, script_of_text, words

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


# --- TyDiQA-GoldP files as specs/phang2020.xexp reads them -------------------------------------

GOLD = {"bn": ("ঢাকা বাংলাদেশের রাজধানী।", "বাংলাদেশের রাজধানী কোথায়?", "ঢাকা"),
        "te": ("హైదరాబాద్ తెలంగాణ రాజధాని.", "తెలంగాణ రాజధాని ఏది?", "హైదరాబాద్"),
        "fi": ("Helsinki on Suomen pääkaupunki.", "Mikä on Suomen pääkaupunki?", "Helsinki"),
        "en": ("Paris is the capital of France.", "What is the capital of France?", "Paris")}


def squad_file(path, lang: str, *, blank_answers: bool = False) -> None:
    """One SQuAD v1.1 JSON file as XTREME's download writes it (its dev files: answers blanked)."""
    import json

    context, question, answer = GOLD[lang]
    answers = [{"answer_start": 0, "text": ""}] if blank_answers else [{"answer_start": 0, "text": answer}]
    data = {"version": "TyDiQA-GoldP-1.1-for-SQuAD-1.1", "data": [{"paragraphs": [
        {"context": context, "qas": [{"id": f"{lang}-1", "question": question, "answers": answers}]}]}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


TYDIQA_SPEC = """experiment tydiqa_files
var tydiqa = "data/tydiqa"
model m = tiny()
task tydiqa_en = extractive_qa(local("{tydiqa}/tydiqa-goldp-v1.1-{split}/tydiqa.goldp.en.{split}.json", format="squad_json"), train="train", dev="dev[:500]")
task tydiqa    = extractive_qa(local("{tydiqa}/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json", format="squad_json"), test="dev")
target = tydiqa trained_on tydiqa_en in [bn en fi te]
perturbations {
  typo = char_noise(p=0.1)
}
"""


def test_tydiqa_files_in_xtreme_naming_check_and_blanked_answers_fail_their_load(tmp_path, capsys):
    from xexp.cli import main
    from xexp.runtime.data.raw import DataError
    from xexp.runtime.data.sources import load_rows

    root = tmp_path / "tydiqa"
    squad_file(root / "tydiqa-goldp-v1.1-train" / "tydiqa.goldp.en.train.json", "en")
    for lang in GOLD:
        squad_file(root / "tydiqa-goldp-v1.1-dev" / f"tydiqa.goldp.{lang}.dev.json", lang)
    spec = tmp_path / "tydiqa.xexp"
    spec.write_text(TYDIQA_SPEC, encoding="utf-8")
    assert main(["check", str(spec), "--set", f"tydiqa={root}"]) == 0, capsys.readouterr().err
    source = compile_spec(TYDIQA_SPEC, variables={"tydiqa": str(root)}).tasks["tydiqa"].splits["test"].source
    table = load_rows(source, task_type="extractive_qa", split="dev", rows=None, language="te")
    assert table.column("answers").to_pylist() == [[{"text": GOLD["te"][2], "start": 0}]]
    # XTREME's own download blanks the dev answers (its hidden test set): the load refuses them,
    # naming the file and the field (check does not read SQuAD JSON: runtime/data/preview.py)
    squad_file(root / "tydiqa-goldp-v1.1-dev" / "tydiqa.goldp.te.dev.json", "te", blank_answers=True)
    with pytest.raises(DataError, match=r"tydiqa\.goldp\.te\.dev\.json.*field 'answers': answer 0: empty or missing text"):
        load_rows(source, task_type="extractive_qa", split="dev", rows=None, language="te")
