"""results.csv and results.json: the machine-readable report, byte-stable across rebuilds.

Numbers are written with 6 significant digits: enough for any downstream analysis of
percentages, and it keeps the last-bit noise of floating point out of the files so two
builds from the same inputs are identical. Missing values are empty (CSV) or null (JSON).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from xexp.runtime.report.rows import ALL_SEEDS, COLUMNS, MACRO

METHOD = {
    "units": "all accuracies, drops, deltas, consistency, changed and attack rates are percentages "
             "(points); avg_queries is a count",
    "drop": "clean_acc - perturbed_acc on the same examples (paired by example id)",
    "robustness_delta": "drop(baseline) - drop(variant); > 0 means the variant is more robust",
    "clean_acc_delta": "clean_acc(variant) - clean_acc(baseline), on the 'clean' rows",
    "worst_case": "HELM robustness: an example is correct only if correct on the clean input and "
                  "under every model-agnostic perturbation",
    "attack": "TextAttack summary: accuracy under attack = failed/total, success rate = "
              "succeeded/(succeeded+failed), % words perturbed over successful attacks, "
              "avg queries over attacked examples; clean accuracy = original accuracy",
    "seed_all": "seed 'all' rows average the per-seed values; n sums examples over seeds",
    "macro": "language 'macro' rows average the languages; n sums over languages",
    "ci": "percentile bootstrap; examples resampled jointly for baseline and variant, clean and "
          "perturbed; with several seeds hierarchical (seeds, then examples within seed; seed "
          "draws shared across languages); macro: per-language replicates averaged",
    "p_value": "exact two-sided paired sign-flip permutation test over examples (all seeds "
               "pooled), conditional on the trained models; only on seed 'all' rows",
    "p_holm": "Holm correction across every seed 'all' row that has a p-value (all variants, "
              "languages incl. macro, conditions incl. clean)",
}


def clean_number(value: Any) -> Any:
    """Round floats to 6 significant digits; NaN becomes None."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        rounded = float(f"{value:.6g}")
        return 0.0 if rounded == 0 else rounded
    return value


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = [clean_number(row[c]) for c in COLUMNS]
        writer.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)
                         for v in values])
    return buffer.getvalue()


def headline(rows: list[dict]) -> list[dict]:
    """The pooled deltas the lead's CLI prints: macro rows, or the language rows of a
    single-language report."""
    pooled = [r for r in rows if r["seed"] == ALL_SEEDS and r["delta_metric"]]
    has_macro = {(r["model"], r["variant"]) for r in pooled if r["language"] == MACRO}
    chosen = [r for r in pooled
              if (r["language"] == MACRO) == ((r["model"], r["variant"]) in has_macro)]
    keys = ("model", "variant", "language", "perturbation", "delta_metric", "clean_acc",
            "perturbed_acc", "delta_vs_baseline", "ci_low", "ci_high", "p_holm")
    return [{k: clean_number(r[k]) for k in keys} for r in chosen]


def json_text(rows: list[dict], meta: dict, settings: dict, warnings: list[str]) -> str:
    document = {
        "meta": meta,
        "settings": settings,
        "method": METHOD,
        "headline": headline(rows),
        "warnings": warnings,
        "columns": list(COLUMNS),
        "rows": [{c: clean_number(row[c]) for c in COLUMNS} for row in rows],
    }
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
