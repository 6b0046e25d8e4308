"""The retrieval target type without Ray: its spec form and errors, its graph (no target
training), the Tatoeba and BUCC readers, and the metrics checked by hand against XTREME's
definitions (its third_party/utils_retrieve.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from xexp.compiler import SpecError, compile_text
from xexp.compiler.fmt import format_module
from xexp.compiler.parser import parse
from xexp.runtime.data.raw import DataError
from xexp.runtime.data.sources import load_rows
from xexp.runtime.learning.tasks.retrieval import Retrieval, bucc_scores, default_layer, f1_threshold, mine

SPEC = """\
experiment r
model m = tiny()
task mnli    = nli(synthetic("nli", size=60), train="train", dev="dev")
task xnli    = nli(synthetic("nli", size=60), test="test")
task tatoeba = retrieval(local("t/tatoeba.{lang}-eng.*", format="tatoeba"), test="test")
intermediate = [none mnli]
target = [xnli trained_on mnli, tatoeba in [de fr]]
languages = [en de]
perturbations {
  typo = char_noise(p=0.1)
}
"""


def compile_errors(text: str) -> str:
    with pytest.raises(SpecError) as err:
        compile_text(text, "r.xexp")
    return err.value.render()


def test_a_retrieval_target_has_no_training_and_reads_each_variants_encoder():
    spec, graph = compile_text(SPEC, "r.xexp")
    tatoeba = spec.targets[1]
    assert tatoeba.trained_on is None and tatoeba.languages == ["de", "fr"] and tatoeba.perturbations == ["typo"]
    nodes = {n.name: n for n in graph.nodes}
    trainings = sorted(n for n in nodes if n.startswith("train:"))
    assert trainings == ["train:mnli/seed1", "train:mnli→xnli/seed1", "train:none→xnli/seed1"]
    assert nodes["evaluate:none→tatoeba/fr/clean/seed1"].inputs["model"] == nodes["model:m"].key
    assert nodes["evaluate:mnli→tatoeba/fr/typo/seed1"].inputs["model"] == nodes["train:mnli/seed1"].key
    params = nodes["evaluate:none→tatoeba/de/clean/seed1"].params
    # XTREME's length (512) whatever `evaluate {}` says for the trained targets; XTREME's pooling
    assert params["max_len"] == 512
    assert params["task_params"] == {"pooling": "mean", "layer": None, "metric": "accuracy"}
    assert nodes["perturb:tatoeba/typo/de/seed1"].params["field"] == "query"
    assert "task_params" not in nodes["evaluate:none→xnli/de/clean/seed1"].params  # trained targets' keys stand


def test_a_retrieval_targets_own_evaluate_block_sets_its_length():
    _, graph = compile_text(SPEC + "evaluate tatoeba { max_len=128 }\n", "r.xexp")
    lengths = {n.params["max_len"] for n in graph.nodes if n.kind == "evaluate" and "tatoeba" in n.name}
    assert lengths == {128}


def test_trained_on_for_a_retrieval_target_is_an_error_with_caret_and_hint():
    text = SPEC.replace("tatoeba in [de fr]", "tatoeba trained_on mnli in [de fr]")
    rendered = compile_errors(text)
    assert "`tatoeba` is a retrieval target, which is not trained" in rendered
    assert "^^^^" in rendered and "without `trained_on`" in rendered


@pytest.mark.parametrize("where, expected", [
    ("intermediate = [none mnli]", "intermediate = [none tatoeba]"),
    ("intermediate = [none mnli]", "variant both = mix([mnli tatoeba])\nintermediate = [none both]"),
])
def test_a_retrieval_task_is_never_trained(where, expected):
    text = SPEC.replace(where, expected).replace('test="test")\nintermediate', 'train="test", test="test")\nintermediate')
    rendered = compile_errors(text)
    assert "task `tatoeba` is retrieval, which is never trained" in rendered and "make it a target" in rendered


def test_a_name_in_languages_where_a_call_belongs_says_so():
    """`NAME in [...]` parses as a target without training wherever a value stands; elsewhere
    it is refused in one line with a caret."""
    rendered = compile_errors(SPEC.replace("typo = char_noise(p=0.1)", "typo = char_noise in [de]"))
    assert "a perturbation is a call, e.g. char_noise(" in rendered and "^^^^" in rendered
    rendered = compile_errors(SPEC + "report { baseline = none in [de] }\n")
    assert "`none in [...]` only belongs in `target = [...]`" in rendered


def test_fmt_keeps_a_target_without_trained_on():
    module = parse(SPEC, "r.xexp")
    text = format_module(module)
    assert "tatoeba in [de fr]" in text and parse(text, "r.xexp") == module


def test_the_layer_is_xtremes_14_of_24_scaled_to_the_depth():
    assert default_layer(24) == 14  # XLM-R Large (jiant X-STILTs, XTREME)
    assert default_layer(12) == 7 and default_layer(6) == 4 and default_layer(2) == 1 and default_layer(1) == 1


# --- readers -----------------------------------------------------------------------------------

def test_tatoeba_layout_reads_line_aligned_pairs(tmp_path):
    (tmp_path / "tatoeba.de-eng.de").write_text("Ich bin hier.\nDas Haus ist rot.\n")
    (tmp_path / "tatoeba.de-eng.eng").write_text("I am here.\nThe house is red.\n")
    source = {"source": "local", "path": str(tmp_path / "tatoeba.{lang}-eng.*"), "format": "tatoeba"}
    table = load_rows(source, task_type="retrieval", split="test", rows=None, language="de")
    assert table.to_pylist() == [{"id": "0", "query": "Ich bin hier.", "candidate": "I am here."},
                                 {"id": "1", "query": "Das Haus ist rot.", "candidate": "The house is red."}]
    (tmp_path / "tatoeba.de-eng.eng").write_text("I am here.\n")
    with pytest.raises(DataError, match="2 lines .* 1: Tatoeba's files are line-aligned"):
        load_rows(source, task_type="retrieval", split="test", rows=None, language="de")


def test_a_layer_deeper_than_the_encoder_fails_its_evaluation_as_a_spec_error(tmp_path):
    """`layer=` is checked against the model only when it is loaded (a hub model's depth is not
    known before): the evaluation fails in one line, recorded as the spec's problem."""
    from xexp.errors import Category
    from xexp.runtime.engine.worker import NodeFailed, execute_node
    from xexp.runtime.engine.scheduler import DEFAULT_WORK
    from xexp.runtime.engine.store import Store

    (tmp_path / "tatoeba.de-eng.de").write_text("Ich bin hier.\nDas Haus ist rot.\n")
    (tmp_path / "tatoeba.de-eng.eng").write_text("I am here.\nThe house is red.\n")
    spec = f"""experiment deep
model m = tiny(layers=1, hidden=16, heads=2, intermediate=32, seed=0)
task tatoeba = retrieval(local("{tmp_path}/tatoeba.{{lang}}-eng.*", format="tatoeba"), test="test", layer=3)
intermediate = [none]
target = tatoeba in [de]
"""
    _, graph = compile_text(spec, str(tmp_path / "deep.xexp"))
    store, kinds = Store(tmp_path / "store"), {n.key: n.kind for n in graph.nodes}
    evaluate = next(n for n in graph.nodes if n.kind == "evaluate")
    for node in graph.nodes[:graph.nodes.index(evaluate)]:
        execute_node(node.model_dump(mode="json"), store.url, "r1", DEFAULT_WORK, {})
    with pytest.raises(NodeFailed) as failed:
        execute_node(evaluate.model_dump(mode="json"), store.url, "r1", DEFAULT_WORK,
                     {k: kinds[k] for k in evaluate.inputs.values()})
    failure = store.read_failure("evaluate", evaluate.key)
    assert failed.value.category == failure.category == Category.SPEC
    assert failure.message == "retrieval layer=3, but the encoder has 1 layers"


def test_bucc_layout_reads_gold_pairs_and_unpaired_sentences(tmp_path):
    (tmp_path / "de-en.dev.de").write_text("de-1\tHallo Welt.\nde-2\tNur deutsch.\n")
    (tmp_path / "de-en.dev.en").write_text("en-7\tOnly English.\nen-9\tHello world.\n")
    (tmp_path / "de-en.dev.gold").write_text("de-1\ten-9\n")
    source = {"source": "local", "path": str(tmp_path / "{lang}-en.{split}.*"), "format": "bucc"}
    table = load_rows(source, task_type="retrieval", split="dev", rows=None, language="de")
    assert table.to_pylist() == [{"id": "de-1", "query": "Hallo Welt.", "candidate": "Hello world."},
                                 {"id": "de-2", "query": "Nur deutsch.", "candidate": ""},
                                 {"id": "en-7", "query": "", "candidate": "Only English."}]
    (tmp_path / "de-en.dev.gold").write_text("de-1\ten-3\n")
    with pytest.raises(DataError, match=r"gold\s*:?.*line 1.*'en-3' is in neither sentence file"):
        load_rows(source, task_type="retrieval", split="dev", rows=None, language="de")
    (tmp_path / "de-en.dev.gold").unlink()
    with pytest.raises(DataError, match=r"one file of the gold pairs \(\*\.gold\); the path matched none"):
        load_rows(source, task_type="retrieval", split="dev", rows=None, language="de")


# --- metrics -----------------------------------------------------------------------------------

def test_f1_threshold_follows_xtremes_bucc_optimize_on_a_hand_made_case():
    """Hand check of XTREME's rule (utils_retrieve.py bucc_optimize): mined pairs ranked by score
    0.9 (gold), 0.8 (not), 0.7 (gold), 0.6 (not) with 3 gold pairs. Prefix F1s: 1 pair 2*1/(1+3)
    = 0.5, 2 pairs 2*1/(2+3) = 0.4, 3 pairs 2*2/(3+3) = 0.667, 4 pairs 2*2/(4+3) = 0.571: the
    best keeps 3 pairs and the threshold is halfway between 0.7 and 0.6."""
    scores = np.array([0.6, 0.9, 0.7, 0.8])
    right = np.array([False, True, True, False])
    assert f1_threshold(scores, right, 3) == pytest.approx(0.65)
    assert f1_threshold(scores[[1]], right[[1]], 1) == pytest.approx(0.9)  # every pair kept: its last score
    assert f1_threshold(scores, np.zeros(4, dtype=bool), 3) == 0.0


def test_bucc_scores_are_precision_recall_f1_of_mined_pairs():
    """3 gold pairs; 3 mined, 2 of them right: P = 2/3, R = 2/3, F1 = 2/3."""
    predictions = pa.table({"gold": ["e1", "e2", "e3", ""], "predicted": ["e1", "e2", "", "e4"]})
    scores = bucc_scores(predictions)
    assert scores == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})


def test_mining_pairs_each_sentence_once_by_margin():
    """Two queries both nearest to English 0; the ratio margin and the one-pair-per-sentence rule
    give query 0 English 0 (its exact match) and query 1 English 1."""
    y = np.eye(3)
    x = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0]])
    match, score = mine(x, y, k=2)
    assert match.tolist() == [0, 1]
    assert score[0] > score[1] > 0


def test_decode_tatoeba_accuracy_and_bucc_mining_from_vectors():
    table = pa.table({"id": ["a", "b", "c"], "query": ["qa", "qb", ""], "candidate": ["ea", "eb", "ec"]})
    # feature order: the queries, then the English sentences; qa ~ ea, qb ~ ec (wrong)
    vectors = [np.array(v, dtype=np.float32) for v in
               ([1, 0, 0], [0, 0.2, 1], [1, 0.1, 0], [0, 1, 0], [0, 0, 1])]
    out = Retrieval().decode(table, None, vectors, None).to_pydict()
    assert out["id"] == ["a", "b"] and out["gold"] == ["a", "b"]
    assert out["predicted"] == ["a", "c"] and out["correct"] == [True, False]
    mined = Retrieval(metric="f1").decode(table, None, vectors, None).to_pydict()
    assert mined["gold"] == ["a", "b"] and mined["predicted"][0] == "a"
