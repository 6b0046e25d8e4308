"""`xexp run` of multi-task and translated intermediate variants on real Ray, real files and a
tiny model: three task types mixed into one intermediate training, XNLI pairs read in three
languages as translated intermediate data, MNLI mixed with masked-LM text in two languages, each
followed by the target training."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

import needs
from xexp.running import run_spec

REPO = Path(__file__).resolve().parents[1]


def records(store: Path, kind: str) -> dict[str, dict]:
    out = {}
    for record in store.glob(f"{kind}/*/_complete.json"):
        data = json.loads(record.read_text())
        out[data["name"]] = data
    return out


@pytest.mark.needs_data
def test_multi_task_and_translated_variants_run_end_to_end(tmp_path, ray_local):
    data = needs.data()
    spec = tmp_path / "mix_tiny.xexp"
    shutil.copy(REPO / "tests" / "specs" / "mix_tiny.xexp", spec)
    summary = run_spec(spec, variables={"data": str(data)}, show_progress=False)
    assert summary["failed"] == 0 and summary["executed"] == summary["nodes"]
    store = Path(summary["store"])
    trains = records(store, "train")
    loads = {r["key"]: r for r in records(store, "load").values()}

    multi = trains["train:multi/seed1"]
    members = multi["manifest"]["members"]
    assert [m["member"] for m in members] == ["0:nli", "1:extractive_qa", "2:multiple_choice"]
    assert [m["train_examples"] for m in members] == [64, 4, 32]
    assert all(m["batches_per_epoch"] >= 1 for m in members)
    assert multi["manifest"]["steps"] == sum(m["batches_per_epoch"] for m in members)  # one epoch
    curve = json.loads((store / "train" / multi["key"] / "curve.json").read_text())
    assert set(curve["dev"][-1]["members"]) == {"0:nli", "1:extractive_qa", "2:multiple_choice"}

    translated = trains["train:translated/seed1"]
    assert translated["manifest"]["train_examples"] == 3 * 48  # en, de and fr rows, one after the other
    read = {loads[ref["key"]]["params"]["language"] for name, ref in translated["inputs"].items()
            if name.startswith("train0.")}
    assert read == {"en", "de", "fr"}

    # MLM mixed in: English MNLI pairs and masked-LM text read in en and de, one shared encoder
    mlm = trains["train:mlm/seed1"]
    assert [m["member"] for m in mlm["manifest"]["members"]] == ["0:nli", "1:masked_lm"]
    assert [m["train_examples"] for m in mlm["manifest"]["members"]] == [64, 2 * 48]
    read = {loads[ref["key"]]["params"]["language"] for name, ref in mlm["inputs"].items()
            if name.startswith("train1.")}
    assert read == {"en", "de"}
    curve = json.loads((store / "train" / mlm["key"] / "curve.json").read_text())
    assert set(curve["dev"][-1]["members"]) == {"0:nli", "1:masked_lm"}

    # each variant's checkpoint starts its target training, and the report compares the variants
    for variant in ("multi", "translated", "mlm"):
        target = trains[f"train:{variant}→xnli/seed1"]
        assert target["inputs"]["base"]["key"] == trains[f"train:{variant}/seed1"]["key"]
    with open(Path(summary["report"]) / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    variants = {(r["variant"], r["language"]) for r in rows if r["perturbation"] == "clean"}
    assert {(v, lang) for v in ("none", "multi", "translated", "mlm") for lang in ("en", "de")} <= variants
