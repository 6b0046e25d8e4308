"""token_classification: CoNLL readers, first-subword labels, per-token predictions and F1s,
perturbations that keep tags aligned, check-time rejection of token-changing ones, and an end
to end run on real UD files (English training, zero-shot German and Chinese) with a tiny model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xexp.compiler import SpecError, compile_text
from xexp.runtime.data.raw import DataError
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.robustness.perturbations.tagged import perturb_tagged_table
from xexp.runtime.learning.tasks.tagging_scores import entity_spans, tagging_scores

import needs

REPO = Path(__file__).resolve().parents[1]
UD = needs.DATA / "ud"
UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X"}

CONLLU = """\
# sent_id = s-1
# text = Don't stop.
1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
3.1\tgone\t_\t_\t_\t_\t_\t_\t_\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = s-2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def load(path: Path, **source) -> pa.Table:
    return load_rows({"source": "local", "path": str(path), **source}, task_type="token_classification",
                     split=None, rows=None, language=None)


def ud_rows(path: Path, sentences: int) -> list[list[str]]:
    """UPOS tags of the first sentences of a CoNLL-U file, read independently of the reader."""
    out: list[list[str]] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                out.append(current)
                current = []
            if len(out) == sentences:
                break
        elif not line.startswith("#") and line.split("\t")[0].isdigit():
            current.append(line.split("\t")[3])
    return out


# --- data ---------------------------------------------------------------------------------------


def test_conllu_reads_syntactic_words_by_sentence_id(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    table = load(path)
    assert table.column("id").to_pylist() == ["s-1", "s-2"]
    assert table.column("tokens").to_pylist() == [["Do", "n't", "stop", "."], ["Yes"]]
    assert table.column("tags").to_pylist() == [["AUX", "PART", "VERB", "PUNCT"], ["INTJ"]]
    xpos = load(path, columns={"tags": "xpos"})
    assert xpos.column("tags").to_pylist()[0] == ["VBP", "RB", "VB", "."]


def test_conll_columns_take_the_last_column_and_name_bad_lines(tmp_path):
    path = tmp_path / "ner.conll"
    path.write_text("-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
                    "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n", encoding="utf-8")
    table = load(path)
    assert table.column("tokens").to_pylist() == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert table.column("tags").to_pylist() == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert load(path, columns={"tags": "1"}).column("tags").to_pylist()[0] == ["NNP", "VBZ"]
    path.write_text("EU NNP B-ORG\nrejects O\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"ner\.conll, line 2: 2 columns where .* \(line 1\) has 3"):
        load(path)
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tonly\tthree\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.conllu, line 1: expected 10 tab-separated"):
        load(bad)


def test_hf_tag_ids_are_mapped_by_their_classlabel_names(tmp_path):
    import datasets

    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER"]))})
    data = datasets.Dataset.from_dict({"tokens": [["Ada", "Lovelace", "wrote"]], "ner_tags": [[1, 2, 0]]},
                                      features=features)
    data.save_to_disk(str(tmp_path / "wikiann"))
    table = load_rows({"source": "hf", "id": str(tmp_path / "wikiann")}, task_type="token_classification",
                      split=None, rows=None, language=None)
    assert table.column("tags").to_pylist() == [["B-PER", "I-PER", "O"]]


def test_integer_tags_need_names(tmp_path):
    path = tmp_path / "ner.jsonl"
    path.write_text(json.dumps({"tokens": ["Ada", "wrote"], "tags": [1, 0]}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"ner\.jsonl, line 1, field 'tags': tag 0 is a raw id 1"):
        load(path)
    table = load(path, labels={"0": "O", "1": "B-PER"})
    assert table.column("tags").to_pylist() == [["B-PER", "O"]]
    path.write_text(json.dumps({"tokens": ["Ada", "wrote"], "tags": ["B-PER"]}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="one tag per token"):
        load(path)


# --- features, decoding, metrics ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from xexp.runtime.learning.models.sources import materialize_model

    out = tmp_path_factory.mktemp("tiny") / "model"
    materialize_model({"source": "tiny"}, out)
    return out


def test_only_the_first_subword_of_a_word_is_labelled(tiny_dir):
    from xexp.runtime.learning.models.sources import load_tokenizer

    tokenizer = load_tokenizer({"path_or_id": str(tiny_dir), "revision": None, "trust_remote_code": False})
    table = pa.table({"id": ["a"], "tokens": [["Unbelievably", "so", "."]], "tags": [["ADV", "ADV", "PUNCT"]]})
    task = get_task("token_classification").for_data(table)
    assert task.labels == ("ADV", "PUNCT")
    (item,) = task.featurize(table, tokenizer, 64, training=True).items
    labelled = [k for k, label in enumerate(item["labels"]) if label != -100]
    assert labelled == [p for p in item["first"]]  # exactly one label per word, at its first subword
    assert [item["labels"][p] for p in item["first"]] == [0, 0, 1]
    assert len(item["input_ids"]) > len(labelled) + 2  # the long word has further, ignored subwords
    # a word cut off by max_len has no position: decoded as "" and counted wrong, not dropped
    (short,) = task.featurize(table, tokenizer, 8, training=False).items
    assert short["first"][0] is not None and short["first"][-1] is None


def test_a_bare_sentencepiece_boundary_is_not_the_labelled_subword():
    """XLM-R-style SentencePiece writes `然而` as `▁` + `然而`: the label goes on `然而`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0), ("<pad>", 0.0), ("▁", -1.0),
              ("然而", -2.0), ("問題", -2.0), (",", -2.0), ("▁Der", -1.0)]
    core = Tokenizer(models.Unigram(pieces, unk_id=0))
    core.pre_tokenizer = pre_tokenizers.Metaspace()
    core.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>",
                                        unk_token="<unk>", pad_token="<pad>")
    table = pa.table({"id": ["z"], "tokens": [["Der", "然而", ",", "問題"]], "tags": [["DET", "SCONJ", "PUNCT", "NOUN"]]})
    task = get_task("token_classification").for_data(table)
    (item,) = task.featurize(table, tokenizer, 32, training=True).items
    tokens = tokenizer.convert_ids_to_tokens(item["input_ids"])
    assert tokens == ["<s>", "▁Der", "▁", "然而", "▁", ",", "▁", "問題", "</s>"]
    assert [tokens[p] for p in item["first"]] == ["▁Der", "然而", ",", "問題"]
    assert [label for label in item["labels"] if label != -100] == [task.label_index[t] for t in ["DET", "SCONJ", "PUNCT", "NOUN"]]


def test_scores_accuracy_macro_and_entity_f1():
    gold = ["B-PER", "I-PER", "O", "B-ORG", "O"]
    predicted = ["B-PER", "I-PER", "O", "O", "O"]
    table = pa.table({"gold": gold, "predicted": predicted, "sentence": ["s"] * 5})
    scores = tagging_scores(table)
    assert scores["accuracy"] == scores["micro_f1"] == pytest.approx(0.8)
    assert scores["entity_f1"] == pytest.approx(2 / 3)  # PER found, ORG missed: P=1, R=1/2
    # macro over B-ORG (0), B-PER (1), I-PER (1), O (precision 2/3, recall 1 -> 0.8)
    assert scores["macro_f1"] == pytest.approx((0 + 1 + 1 + 0.8) / 4)
    assert entity_spans(["I-LOC", "I-LOC", "B-LOC", "O", "I-PER"]) == {(0, 2, "LOC"), (2, 3, "LOC"), (4, 5, "PER")}
    pos = tagging_scores(pa.table({"gold": ["NOUN", "VERB"], "predicted": ["NOUN", "NOUN"], "sentence": ["s", "s"]}))
    assert "entity_f1" not in pos and pos["accuracy"] == 0.5


# --- perturbations -------------------------------------------------------------------------------------


def test_char_level_perturbations_keep_every_tag_in_place():
    needs.data("ud")
    table = load(UD / "de_gsd-ud-test.conllu").slice(0, 40)
    out = perturb_tagged_table("char_noise", {"p": 0.2}, table, "de", 1)
    assert out.column("tags").equals(table.column("tags"))
    before, after = table.column("tokens").to_pylist(), out.column("tokens").to_pylist()
    assert [len(s) for s in after] == [len(s) for s in before]
    flags = out.column("changed_tokens").to_pylist()
    assert flags == [[a != b for a, b in zip(x, y)] for x, y in zip(before, after)]
    assert 0 < sum(map(sum, flags)) < sum(map(len, flags))
    assert out.column("changed").to_pylist() == [any(f) for f in flags]
    again = perturb_tagged_table("char_noise", {"p": 0.2}, table, "de", 1)
    assert again.column("tokens").equals(out.column("tokens"))
    with pytest.raises(ValueError, match="adds, removes or reorders tokens"):
        perturb_tagged_table("word_drop", {"p": 0.2}, table, "de", 1)


SPEC = """\
experiment tagging_check
model m = tiny()
task ewt = token_classification(local("ud/en.conllu"), train="train")
task upos = token_classification(local("ud/{lang}.conllu"), test="test")
target = upos trained_on ewt
languages = [en de]
perturbations {
PERTURBATIONS
}
"""


@pytest.mark.parametrize("line, message, at", [
    ("drop = word_drop(p=0.1)", "`word_drop` adds, removes or reorders tokens", "word_drop"),
    ("space = space_noise(p=0.1)", "`space_noise` adds, removes or reorders tokens", "space_noise"),
    ("flip = char_attack() on premise", "`on premise` does not apply", "premise"),
    ("typo = char_noise(p=0.1) on premise", "`on premise` does not apply", "premise"),
])
def test_check_rejects_what_would_misalign_tags_with_a_caret(line, message, at):
    text = SPEC.replace("PERTURBATIONS", line)
    with pytest.raises(SpecError) as info:
        compile_text(text, "t.xexp")
    (error,) = info.value.errors
    assert message in error.message
    assert error.line == text.split("\n").index(line) + 1
    assert error.column == line.index(at) + 1
    assert "keep tokens" in (error.hint or "") or "write `" in (error.hint or "")


def test_check_accepts_token_keeping_perturbations():
    spec, graph = compile_text(SPEC.replace("PERTURBATIONS", "typo = char_noise(p=0.1)\ncase = case_noise(p=0.2)"))
    assert spec.tasks["upos"].type == "token_classification"
    assert sum(n.kind == "perturb" for n in graph.nodes) == 4


# --- end to end ---------------------------------------------------------------------------------------

E2E = """\
experiment ud_tiny
var data = "."
model tiny = tiny(layers=2, hidden=64, heads=2, intermediate=128, seed=0)

task xpos = token_classification(local("{data}/en_ewt-ud-dev.conllu", columns={tags="xpos"}), train="train[:120]")
task ewt  = token_classification(local("{data}/en_ewt-ud-dev.conllu"), train="train[200:360]", dev="train[1900:1940]")
task upos = token_classification(local("{data}/{lang}_*-ud-test.conllu"), test="test")

intermediate = [none xpos]
target       = upos trained_on ewt
languages    = [en de zh]

perturbations {
  typo = char_noise(p=0.1)
}

train intermediate { lr=3e-3 batch=16 epochs=1 max_len=64 }
train target       { lr=3e-3 batch=16 epochs=2 max_len=64 }
evaluate           { batch=64 max_len=128 limit=25 }
report             { bootstrap=200 }
"""


def test_tagging_as_intermediate_and_zero_shot_target_on_real_ud(tmp_path, ray_local):
    from xexp.running import run_spec

    needs.data("ud")
    spec = tmp_path / "ud_tiny.xexp"
    spec.write_text(E2E)
    summary = run_spec(spec, variables={"data": str(UD)}, show_progress=False)
    assert summary["failed"] == 0
    store = Path(summary["store"])

    # the intermediate head predicted English XPOS tags, the target's head UPOS names
    heads = [json.loads(p.read_text())["id2label"] for p in store.glob("train/*/checkpoint/config.json")]
    assert len(heads) == 3
    assert sum("NN" in h.values() for h in heads) == 1
    assert sum(set(h.values()) <= UPOS for h in heads) == 2

    files = {"en": "en_ewt-ud-test.conllu", "de": "de_gsd-ud-test.conllu", "zh": "zh_gsd-ud-test.conllu"}
    tokens = {lang: sum(map(len, ud_rows(UD / name, 25))) for lang, name in files.items()}
    accuracy: dict[tuple[str, str, str], float] = {}
    ids: dict[str, list] = {}
    for record_path in store.glob("evaluate/*/_complete.json"):
        record = json.loads(record_path.read_text())
        chain, lang, condition, _ = record["name"].removeprefix("evaluate:").split("/")
        predictions = pq.read_table(record_path.parent / "predictions.parquet")
        assert predictions.num_rows == tokens[lang]  # one prediction per word, none dropped
        assert set(predictions.column("gold").to_pylist()) <= UPOS
        assert 0 <= record["manifest"]["macro_f1"] <= 1
        ids.setdefault(lang, []).append(predictions.column("id"))
        correct = predictions.column("correct").to_pylist()
        accuracy[(chain.split("→")[0], lang, condition)] = 100 * sum(correct) / len(correct)
    assert len(accuracy) == 2 * 3 * 2  # variants x languages x (clean, typo)
    assert all(all(i.equals(found[0]) for i in found) for found in ids.values())  # paired by id

    # the report's accuracies are token accuracies, per language, clean and under the typo
    with (Path(summary["report"]) / "results.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["seed"] == "1" and r["language"] in tokens]
    for row in rows:
        if row["perturbation"] == "clean":
            assert float(row["clean_acc"]) == pytest.approx(accuracy[(row["variant"], row["language"], "clean")], abs=1e-3)
            assert int(row["n"]) == tokens[row["language"]]
        elif row["perturbation"] == "typo":
            assert float(row["perturbed_acc"]) == pytest.approx(accuracy[(row["variant"], row["language"], "typo")], abs=1e-3)
            assert 0 < float(row["changed"]) < 100  # a share of the tokens was altered
    assert {(r["variant"], r["language"], r["perturbation"]) for r in rows} >= {
        (v, lang, c) for v in ("none", "xpos") for lang in tokens for c in ("clean", "typo")}
