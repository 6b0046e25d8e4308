"""The report's bootstrap resamples examples; a tagging target's predictions are one row per word,
and its examples are sentences: the words of one sentence are resampled together (a cluster
bootstrap), so a sentence's correlated words do not count as independent evidence."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from xexp.runtime.report import ReportCell, ReportSettings, build_report

SENTENCES, WORDS = 40, 10


def predictions(path, *, tagged: bool) -> ReportCell:
    """Half the sentences tagged all right, half all wrong: 50% accuracy, all of its variance
    between sentences."""
    ids, sentences, correct = [], [], []
    for s in range(SENTENCES):
        for w in range(WORDS):
            ids.append(f"s{s:03d}:{w}" if tagged else f"e{s:03d}-{w}")
            sentences.append(f"s{s:03d}")
            correct.append(s % 2 == 0)
    columns = {"id": ids, "gold": ["NOUN"] * len(ids),
               "predicted": ["NOUN" if c else "VERB" for c in correct], "correct": correct,
               "probs": pa.array([[] for _ in ids], pa.list_(pa.float64()))}
    if tagged:
        columns["sentence"] = sentences
    pq.write_table(pa.table(columns), path)
    return ReportCell(model="m", variant="none", language="de", condition="clean", kind="evaluate", seed=1,
                      predictions=path)


def clean_interval_width(tmp_path, tagged: bool) -> float:
    cell = predictions(tmp_path / "p.parquet", tagged=tagged)
    build_report([cell], ReportSettings(bootstrap=2000, examples=0), tmp_path / "out", {"experiment": "units"})
    row = next(r for r in json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
               if r["seed"] == 1)
    assert row["clean_acc"] == 50.0
    return row["clean_ci_high"] - row["clean_ci_low"]


def test_tagging_intervals_resample_sentences_not_words(tmp_path):
    # 40 independent sentences: a 95% interval of about ±1.96·sqrt(.25/40) = ±15.5 points
    width = clean_interval_width(tmp_path, tagged=True)
    assert 24 < width < 38, width


def test_rows_without_sentences_are_resampled_one_by_one(tmp_path):
    # 400 independent examples: about ±1.96·sqrt(.25/400) = ±4.9 points
    width = clean_interval_width(tmp_path, tagged=False)
    assert 6 < width < 14, width


def test_a_perturbed_tagging_target_gets_examples_of_its_changed_words(tmp_path):
    """Report examples of a tagging target: a sentence before and after, with the tags each
    variant predicted for the changed words (they used to be skipped for tagging)."""
    sentences = {"s0": (["The", "cat", "sleeps", "."], ["DET", "NOUN", "VERB", "PUNCT"]),
                 "s1": (["A", "dog", "runs", "."], ["DET", "NOUN", "VERB", "PUNCT"])}
    perturbed = {"s0": ["The", "cta", "sleeps", "."], "s1": ["A", "dog", "runs", "."]}
    clean_data, perturbed_data = tmp_path / "clean.parquet", tmp_path / "perturbed.parquet"
    pq.write_table(pa.table({"id": list(sentences), "tokens": [t for t, _ in sentences.values()],
                             "tags": [g for _, g in sentences.values()]}), clean_data)
    pq.write_table(pa.table({
        "id": list(sentences), "tokens": list(perturbed.values()), "tags": [g for _, g in sentences.values()],
        "changed": [True, False],
        "changed_tokens": [[a != b for a, b in zip(sentences[s][0], perturbed[s])] for s in sentences]}),
        perturbed_data)

    def tagged(path, wrong: set[str]):
        ids, sent, gold, predicted = [], [], [], []
        for s, (tokens, tags) in sentences.items():
            for k, tag in enumerate(tags):
                ids.append(f"{s}:{k}"), sent.append(s), gold.append(tag)
                predicted.append("VERB" if f"{s}:{k}" in wrong else tag)
        pq.write_table(pa.table({"id": ids, "gold": gold, "predicted": predicted,
                                 "correct": [p == g for p, g in zip(predicted, gold)],
                                 "probs": pa.array([[] for _ in ids], pa.list_(pa.float64())),
                                 "sentence": sent}), path)
        return path

    def cell(condition, predictions, dataset):
        return ReportCell(model="m", variant="none", language="de", condition=condition, kind="evaluate",
                          seed=1, predictions=predictions, dataset=dataset,
                          description="" if condition == "clean" else "char_noise(p=0.1)")

    cells = [cell("clean", tagged(tmp_path / "c.parquet", set()), clean_data),
             cell("typo", tagged(tmp_path / "t.parquet", {"s0:1"}), perturbed_data)]
    build_report(cells, ReportSettings(bootstrap=100, examples=2), tmp_path / "out", {"experiment": "tagged"})
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "id `s0`" in markdown and "id `s1`" not in markdown  # only the sentence that changed
    assert "gold NOUN" in markdown
    assert "- none: NOUN ✓ → VERB ✗" in markdown
    assert "1 of 4 words changed" in markdown


def test_tagging_p_value_counts_sentences_not_words(tmp_path):
    """Variant right on every word of 7 sentences where the baseline is wrong, wrong on 3 where
    the baseline is right (10 words each): the sign-flip test over the 10 sentences gives
    P(|2B − 10| ≥ 4), B ~ Bin(10, ½) = 0.34375; over 100 words it would be below 0.001."""
    def cell(variant: str, better: bool) -> ReportCell:
        ids, sent, correct = [], [], []
        for s in range(10):
            right = (s < 7) == better
            for w in range(10):
                ids.append(f"s{s}:{w}"), sent.append(f"s{s}"), correct.append(right)
        path = tmp_path / f"{variant}.parquet"
        pq.write_table(pa.table({"id": ids, "gold": ["NOUN"] * 100,
                                 "predicted": ["NOUN" if c else "VERB" for c in correct], "correct": correct,
                                 "probs": pa.array([[] for _ in ids], pa.list_(pa.float64())),
                                 "sentence": sent}), path)
        return ReportCell(model="m", variant=variant, language="de", condition="clean", kind="evaluate",
                          seed=1, predictions=path)

    build_report([cell("none", False), cell("v", True)], ReportSettings(bootstrap=100, examples=0),
                 tmp_path / "out", {"experiment": "p"})
    row = next(r for r in json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
               if r["variant"] == "v" and r["seed"] == "all")
    assert abs(row["p_value"] - 0.34375) < 1e-9, row["p_value"]


def test_qa_rows_get_f1_with_bootstrap_intervals_beside_exact_match(tmp_path):
    """Extractive QA predictions carry per-example F1: the rows report it (clean, perturbed,
    drop) with intervals resampled from the F1 values, not from exact match."""
    def cell(condition: str, f1: list[float]) -> ReportCell:
        ids = [f"q{k:03d}" for k in range(len(f1))]
        path = tmp_path / f"{condition}.parquet"
        pq.write_table(pa.table({"id": ids, "gold": ['["x"]'] * len(ids), "predicted": [str(v) for v in f1],
                                 "correct": [False] * len(ids),
                                 "probs": pa.array([[] for _ in ids], pa.list_(pa.float64())), "f1": f1}), path)
        return ReportCell(model="m", variant="none", language="en", condition=condition, kind="evaluate", seed=1,
                          predictions=path, description="" if condition == "clean" else "char_noise(p=0.1)")

    clean = [1.0 if k % 2 else 0.0 for k in range(400)]  # 50% F1, no exact match at all
    cells = [cell("clean", clean), cell("typo", [0.0] * 400)]
    build_report(cells, ReportSettings(bootstrap=2000, examples=0), tmp_path / "out", {"experiment": "qa"})
    rows = {r["perturbation"]: r for r in json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
            if r["seed"] == 1}
    typo = rows["typo"]
    assert typo["clean_acc"] == 0.0 and typo["clean_ci_high"] == 0.0
    assert typo["clean_f1"] == 50.0 and typo["perturbed_f1"] == 0.0 and typo["f1_drop"] == 50.0
    assert typo["clean_f1_ci_low"] < 50.0 < typo["clean_f1_ci_high"]
    assert 6 < typo["clean_f1_ci_high"] - typo["clean_f1_ci_low"] < 14  # ±1.96·sqrt(.25/400) ≈ ±4.9
    assert typo["f1_drop_ci_low"] < 50.0 < typo["f1_drop_ci_high"]
