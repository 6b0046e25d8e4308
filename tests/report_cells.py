"""Predictions with known accuracies, written as real parquet files, for report tests that need
a whole report without training anything (report.tex, the MLflow lead figures)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xexp.runtime.data.formats import NLI_LABELS
from xexp.runtime.report import ReportCell

MODEL = "xlm_r&50%"  # names reach the tables verbatim, so specials must be escaped
LANGUAGES = ("de", "en")
VARIANTS = ("none", "mnli_v2")
SEEDS = (1, 2)
N = 60
CLEAN_ACC = {"none": 0.7, "mnli_v2": 0.8, "choice": 0.85, "squad": 0.75, "hellaswag_translated": 0.8}


def write_parquet(path, columns: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def prediction_cells(root, languages=LANGUAGES, variants=VARIANTS, seeds=SEEDS, conditions=("typo",),
           model=MODEL) -> tuple[list[ReportCell], dict]:
    """Predictions with a known clean accuracy per (variant, language), and perturbed conditions."""
    cells, correct_by = [], {}
    for language in languages:
        ids = [f"{language}-{i}" for i in range(N)]
        gold = [NLI_LABELS[i % 3] for i in range(N)]
        text = {"id": ids, "premise": ["p"] * N, "hypothesis": ["h"] * N, "label": gold}
        clean_data = write_parquet(root / language / "clean.parquet", text)
        data = {c: write_parquet(root / language / f"{c}.parquet", {**text, "changed": [i % 2 == 0 for i in range(N)]})
                for c in conditions}
        for v, variant in enumerate(variants):
            for seed in seeds:
                rng = np.random.default_rng([v, seed, len(language), ord(language[0])])
                correct = rng.random(N) < CLEAN_ACC[variant]
                correct_by.setdefault((variant, language), []).append(correct)
                for condition, where in (("clean", clean_data), *data.items()):
                    keep = 0.5 + 0.07 * seed * (v + 1)  # a different Δ per seed: the t-test has a spread
                    now = correct & (rng.random(N) < keep) if condition != "clean" else correct
                    predicted = [g if ok else NLI_LABELS[(NLI_LABELS.index(g) + 1) % 3] for g, ok in zip(gold, now)]
                    path = write_parquet(root / "pred" / variant / language / str(seed) / f"{condition}.parquet", {
                        "id": ids, "gold": gold, "predicted": predicted, "correct": now.tolist(),
                        "probs": [[0.8 if lab == p else 0.1 for lab in NLI_LABELS] for p in predicted]})
                    cells.append(ReportCell(model=model, variant=variant, language=language, condition=condition,
                                            description="" if condition == "clean" else "char_noise(p=0.1)",
                                            kind="evaluate", seed=seed, predictions=path, dataset=where))
    return cells, correct_by


