"""The report tests' inputs: real XNLI text, perturbed and predicted with a known effect.

2 variants × 2 languages (en, hi) × (clean + 2 perturbations + 1 attack) × 2 seeds: the
intermediate variant "mnli" loses much less accuracy to typos and to the attack than the
baseline "none", and the same to the negation stress test (EFFECT). Every file is written in
its own row order, so the report must pair by id. tests/test_report.py and
tests/test_targets_run.py build reports from them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import needs
from xexp.runtime.data.formats import NLI_LABELS
from xexp.runtime.report import ReportCell

LANGUAGES = ("en", "hi")
VARIANTS = ("none", "mnli")
SEEDS = (1, 2)
N_EXAMPLES = 240
PERTURBATIONS = {"typo": "char_swap(p=0.06)", "negation": 'stress("negation") on hypothesis'}
ATTACK = ("attack", "char_attack(max_edits=4)")
# Generator of the known effect: clean accuracy, P(correct stays correct | input changed),
# attack success probability on correctly classified examples.
EFFECT = {
    "none": {"clean": 0.78, "typo": 0.70, "negation": 0.85, "attack": 0.70},
    "mnli": {"clean": 0.84, "typo": 0.95, "negation": 0.85, "attack": 0.30},
}
META = {"experiment": "xnli_robustness_test", "run_id": "run-0001",
        "spec": "experiment xnli_robustness_test\nintermediate = [none, mnli]\n",
        "versions": {"xexp": "0.1.0"}}


def _rng(*labels: object) -> np.random.Generator:
    digest = hashlib.sha256("/".join(map(str, labels)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _xnli(language: str) -> pd.DataFrame:
    path = needs.data("xnli", f"dev.{language}.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()[:N_EXAMPLES]
    frame = pd.DataFrame([json.loads(line) for line in lines])
    frame.insert(0, "id", [f"{language}-{i}" for i in range(len(frame))])
    return frame


def _swap_letters(text: str, rng: np.random.Generator) -> str:
    chars = list(text)
    for i in range(len(chars) - 1):
        if chars[i].isalpha() and chars[i + 1].isalpha() and rng.random() < 0.06:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def _perturb(clean: pd.DataFrame, condition: str) -> pd.DataFrame:
    out = clean.copy()
    if condition == "typo":
        out["premise"] = [_swap_letters(t, _rng("typo", i, "p")) for i, t in zip(out.id, out.premise)]
        out["hypothesis"] = [_swap_letters(t, _rng("typo", i, "h"))
                             for i, t in zip(out.id, out.hypothesis)]
    else:
        out["hypothesis"] = out["hypothesis"] + " and false is not true"
    out["changed"] = (out.premise != clean.premise) | (out.hypothesis != clean.hypothesis)
    return out


def _wrong(gold: str, rng: np.random.Generator) -> str:
    others = [label for label in NLI_LABELS if label != gold]
    return others[int(rng.integers(len(others)))]


def _probs(predicted: list[str]) -> list[list[float]]:
    return [[0.8 if label == p else 0.1 for label in NLI_LABELS] for p in predicted]


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # every file in its own row order: pairing must go by id, not by position
    order = int(hashlib.sha256(str(path.relative_to(path.parents[3])).encode()).hexdigest()[:8], 16)
    shuffled = frame.sample(frac=1.0, random_state=order)
    pq.write_table(pa.Table.from_pandas(shuffled, preserve_index=False), path)
    return path


def write_inputs(root: Path) -> list[ReportCell]:
    cells = []
    for language in LANGUAGES:
        clean = _xnli(language)
        clean_path = _write(clean, root / "data" / language / "clean.parquet")
        perturbed = {c: _perturb(clean, c) for c in PERTURBATIONS}
        perturbed_paths = {c: _write(f, root / "data" / language / f"{c}.parquet")
                           for c, f in perturbed.items()}
        for variant in VARIANTS:
            effect = EFFECT[variant]
            for seed in SEEDS:
                rng = _rng(variant, language, seed)
                gold = clean.label.tolist()
                correct = rng.random(len(clean)) < effect["clean"]
                predicted = [g if ok else _wrong(g, rng) for g, ok in zip(gold, correct)]
                base = root / "pred" / variant / language / str(seed)

                def cell(condition, kind, path, dataset, description=""):
                    return ReportCell(model="xlmr", variant=variant, language=language,
                                      condition=condition, description=description, kind=kind,
                                      seed=seed, predictions=path, dataset=dataset)

                frame = pd.DataFrame({"id": clean.id, "gold": gold, "predicted": predicted,
                                      "correct": correct, "probs": _probs(predicted)})
                cells.append(cell("clean", "evaluate", _write(frame, base / "clean.parquet"),
                                  clean_path))
                for condition, description in PERTURBATIONS.items():
                    changed = perturbed[condition].changed.to_numpy()
                    keep = rng.random(len(clean)) < effect[condition]
                    fixed = rng.random(len(clean)) < 0.10
                    now_correct = np.where(changed, np.where(correct, keep, fixed), correct)
                    now_predicted = [p if (ok == was) else (g if ok else _wrong(g, rng))
                                     for p, g, ok, was in zip(predicted, gold, now_correct, correct)]
                    frame = pd.DataFrame({"id": clean.id, "gold": gold, "predicted": now_predicted,
                                          "correct": now_correct, "probs": _probs(now_predicted)})
                    cells.append(cell(condition, "evaluate",
                                      _write(frame, base / f"{condition}.parquet"),
                                      perturbed_paths[condition], description))
                cells.append(cell(ATTACK[0], "attack", _write(
                    _attack_frame(clean, predicted, correct, effect["attack"], rng),
                    base / "attack.parquet"), clean_path, ATTACK[1]))
    return cells


def _attack_frame(clean: pd.DataFrame, predicted: list[str], correct: np.ndarray,
                  success: float, rng: np.random.Generator) -> pd.DataFrame:
    status = np.where(~correct, "skipped", np.where(rng.random(len(clean)) < success,
                                                     "succeeded", "failed"))
    adv_predicted = [_wrong(g, rng) if s == "succeeded" else p
                     for g, p, s in zip(clean.label, predicted, status)]
    attacked = status != "skipped"
    words_total = [len(p.split()) + len(h.split()) for p, h in zip(clean.premise, clean.hypothesis)]
    adv_premise = [_swap_letters(p, _rng("attack", i)) if a else p
                   for i, p, a in zip(clean.id, clean.premise, attacked)]
    adv_hypothesis = [h[:-1] + "!" if a and len(h) > 1 else h
                      for h, a in zip(clean.hypothesis, attacked)]
    return pd.DataFrame({
        "id": clean.id, "gold": clean.label, "predicted": predicted, "correct": correct,
        "probs": _probs(predicted), "status": status, "adv_predicted": adv_predicted,
        "adv_correct": status == "failed",
        "words_changed": np.where(attacked, rng.integers(1, 5, len(clean)), 0),
        "words_total": words_total,
        "queries": np.where(attacked, rng.integers(10, 60, len(clean)), 0),
        "adv_premise": adv_premise, "adv_hypothesis": adv_hypothesis,
    })
