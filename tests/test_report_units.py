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
