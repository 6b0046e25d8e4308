"""A retrieval target end to end on real text: XNLI dev is sentence-parallel across its 15
languages, so retrieving the English premise from its German, French or Chinese translation is a
real Tatoeba-style task. The files are written in Tatoeba's layout (`tatoeba.<lang>-eng.<lang>`
and `.eng`), read by the `tatoeba` format, run through Ray with a typo perturbation of the
query side (a tiny model, for time), and the report shows accuracy, the delta against `none`
and its interval. The packaged multilingual-e5-small encoder then retrieves the same pairs
through the same evaluation code, without Ray, to show the metric measures what it should."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import needs
from xexp.compiler import compile_text

LANGUAGES = ("de", "fr", "zh")
PAIRS = 40

SPEC = """\
experiment retrieval_e2e
var data = "."
var xnli = "."
model tiny = tiny(layers=2, hidden=64, heads=2, intermediate=128, seed=0)

task mnli    = nli(local("{data}/mnli/dev_matched.jsonl"), train="train[:96]", dev="train[96:128]")
task nli     = nli(synthetic("nli", size=48), train="train", dev="dev", test="test")
task tatoeba = retrieval(local("{xnli}/tatoeba.{lang}-eng.*", format="tatoeba"), test="test")

intermediate = [none mnli]
target       = [nli trained_on nli in [en], tatoeba in [de fr zh]]

perturbations {
  typo = char_noise(p=0.15)
}

train intermediate { lr=1e-2 batch=16 epochs=2 max_len=48 }  # enough to move the tiny encoder
train target       { lr=3e-3 batch=16 epochs=1 max_len=48 }
evaluate           { batch=64 max_len=64 }
evaluate tatoeba   { batch=64 max_len=96 }
report             { bootstrap=200 }
"""


def tatoeba_from_xnli(folder: Path) -> Path:
    """The first PAIRS distinct English premises of XNLI dev and their translations, in
    Tatoeba's layout (XNLI repeats each premise for its three hypotheses)."""
    rows = {lang: [json.loads(line)["premise"] for line in needs.data("xnli", f"dev.{lang}.jsonl").open()]
            for lang in ("en", *LANGUAGES)}
    first: dict[str, int] = {}
    for i, premise in enumerate(rows["en"]):
        first.setdefault(premise, i)
    keep = sorted(first.values())[:PAIRS]
    folder.mkdir(parents=True, exist_ok=True)
    for lang in LANGUAGES:
        (folder / f"tatoeba.{lang}-eng.{lang}").write_text("".join(rows[lang][i] + "\n" for i in keep))
        (folder / f"tatoeba.{lang}-eng.eng").write_text("".join(rows["en"][i] + "\n" for i in keep))
    return folder


def test_retrieval_target_from_xnli_runs_with_a_perturbation_and_reports_its_delta(tmp_path, ray_local):
    from xexp.running import run_spec

    variables = {"data": str(needs.data()), "xnli": str(tatoeba_from_xnli(tmp_path / "tatoeba"))}
    spec = tmp_path / "retrieval.xexp"
    spec.write_text(SPEC)
    _, graph = compile_text(SPEC, str(spec), variables)
    by_name = {n.name: n for n in graph.nodes}
    # no target training: `none` embeds with the pretrained model, `mnli` with its intermediate training
    assert not [n for n in by_name if n.startswith("train:") and "tatoeba" in n]
    assert by_name["evaluate:none→tatoeba/de/clean/seed1"].inputs["model"] == by_name["model:tiny"].key
    assert by_name["evaluate:mnli→tatoeba/de/typo/seed1"].inputs["model"] == by_name["train:mnli/seed1"].key
    retrieval_eval = by_name["evaluate:none→tatoeba/de/clean/seed1"].params
    assert retrieval_eval["max_len"] == 96 and retrieval_eval["task_params"]["pooling"] == "mean"

    summary = run_spec(spec, variables=variables, show_progress=False)
    assert summary["failed"] == 0, summary
    store = Path(summary["store"])

    # per-query correctness, recomputed from the stored predictions, is what the report shows
    accuracy, perturbed = {}, {}
    for record_path in store.glob("evaluate/*/_complete.json"):
        record = json.loads(record_path.read_text())
        chain, lang, condition, _ = record["name"].removeprefix("evaluate:").split("/")
        if not chain.endswith("tatoeba"):
            continue
        table = pq.read_table(record_path.parent / "predictions.parquet")
        assert table.num_rows == PAIRS
        correct = table.column("correct").to_pylist()
        accuracy[(chain.split("→")[0], lang, condition)] = 100 * sum(correct) / len(correct)
    # the perturbation changed the non-English side only
    for record_path in store.glob("perturb/*/_complete.json"):
        data = pq.read_table(record_path.parent / "data.parquet").to_pylist()
        if "query" in data[0]:
            perturbed[json.loads(record_path.read_text())["name"]] = data
    assert len(perturbed) == len(LANGUAGES)
    english = (Path(variables["xnli"]) / "tatoeba.de-eng.eng").read_text().splitlines()
    for rows in perturbed.values():
        assert [r["candidate"] for r in rows] == english
        assert sum(r["changed"] for r in rows) > PAIRS // 2
    # even a random tiny byte-level encoder matches Latin-script translations above chance (1 in
    # 40) through the characters they share with English (names, numbers); a real encoder's
    # accuracy is checked without Ray below
    assert all(accuracy[("none", lang, "clean")] > 100 / PAIRS for lang in ("de", "fr")), accuracy

    with (Path(summary["report"]) / "results.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["target"] == "tatoeba" and r["seed"] == "1"]
    seen = {(r["variant"], r["language"], r["perturbation"]) for r in rows}
    assert {("mnli", lang, c) for lang in (*LANGUAGES, "macro") for c in ("clean", "typo")} <= seen
    for row in rows:
        if row["language"] != "macro" and row["perturbation"] in ("clean", "typo"):
            column = "clean_acc" if row["perturbation"] == "clean" else "perturbed_acc"
            assert float(row[column]) == pytest.approx(
                accuracy[(row["variant"], row["language"], row["perturbation"])], abs=1e-3)
    clean_macro = next(r for r in rows if (r["variant"], r["language"], r["perturbation"]) == ("mnli", "macro", "clean"))
    low, delta, high = (float(clean_macro[k]) for k in ("ci_low", "delta_vs_baseline", "ci_high"))
    assert low <= delta <= high and low < high
    typo_macro = next(r for r in rows if (r["variant"], r["language"], r["perturbation"]) == ("mnli", "macro", "typo"))
    assert float(typo_macro["perturbed_ci_low"]) <= float(typo_macro["perturbed_acc_delta"]) <= float(
        typo_macro["perturbed_ci_high"])

    summary_text = (Path(summary["report"]) / "summary.txt").read_text()
    section = summary_text[summary_text.index("=== target tatoeba"):]
    assert section.startswith("=== target tatoeba (retrieval, not trained; retrieval accuracy; de fr zh)")
    assert "Clean retrieval accuracy" in section and "Δ vs none [CI]" in section
    mnli_line = next(line for line in section.splitlines() if line.startswith("mnli     macro"))
    assert f"{float(clean_macro['delta_vs_baseline']):+.1f} [{low:+.1f}, {high:+.1f}]" in mnli_line
    markdown = (Path(summary["report"]) / "report.md").read_text()
    assert "## Target tatoeba (retrieval, not trained; retrieval accuracy; de fr zh)" in markdown


def test_a_real_multilingual_encoder_retrieves_xnli_translations(tmp_path):
    """multilingual-e5-small (packaged, offline), layer 7 of 12 by XTREME's rule, mean pooling:
    most of the 40 English premises are found from their German, French and Chinese
    translations, and BUCC-style mining of the same pairs finds most gold pairs. (Measured when
    written: accuracy 1.0 / 0.975 / 0.925, mining F1 1.0 / 0.987 / 0.974 for de / fr / zh.)"""
    from xexp.runtime.data.sources import load_rows
    from xexp.runtime.learning.evaluation import load_for_inference, predict_table
    from xexp.runtime.learning.models.packaged import prepare_packaged
    from xexp.runtime.learning.tasks.retrieval import bucc_scores

    folder = tatoeba_from_xnli(tmp_path / "tatoeba")
    model_dir = str(prepare_packaged("multilingual-e5-small"))  # the user cache: converted once
    nearest, tokenizer, model, device = load_for_inference(model_dir, "retrieval", {"metric": "accuracy"})
    mining = nearest.configured({"metric": "f1"})
    for lang in LANGUAGES:
        source = {"source": "local", "path": str(folder / "tatoeba.{lang}-eng.*"), "format": "tatoeba"}
        table = load_rows(source, task_type="retrieval", split="test", rows=None, language=lang)
        found = predict_table(nearest, tokenizer, model, device, table, batch=32, max_len=128)
        accuracy = sum(found.column("correct").to_pylist()) / PAIRS
        mined = bucc_scores(predict_table(mining, tokenizer, model, device, table, batch=32, max_len=128))
        print(lang, accuracy, mined)
        assert accuracy >= 0.8 and mined["f1"] >= 0.8, (lang, accuracy, mined)
