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

from xexp.runtime.report.rows import ALL_SEEDS, COLUMNS, F1_COLUMNS, MACRO, has_f1

METHOD = {
    "units": "all accuracies, drops, deltas, flip rates, consistency, changed and attack rates are "
             "percentages (points); avg_queries is a count",
    "perturbed_acc_delta": "accuracy under perturbation: accuracy under the condition, variant "
                           "minus baseline, on the same examples and the same seed label (clean "
                           "rows: clean accuracy; attacks: accuracy under attack). > 0: the variant "
                           "gets more examples right when the input is perturbed. It includes "
                           "every clean gain, so it is not robustness: a variant 10 points more "
                           "accurate clean with the baseline's chance of being flipped wins it too. "
                           "Tested (p_method), never starred (docs/statistics.md)",
    "flip_rate_delta": "robustness: flip rate = share of the examples both models got right "
                       "clean that the condition made wrong; variant minus baseline. < 0: the "
                       "variant's correct answers survive the perturbation more often (more "
                       "robust). Same examples for both models, so accuracy differences cannot "
                       "explain it; its method-level test is flip_p_method, the starred one",
    "p_method / flip_p_method": "method-level tests of perturbed_acc_delta and flip_rate_delta, "
                                "the seed (trained model) as the unit: one paired difference per "
                                "seed label (variant − baseline); t = mean / √(s²/k + v), v the "
                                "parallel-aware bootstrap variance of the seed-averaged difference "
                                "over examples (a method × example interaction is the same in every "
                                "seed, so s² alone would test this test set, not the method), with "
                                "Satterthwaite's degrees of freedom. Needs 2 paired seeds (NaN "
                                "otherwise)",
    "perturbed_ci / flip_ci": "the matching intervals, mean ± t·√(s²/k + v) (inference = seeds). "
                              "With a single paired seed (inference = examples, marked †) the "
                              "per-example bootstrap interval instead, which is conditional on "
                              "that one model",
    "family / p_holm": "the primary family is declared in the spec before results exist: "
                       "report { primary=[...] } (default: the worst case, one robustness row per "
                       "model and variant; attacks where there is no worst case), in each "
                       "condition's summary language (macro where it has several languages, else "
                       "its one language). p_holm is Holm's correction of flip_p_method over "
                       "exactly those rows (per target, or over every target with family=study); "
                       "α = 1 − ci. Every other row is exploratory: unadjusted p, never starred",
    "n_paired": "seed labels the variant shares with the baseline: the tests use those only "
                "(n_seeds counts the variant's seeds)",
    "mde_80 / flip_seed_sd": "primary rows: the smallest |Δ flip| the row's own test finds with 80% "
                             "power at Holm's first step of its family, from the observed spread "
                             "(√(s²/k + v) and its df); flip_seed_sd is s, the SD of the per-seed "
                             "Δ flip (runtime/report/power.py; xexp plan says the same before the run from "
                             "report { seed_sd })",
    "clean_inference": "seeds: clean_ci is over seeds plus the examples' variance (the method's "
                       "accuracy); examples: a per-example bootstrap of one model (†)",
    "outlier_seeds": "seed labels whose Δ flip or Δ perturbed lies far from the other seeds' "
                     "(modified z-score > 3.5, 3 seeds or more): kept in the test, named so a "
                     "failed training is seen (primary rows: a READ FIRST line)",
    "clipped": "intervals that reached past their figure's range (±100 points for deltas, 0–100 "
               "for accuracies) and were clipped to it (‡): too few seeds to bound them",
    "drop": "clean_acc - perturbed_acc on the same examples (paired by example id)",
    "delta_vs_baseline": "secondary: drop(baseline) - drop(variant) (clean rows: the clean "
                         "accuracy delta); > 0 means the variant loses fewer points. It favours "
                         "the less accurate model (fewer right answers to lose), so read it beside "
                         "perturbed_acc_delta; ci_low/ci_high are per-example bootstrap intervals",
    "relative_drop": "drop as a share of clean accuracy (100 × drop / clean_acc); "
                     "relative_drop_delta = relative_drop(baseline) − relative_drop(variant)",
    "drop_changed": "the drop on the examples the perturbation actually changed (a perturbation "
                    "that leaves most inputs alone has a small drop for that reason alone); "
                    "drop_changed_delta = baseline − variant",
    "success_rate_delta": "attacks: attack success rate, variant − baseline (< 0: harder to "
                          "attack); the accuracy-under-attack delta is perturbed_acc_delta",
    "worst_case": "HELM robustness: an example is correct only if correct on the clean input and "
                  "under every perturbation of one set, the same set in every language, seed and "
                  "variant (perturbations missing anywhere are left out, with a warning)",
    "attack": "TextAttack summary: accuracy under attack = failed/total, success rate = "
              "succeeded/(succeeded+failed), % words perturbed = changed words over all words of "
              "the input (premise and hypothesis, as TextAttack counts them) averaged over "
              "successful attacks, avg queries over attacked examples; clean accuracy = original "
              "accuracy; examples=N attacks a seeded random subset, the same ids for every model",
    "seed_all": "seed 'all' rows average the per-seed values; n sums examples over seeds; seeds "
                "are paired with the baseline by seed label, never by position",
    "macro": "language 'macro' rows average the languages; n sums over languages",
    "ci": "drop_ci and ci_low/ci_high (and clean_ci with one seed): percentile bootstrap over "
          "examples, conditional on the trained models. Parallel-aware: each replicate draws one weight per example id "
          "and every language, seed and variant uses it, so a macro interval keeps the "
          "correlation of translated copies of the same example",
    "p_value": "secondary: exact two-sided paired sign-flip test over examples of the primary "
               "difference (all seeds, and for macro all languages, pooled); conditional on the "
               "trained models, so it says whether these checkpoints differ, not the method",
    "warnings": "a model whose clean predictions are a single class, or whose accuracy is within "
                "noise of the majority class (one-sided exact binomial test, 5%), is flagged "
                "before any number: its deltas measure noise; so is a model that predicts one "
                "class for every example under a condition: its rows measure that collapse",
}


#: Said only in a report with F1 rows (extractive QA), so every other report reads as it did.
F1_METHOD = {
    "f1": "extractive QA: the accuracy columns are exact match (SQuAD normalisation); token F1 "
          "(SQuAD's, best over the gold answers) is beside them: clean_f1, perturbed_f1, f1_drop "
          "and perturbed_f1_delta = perturbed F1, variant minus baseline, paired by example id "
          "and seed label (clean rows: clean F1). Their intervals (clean_f1_ci, f1_drop_ci, "
          "perturbed_f1_ci) are per-example parallel-aware bootstrap intervals, also on rows "
          "with several seeds: F1 is secondary to exact match, which carries the method-level "
          "test and the Holm family",
    "chance (QA)": "no chance-level check against a constant guess for extractive QA: every "
                   "question has its own answer span, so the most frequent gold answer is not a "
                   "floor. A QA model is flagged instead when it gives one answer to every "
                   "question, or when it gets no exact match at all (its exact-match deltas "
                   "then measure nothing)",
}


def method_of(rows: list[dict]) -> dict[str, str]:
    return METHOD | (F1_METHOD if has_f1(rows) else {})


def columns_of(rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> tuple[str, ...]:
    """The file columns: `columns`, and the F1 interval columns where rows carry F1."""
    return columns + (F1_COLUMNS if has_f1(rows) else ())


TARGETS_METHOD = ("several targets: every statistic is computed per target (its own examples, "
                  "bootstrap, seed-level tests and Holm family: each target is its own question); "
                  "`clean_acc` and its kin are the target's metric: accuracy, exact match (QA) or "
                  "token accuracy (tagging)")


def clean_number(value: Any) -> Any:
    """Round floats to 6 significant digits; NaN becomes None."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        rounded = float(f"{value:.6g}")
        return 0.0 if rounded == 0 else rounded
    return value


#: The columns of a report of several targets: the target task first, rows grouped by it. A
#: one-target report keeps COLUMNS, so its files read as they always have.
TARGET_COLUMNS = ("target", *COLUMNS)


def csv_text(rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = [clean_number(row[c]) for c in columns]
        writer.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)
                         for v in values])
    return buffer.getvalue()


def headline(rows: list[dict]) -> list[dict]:
    """The pooled deltas the lead's CLI prints: macro rows, or the language row of a condition
    evaluated in one language."""
    pooled = [r for r in rows if r["seed"] == ALL_SEEDS and r["delta_metric"]]
    # per condition: a condition evaluated in one language only has no macro row, and its one
    # language stands for it (it must not drop out of the headline)
    has_macro = {(r.get("target"), r["model"], r["variant"], r["perturbation"])
                 for r in pooled if r["language"] == MACRO}
    chosen = [r for r in pooled
              if (r["language"] == MACRO) == ((r.get("target"), r["model"], r["variant"], r["perturbation"])
                                              in has_macro)]
    keys = (("target",) if any("target" in r for r in chosen) else ()) + (
            "model", "variant", "language", "perturbation", "delta_metric", "clean_acc",
            "perturbed_acc", "delta_vs_baseline", "ci_low", "ci_high", "p_holm", "family",
            "inference", "p_method", "perturbed_acc_delta", "perturbed_ci_low",
            "perturbed_ci_high", "flip_rate_delta", "flip_ci_low", "flip_ci_high", "flip_p_method",
            "n_paired", "mde_80")
    return [{k: clean_number(r[k]) for k in keys} for r in chosen]


def json_text(rows: list[dict], meta: dict, settings: dict, warnings: list[str],
              columns: tuple[str, ...] = COLUMNS, targets: list[dict] | None = None) -> str:
    """`targets` (several-target reports only): each target's task, training task, task type,
    languages and the metric its rows measure."""
    document = {
        "meta": meta,
        "settings": settings,
        "method": method_of(rows) | ({"targets": TARGETS_METHOD} if targets else {}),
        **({"targets": targets} if targets else {}),
        "headline": headline(rows),
        "warnings": warnings,
        "columns": list(columns),
        "rows": [{c: clean_number(row[c]) for c in columns} for row in rows],
    }
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False, default=str) + "\n"


def write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
