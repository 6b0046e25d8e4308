"""End to end (issue 25): char_attack, codeswitch_attack and word_attack on an extractive QA, a
multiple-choice and a tagging target, through `xexp run`'s entry point on tiny models and real
files, to report rows with the attack columns; each task's records keep its own invariants
(a QA gold answer stays a span of the attacked context, a tagged sentence keeps its tokens)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import needs

pytestmark = pytest.mark.slow  # one tiny three-target run, a few minutes on 2 busy cores

SPEC = """\
experiment attack_targets
var d = "."
model m = tiny(layers=1, hidden=16, heads=2, intermediate=32)
model mlm = tiny(layers=1, hidden=16, heads=2, intermediate=32, seed=5)
task qa_src = extractive_qa(local("{d}/xquad/xquad.en.json"), train="train[:40]")
task qa = extractive_qa(local("{d}/xquad/xquad.en.json"), test="test[200:212]", doc_stride=8)
task mc_src = multiple_choice(synthetic("multiple_choice", size=40), train="train")
task mc = multiple_choice(synthetic("multiple_choice", size=40, seed=2), test="test[:12]")
task pos_src = token_classification(local("{d}/ud/en_ewt-ud-test.conllu"), train="train[:60]")
task pos = token_classification(local("{d}/ud/en_ewt-ud-test.conllu"), test="test[100:112]")
intermediate = [none]
target = [qa trained_on qa_src, mc trained_on mc_src, pos trained_on pos_src]
languages = [en]
train target { epochs=1 batch=8 max_len=48 }
evaluate { batch=16 max_len=48 }
report { bootstrap=100 examples=2 }
perturbations {
  chars  = char_attack(max_edits=2, max_queries=15)
  switch = codeswitch_attack(lexicon=synthetic(), languages=[de], max_queries=15)
  words  = word_attack(mlm=mlm, max_words=2, max_queries=15, candidates=3)
}
"""


def test_every_attack_runs_on_qa_multiple_choice_and_tagging_targets(tmp_path, ray_local):
    from xexp.running import run_spec

    data = needs.data()
    needs.data("xquad", "xquad.en.json")
    needs.data("ud", "en_ewt-ud-test.conllu")
    spec = tmp_path / "attacks.xexp"
    spec.write_text(SPEC)
    summary = run_spec(spec, variables={"d": str(data)}, show_progress=False)
    assert summary["failed"] == 0, json.dumps(summary, indent=1, default=str)[:3000]
    store = Path(summary["store"])

    records: dict[str, list[dict]] = {}
    for complete in store.glob("attack/*/_complete.json"):
        name = json.loads(complete.read_text())["name"]
        records[name] = pq.read_table(complete.parent / "predictions.parquet").to_pylist()
    assert len(records) == 9, sorted(records)  # three attacks on each of three targets
    for name, rows in records.items():
        assert len(rows) == 12, name
        for row in rows:
            assert row["status"] in ("skipped", "succeeded", "failed")
            assert (row["status"] == "skipped") == (not row["correct"])
            assert row["queries"] <= 15 and row["words_changed"] <= (2 if "switch" not in name else 4)
            adv = json.loads(row["adv_text"])
            if "/qa/" in name or "→qa/" in name:
                assert set(adv) == {"question", "context"}
                assert 0.0 <= row["adv_f1"] <= 1.0 and 0.0 <= row["f1"] <= 1.0
                for answer in json.loads(row["gold"]):
                    assert answer in adv["context"]  # the gold answer is still in the context
            elif "→mc/" in name:
                assert "context" in adv and "ending0" in adv
            else:
                assert set(adv) == {"tokens"}
                assert len(adv["tokens"].split("\n")) == len(row["gold"].split(" "))  # one tag per token
    assert any(r["words_changed"] > 0 for rows in records.values() for r in rows), "no attack changed anything"

    report = json.loads((Path(summary["report"]) / "results.json").read_text())
    attacked = {(r["target"], r["perturbation"]) for r in report["rows"]
                if r.get("attack_success_rate") is not None or r.get("accuracy_under_attack") is not None}
    for target in ("qa", "mc", "pos"):
        for attack in ("chars", "switch", "words"):
            assert (target, attack) in attacked, (target, attack, sorted(attacked))
