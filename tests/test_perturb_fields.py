"""Perturbations on extractive QA and multiple-choice examples (runtime/robustness/perturbations/fields.py):
each field names its own columns, a QA context keeps every answer at a valid offset (the gold
being what the perturbed context contains), multiple-choice endings are perturbed one by one with
the label kept, and the default field comes from the registry per task family."""

from __future__ import annotations

import pyarrow as pa
import pytest

import needs
from xexp.compiler.registry import REGISTRY
from xexp.compiler.registry.base import FAMILY_DEFAULT_FIELD, FAMILY_FIELDS
from xexp.runtime.robustness import perturbations as P
from xexp.runtime.data.sources import load_rows

XQUAD = ("xquad", "xquad.en.json")
HELLASWAG = ("hellaswag", "val.jsonl")
#: Arguments an entry needs; every other parameter keeps its default (rates raised so that the
#: few rows read here really change).
ARGUMENTS = {"code_switch": {"lexicon": {"kind": "synthetic"}, "to": "de", "p": 0.9}}


def qa_entries() -> list[str]:
    """The perturbations that apply to English QA (the XQuAD sample is English)."""
    return [e.name for e in REGISTRY.of("perturbation") if "extractive_qa" in (e.task_types or ())
            and (e.languages is None or "en" in e.languages)]


def params_of(name: str) -> dict:
    entry = REGISTRY.get("perturbation", name)
    assert entry is not None
    params = dict(ARGUMENTS.get(name, {}))
    if "p" in entry.params.model_fields and "p" not in params:
        params["p"] = 0.3
    return params


@pytest.fixture(scope="module")
def squad() -> pa.Table:
    return load_rows({"source": "local", "path": str(needs.data(*XQUAD))}, task_type="extractive_qa", rows=(0, 80),
                     split=None, language=None)


@pytest.fixture(scope="module")
def hellaswag() -> pa.Table:
    return load_rows({"source": "local", "path": str(needs.data(*HELLASWAG))}, task_type="multiple_choice", rows=(0, 40),
                     split=None, language=None)


def test_every_perturbation_and_attack_of_text_applies_to_qa_and_multiple_choice_but_stress_does_not():
    for entry in REGISTRY.of("perturbation"):
        expected = entry.name != "stress"
        assert ("extractive_qa" in entry.task_types) == expected, entry.name
        assert ("multiple_choice" in entry.task_types) == expected, entry.name
    for entry in REGISTRY.of("attack"):  # each with its task type's success rule (issue 25)
        assert {"extractive_qa", "multiple_choice"} <= set(entry.task_types), entry.name


def test_default_field_per_family_is_declared_once_in_the_registry():
    char_noise = REGISTRY.get("perturbation", "char_noise")
    assert char_noise is not None
    assert char_noise.default_field_for({}, "qa") == FAMILY_DEFAULT_FIELD["qa"] == "question"
    assert char_noise.default_field_for({}, "mc") == FAMILY_DEFAULT_FIELD["mc"] == "endings"
    assert char_noise.default_field_for({}) == "both"  # pair: the entry's own default
    for family, default in FAMILY_DEFAULT_FIELD.items():
        assert default in FAMILY_FIELDS[family]


@pytest.mark.needs_data
@pytest.mark.parametrize("name", qa_entries())
@pytest.mark.parametrize("field", ["context", "both"])
def test_qa_context_keeps_every_answer_at_its_offset(squad, name, field):
    out = P.perturb_table(name, params_of(name), field, squad, "en", 3)
    assert out.column_names == [*squad.column_names, "changed"]
    assert out.column("id").to_pylist() == squad.column("id").to_pylist()
    before, after = squad.to_pylist(), out.to_pylist()
    for old, new in zip(before, after):
        assert len(new["answers"]) == len(old["answers"])
        for answer in new["answers"]:
            assert new["context"][answer["start"]:answer["start"] + len(answer["text"])] == answer["text"]
            assert answer["text"].strip()
        changed = new["context"] != old["context"] or new["question"] != old["question"]
        assert new["changed"] == changed
        if field == "context":
            assert new["question"] == old["question"]
        if new["context"] == old["context"]:
            assert new["answers"] == old["answers"]
    assert any(row["changed"] for row in after), f"{name} changed no context: the test tests nothing"


@pytest.mark.needs_data
def test_qa_gold_is_the_perturbed_answer_span(squad):
    """Answer words are perturbed with the passage: some gold texts change, and each is what
    the perturbed context holds at its new offset (checked above); the offsets move."""
    out = P.perturb_table("char_noise", {"p": 0.2}, "context", squad, "en", 1).to_pylist()
    golds_changed = sum(a["text"] != b["text"] for old, new in zip(squad.to_pylist(), out)
                        for a, b in zip(old["answers"], new["answers"]))
    moved = sum(a["start"] != b["start"] for old, new in zip(squad.to_pylist(), out)
                for a, b in zip(old["answers"], new["answers"]))
    assert golds_changed > 0 and moved > 0


def test_overlapping_answers_stay_consistent_and_blank_answers_fall_back():
    table = pa.table({
        "id": ["0", "1", "2"],
        "context": ["Denver Broncos won the Super Bowl in 2016.", "It was 5 or 6.", "Nobody knows the day."],
        "question": ["Who won?", "How many?", "When?"],
        "answers": [[{"text": "Denver Broncos", "start": 0}, {"text": "Broncos won", "start": 7},
                     {"text": "the Super Bowl", "start": 19}],
                    [{"text": "5", "start": 7}], []],  # the last one unanswerable (SQuAD v2)
    })
    out = P.perturb_table("word_shuffle", {"window": 5}, "context", table, "en", 0).to_pylist()
    for row in out:
        for a in row["answers"]:
            assert row["context"][a["start"]:a["start"] + len(a["text"])] == a["text"]
    # every grapheme deleted: a one-character answer would become blank, so it is kept as written
    deleted = P.perturb_table("char_noise", {"p": 1.0, "ops": "delete"}, "context", table, "en", 0).to_pylist()
    assert deleted[1]["answers"][0]["text"] == "5"
    assert deleted[1]["context"][deleted[1]["answers"][0]["start"]] == "5"
    assert deleted[2]["answers"] == [] and deleted[2]["context"] != table.column("context")[2].as_py()


def test_answers_not_in_the_normalized_layout_are_a_clear_error():
    example = {"id": "0", "context": "The cat sat.", "question": "Who sat?",
               "answers": {"text": ["The cat"], "answer_start": [0]}}  # the raw HF layout
    with pytest.raises(ValueError, match=r"answer 0 .* normalized layout"):
        P.perturb_example("char_noise", {}, "context", example, "en", 0)


@pytest.mark.needs_data
def test_qa_question_only_leaves_context_and_answers(squad):
    out = P.perturb_table("char_noise", {"p": 0.2}, "question", squad, "en", 0)
    assert out.column("context").to_pylist() == squad.column("context").to_pylist()
    assert out.column("answers").to_pylist() == squad.column("answers").to_pylist()
    assert out.column("question").to_pylist() != squad.column("question").to_pylist()


@pytest.mark.needs_data
@pytest.mark.parametrize("field", ["endings", "context", "both"])
def test_multiple_choice_endings_are_perturbed_one_by_one_and_the_label_kept(hellaswag, field):
    out = P.perturb_table("word_drop", {"p": 0.3}, field, hellaswag, "en", 2)
    assert out.column("label").to_pylist() == hellaswag.column("label").to_pylist()
    for old, new in zip(hellaswag.to_pylist(), out.to_pylist()):
        assert len(new["endings"]) == len(old["endings"])
        if field == "endings":
            assert new["context"] == old["context"]
        if field == "context":
            assert new["endings"] == old["endings"]
        assert new["changed"] == (new["context"] != old["context"] or new["endings"] != old["endings"])
    assert any(out.column("changed").to_pylist())


def test_a_field_of_another_family_is_refused():
    mc = pa.table({"id": ["0"], "context": ["A man"], "endings": [["runs.", "sits."]], "label": [0]})
    with pytest.raises(ValueError, match="a mc example has no field 'question'"):
        P.perturb_table("char_noise", {}, "question", mc, "en", 0)


def test_xexp_perturb_on_a_qa_file_takes_the_qa_default_field_and_keeps_offsets(tmp_path, capsys):
    import json

    from xexp.cli import main

    example = {"id": "1", "context": "The old cat sat on the warm mat in Paris.",
               "question": "Where did the old cat sit today?", "answers": [{"text": "the warm mat", "start": 19}]}
    source = tmp_path / "qa.jsonl"
    source.write_text(json.dumps(example) + "\n")
    assert main(["perturb", "word_shuffle", "--lang", "en", "--input", str(source)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["context"] == example["context"] and out["question"] != example["question"]
    assert main(["perturb", "word_shuffle", "--lang", "en", "--input", str(source), "--field", "context"]) == 0
    out = json.loads(capsys.readouterr().out)
    answer = out["answers"][0]
    assert out["context"] != example["context"]
    assert out["context"][answer["start"]:answer["start"] + len(answer["text"])] == answer["text"]
