"""Task types on real data with a tiny model: tokenization, span mapping, decoding, metrics,
and a few training steps + evaluation for every task type."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

import needs
from xexp.compiler.graph.contracts import TrainSettings
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.evaluation import evaluate, predictor
from xexp.runtime.data.formats import NLI_LABELS, PREDICTION_COLUMNS
from xexp.runtime.learning.models.sources import load_tokenizer
from xexp.runtime.learning.tasks import get_task
from xexp.runtime.learning.tasks.squad_metric import exact_match, f1_score, normalize_answer
from xexp.runtime.learning.training import train

# Two cores shared by many: one intra-op thread avoids OpenMP oversubscription (20x slower).
torch.set_num_threads(1)



def rows(path: str, task_type: str, start: int, stop: int):
    return load_rows({"source": "local", "path": str(needs.data(path))}, task_type=task_type,
                     split=None, rows=(start, stop), language=None)


@pytest.fixture(scope="module")
def base(tiny_base) -> dict:
    return tiny_base  # tests/conftest.py


@pytest.fixture(scope="module")
def tokenizer(base):
    return load_tokenizer(base)


# --- pair classification ---------------------------------------------------------------------

def test_pair_features_truncate_and_index_labels_by_name(tokenizer):
    table = rows("mnli/dev_matched.jsonl", "nli", 0, 30)
    features = get_task("nli").featurize(table, tokenizer, 48, training=True)
    assert len(features) == 30 and features.lengths.max() == 48
    assert [NLI_LABELS[item["label"]] for item in features.items] == table.column("label").to_pylist()


def test_pair_outputs_are_reordered_by_label_name():
    from transformers import BertConfig

    task = get_task("nli")
    table = pa.table({"id": ["a"], "premise": ["p"], "hypothesis": ["h"], "label": ["contradiction"]})
    other_order = BertConfig(id2label={0: "contradiction", 1: "entailment", 2: "neutral"})
    predictions = task.decode(table, None, [np.array([4.0, 0.0, -1.0])], other_order)
    row = predictions.to_pylist()[0]
    assert row["predicted"] == "contradiction" and row["correct"]
    assert np.argmax(row["probs"]) == NLI_LABELS.index("contradiction")
    with pytest.raises(ValueError, match="not trained for nli"):
        task.decode(table, None, [np.zeros(2)], BertConfig(id2label={0: "not_paraphrase", 1: "paraphrase"}))


# --- extractive QA ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xquad():
    return rows("xquad/xquad.en.json", "extractive_qa", 0, 40)


@pytest.mark.parametrize("max_len, stride", [(96, 24), (160, 48)])
def test_qa_windows_locate_every_answer(tokenizer, xquad, max_len, stride):
    task = get_task("extractive_qa")
    features = task.featurize(xquad, tokenizer, max_len, training=True, doc_stride=stride)
    assert len(features) > 2 * xquad.num_rows, "long contexts must be cut into several windows"
    assert features.lengths.max() <= max_len
    contexts = xquad.column("context").to_pylist()
    answers = xquad.column("answers").to_pylist()
    found = set()
    for item, row in zip(features.items, features.example.tolist()):
        if item["start"] == 0:
            continue
        offsets = item["offsets"]
        text = contexts[row][offsets[item["start"]][0]:offsets[item["end"]][1]]
        assert text == answers[row][0]["text"]
        found.add(row)
    # Windows overlap by `stride` tokens, so an answer of at most `stride` tokens always lies
    # whole inside some window; a longer one may straddle every window boundary.
    short = {row for row, a in enumerate(answers)
             if len(tokenizer(a[0]["text"], add_special_tokens=False)["input_ids"]) <= stride}
    assert short <= found and len(short) > xquad.num_rows // 2


def oracle_outputs(features, cls_score: float = 0.0) -> list[np.ndarray]:
    """Logits that point at each window's labelled span; [CLS] gets `cls_score` everywhere."""
    outputs = []
    for item in features.items:
        logits = np.zeros((len(item["input_ids"]), 2), dtype=np.float32)
        logits[0] = cls_score
        if item["start"] != 0:
            logits[item["start"], 0] = logits[item["end"], 1] = 10.0
        outputs.append(logits)
    return outputs


def test_qa_decoding_recovers_answers_across_windows(tokenizer, xquad):
    task = get_task("extractive_qa")
    # Answers of at most doc_stride tokens: each lies whole in some window (see above).
    short = [i for i, a in enumerate(xquad.column("answers").to_pylist())
             if len(tokenizer(a[0]["text"], add_special_tokens=False)["input_ids"]) <= 24]
    xquad = xquad.take(short)
    features = task.featurize(xquad, tokenizer, 96, training=True, doc_stride=24)
    predictions = task.decode(xquad, features, oracle_outputs(features, cls_score=3.0), None)
    assert tuple(predictions.column_names) == PREDICTION_COLUMNS + ("f1",)
    assert all(predictions.column("correct").to_pylist())
    assert task.metric(predictions) == 1.0
    golds = [json.loads(g) for g in predictions.column("gold").to_pylist()]
    assert golds[0] == [a["text"] for a in xquad.column("answers")[0].as_py()]


def test_qa_no_answer_only_for_v2_tables(tokenizer, xquad):
    task = get_task("extractive_qa")
    v1 = xquad.slice(0, 4)
    answers = v1.column("answers").to_pylist()
    answers[1] = []  # make it a SQuAD v2 table with one unanswerable question
    v2 = v1.set_column(v1.schema.get_field_index("answers"), "answers",
                       pa.array(answers, v1.schema.field("answers").type))
    for table, expect_empty in ((v1, False), (v2, True)):
        features = task.featurize(table, tokenizer, 96, training=True, doc_stride=24)
        # [CLS] beats every span: the v2 table predicts "" everywhere, v1 never does.
        predicted = task.decode(table, features, oracle_outputs(features, cls_score=50.0), None)
        texts = predicted.column("predicted").to_pylist()
        assert all(t == "" for t in texts) == expect_empty
        assert all(t != "" for t in texts) == (not expect_empty)
    assert predicted.column("correct").to_pylist() == [False, True, False, False]


def test_squad_metric_normalisation_and_f1():
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert normalize_answer("「東京」。") == "東京"
    assert exact_match("the cat", ["A cat.", "dog"])
    assert f1_score("the big cat", ["big dog"]) == pytest.approx(0.5)
    assert f1_score("red fox", ["fox red", "x"]) == 1.0
    assert f1_score("", []) == 1.0 and f1_score("x", []) == 0.0 and not exact_match("x", [])


# --- multiple choice ----------------------------------------------------------------------------

def test_mc_mixed_ending_counts_mask_padding(base, tokenizer):
    from xexp.runtime.learning.training_setup import build_model

    task = get_task("multiple_choice")
    table = rows("hellaswag/val.jsonl", "multiple_choice", 0, 2)
    endings = table.column("endings").to_pylist()
    endings[0] = endings[0][:3]
    table = table.set_column(2, "endings", pa.array(endings, pa.list_(pa.string())))
    labels = [min(x, 2) if i == 0 else x for i, x in enumerate(table.column("label").to_pylist())]
    table = table.set_column(3, "label", pa.array(labels, pa.int64()))
    features = task.featurize(table, tokenizer, 64, training=True)
    batch = task.collate(features.items, tokenizer.pad_token_id)
    assert batch["input_ids"].shape[:2] == (2, 4) and batch["present"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    model = build_model(base, task, seed=0)
    with torch.no_grad():
        outputs = task.split_outputs(model(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}), batch)
    assert [len(o) for o in outputs] == [3, 4]
    predictions = task.decode(table, features, outputs, model.config)
    for probs in predictions.column("probs").to_pylist():
        assert sum(probs) == pytest.approx(1.0)


# --- every task type trains and evaluates ------------------------------------------------------

@pytest.mark.parametrize("task_type, path, metric", [
    ("nli", "mnli/dev_matched.jsonl", "accuracy"),
    ("extractive_qa", "xquad/xquad.en.json", "f1"),
    ("multiple_choice", "hellaswag/val.jsonl", "accuracy"),
])
def test_train_a_few_steps_then_evaluate(base, tmp_path, task_type, path, metric):
    train_table = rows(path, task_type, 0, 24)
    dev_table = rows(path, task_type, 24, 32)
    seen = []
    manifest = train(base=base, task_type=task_type, train_table=train_table, dev_table=dev_table,
                     hparams=TrainSettings(batch=8, max_steps=3, max_len=96, lr=1e-3), log_every=1,
                     seed=0, out_dir=tmp_path / "out", scratch_dir=tmp_path / "scratch", progress=seen.append)
    assert manifest.steps == 3 and manifest.train_examples == 24
    assert [p["step"] for p in seen] == [1, 2, 3] and all(p["total"] == 3 for p in seen)
    assert 0.0 <= manifest.dev_metric <= 1.0
    curve = json.loads((tmp_path / "out" / "curve.json").read_text())
    assert curve["metric"] == metric and len(curve["loss"]) == 3 and curve["dev"][-1]["step"] == 3
    predictions = evaluate(model_dir=str(tmp_path / "out" / "checkpoint"), task_type=task_type,
                           table=dev_table, batch=4, max_len=96)
    assert predictions.column("id").to_pylist() == dev_table.column("id").to_pylist()
    assert set(PREDICTION_COLUMNS) <= set(predictions.column_names)
    score = get_task(task_type).metric(predictions)
    assert score == pytest.approx(manifest.dev_metric), "the saved checkpoint is the one scored on dev"
    if task_type == "nli":
        probs = predictor(str(tmp_path / "out" / "checkpoint"), max_len=96)(
            list(zip(dev_table.column("premise").to_pylist(), dev_table.column("hypothesis").to_pylist())))
        assert probs.shape == (8, 3)
        assert np.allclose(probs, np.array(predictions.column("probs").to_pylist()), atol=1e-6)
