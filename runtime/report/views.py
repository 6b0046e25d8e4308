"""The report's tables as strings, shared by the terminal, Markdown and HTML renderers.

Building the cell texts once means the three outputs cannot disagree about a number. A cell's
text is runtime/report/cells.py's, the sentences around the tables runtime/report/statements.py's.
"""

from __future__ import annotations

import math

from xexp.runtime.report.cells import (  # noqa: F401 (re-exported: the renderers import them from here)
    CLIPPED_FOOTER, CLIPPED_MARK, DASH, EXAMPLES_FOOTER, EXAMPLES_MARK, STAR, Table, _clipped, flip_ci,
    mde_text, p_accuracy, p_shown, p_text, pct, primary_ci, signed, significant, with_ci,
)
from xexp.runtime.report.model import CLEAN, WORST_CASE
from xexp.runtime.report.rows import ALL_SEEDS, BY_SEEDS, PRIMARY
from xexp.runtime.report.row_index import RowIndex
from xexp.runtime.report.statements import (  # noqa: F401 (re-exported)
    footers, n_tests, test_line, verdicts,
)


def clean_table(index: RowIndex) -> Table:
    rows: list[tuple[str, ...]] = []
    signs: list[tuple[float, ...]] = []
    for model in index.models():
        for r in index.summary(model):
            if r["perturbation"] != CLEAN:
                continue
            rows.append((model, r["variant"], r["language"], _seeds_text(r), _clean_ci(r),
                         primary_ci(r), p_accuracy(r)) + (_clean_f1(r) if index.f1 else ()))
            signs.append((0,) * 7 + ((0, 0) if index.f1 else ()))
    if not index.f1:
        return Table("Clean accuracy", ("model", "variant", "language", "seeds", "clean acc [CI]",
                                        f"Δ vs {index.baseline} [CI]", "p"),
                     rows, (False, False, False, True, True, True, True),
                     note="Clean accuracy and its difference from the baseline (variant − baseline); "
                          "with 2 seeds or more both intervals are over seeds plus the examples' "
                          "variance (the method's), with one seed over examples (†). p is "
                          "unadjusted: clean accuracy is never a robustness hypothesis.",
                     signs=signs)
    return Table(f"Clean {index.metric}", ("model", "variant", "language", "seeds", "clean EM [CI]",
                                           f"Δ EM vs {index.baseline} [CI]", "p", "clean F1 [CI]",
                                           F1_DELTA),
                 rows, (False, False, False) + (True,) * 6,
                 note="Clean exact match and its difference from the baseline (variant − baseline; "
                      "intervals over seeds plus the examples' variance with 2 seeds or more, over "
                      "examples (†) with one); beside it clean token F1 (interval over examples) and " + F1_NOTE,
                 signs=signs)


#: The F1 delta's column in an extractive QA target's tables, and what it is.
F1_DELTA = "Δ F1 [CI, examples]"
F1_NOTE = ("Δ F1: token F1 (SQuAD), variant − baseline on the same examples, interval over "
           "examples (secondary: the test and Holm's family are exact match's).")


def _seeds_text(row: dict) -> str:
    """Seeds of the variant, and how many paired with the baseline where that differs."""
    k, paired = row["n_seeds"], row.get("n_paired")
    if isinstance(paired, int) and paired != k:
        return f"{k} ({paired} paired)"
    return str(k)


def _clean_ci(row: dict) -> str:
    text = with_ci(row["clean_acc"], row["clean_ci_low"], row["clean_ci_high"], sign=False,
                   clipped=_clipped(row, "clean_ci"))
    return text + EXAMPLES_MARK if row.get("clean_inference") != BY_SEEDS and not math.isnan(row["clean_ci_low"]) else text


def f1_delta(row: dict) -> str:
    return with_ci(row["perturbed_f1_delta"], row["perturbed_f1_ci_low"], row["perturbed_f1_ci_high"])


def _clean_f1(row: dict) -> tuple[str, str]:
    return (with_ci(row["clean_f1"], row["clean_f1_ci_low"], row["clean_f1_ci_high"], sign=False),
            f1_delta(row))


def delta_rows(index: RowIndex, language: str | None = None) -> list[dict]:
    """Pooled robustness-delta rows (perturbations, attacks, worst case) of one language, or
    of each condition's summary language (which holds every primary row); primary rows first."""
    chosen = []
    for model in index.models():
        rows = ([r for r in index.pooled if r["model"] == model and r["language"] == language]
                if language else index.summary(model))
        chosen += [r for r in rows if r["delta_metric"] == "robustness_delta"]
    # the declared hypotheses first, then the exploratory rows, in one order for every format
    return sorted(chosen, key=lambda r: r["family"] != "primary")


ROBUSTNESS_NOTE = ("Two questions. Robustness: Δ flip = flip rate on the examples both models "
                   "got right clean, variant − baseline (< 0: fewer of its right answers are "
                   "broken; only this is called more robust, * where the primary test rejects); "
                   "p is its method-level test, Holm-adjusted over the primary rows "
                   "(exploratory rows: unadjusted, never starred); MDE = the smallest Δ flip "
                   "that test finds with 80% power at the observed seed SD. Accuracy under "
                   "perturbation: Δ perturbed = perturbed accuracy, variant − baseline (> 0: right "
                   "more often; includes clean gains), p acc unadjusted. Intervals over seeds "
                   "plus the examples' variance; drop Δ = drop(baseline) − drop(variant) and "
                   "rel. drop Δ are secondary.")


def robustness_note(index: RowIndex) -> str:
    """ROBUSTNESS_NOTE, and for extractive QA what its accuracy and F1 columns are."""
    if not index.f1:
        return ROBUSTNESS_NOTE
    return (ROBUSTNESS_NOTE + " Extractive QA: Δ perturbed, Δ flip and drop Δ count exact matches; "
            "perturbed " + F1_NOTE)


def robustness_table(index: RowIndex, rows: list[dict], title: str, note: str = "") -> Table:
    out: list[tuple[str, ...]] = []
    signs: list[tuple[float, ...]] = []
    for r in rows:
        f1 = (f1_delta(r),) if index.f1 else ()
        out.append((r["model"], r["variant"], r["language"], r["perturbation"],
                    "primary" if r["family"] == PRIMARY else "explor.",
                    flip_ci(r, index.alpha), p_shown(r), mde_text(r), primary_ci(r), p_accuracy(r),
                    *f1, signed(r["delta_vs_baseline"]), signed(r["relative_drop_delta"]),
                    pct(r["changed"]), pct(r["drop_changed"])))
        signs.append((0,) * 5 + (_sign(r, index.alpha),) + (0,) * (8 + len(f1)))
    f1_header = (F1_DELTA,) if index.f1 else ()
    return Table(title, ("model", "variant", "language", "condition", "family", "Δ flip [CI]", "p",
                         "MDE", "Δ perturbed [CI]", "p acc", *f1_header, "drop Δ", "rel. drop Δ",
                         "changed %", "drop changed"),
                 out, (False,) * 5 + (True,) * (9 + len(f1_header)), note, signs)


def language_matrix(index: RowIndex, model: str, variant: str, conditions: list[str]) -> Table:
    """Language × condition perturbed-accuracy deltas; * marks p (Holm) < 0.05 (primary rows)."""
    rows: list[tuple[str, ...]] = []
    signs: list[tuple[float, ...]] = []
    for language in index.languages(model):
        cells, cell_signs = [language], [0.0]
        for condition in conditions:
            r = index.get(model, variant, language, condition)
            if r is None or math.isnan(r["perturbed_acc_delta"]):
                cells.append(DASH)
                cell_signs.append(0.0)
            else:
                cells.append(signed(r["perturbed_acc_delta"]))
                cell_signs.append(0.0)
        rows.append(tuple(cells))
        signs.append(tuple(cell_signs))
    return Table(f"{metric_delta_title(index.metric)} by language: {model} / {variant} vs {index.baseline}",
                 ("language", *conditions), rows, (False,) + (True,) * len(conditions),
                 note="accuracy under perturbation, variant − baseline, points (includes clean "
                      "gains; not the robustness test, which is Δ flip in the summary)", signs=signs)


def metric_delta_title(metric: str) -> str:
    """"Perturbed-accuracy delta", "Perturbed exact match delta": what a delta table compares."""
    return "Perturbed-accuracy delta" if metric == "accuracy" else f"Perturbed {metric} delta"


def _summary_only(index: RowIndex, row: dict) -> bool:
    return row["language"] == index.summary_language(row["model"])


def attack_table(index: RowIndex, summary_only: bool = False) -> Table:
    rows: list[tuple[str, ...]] = []
    signs: list[tuple[float, ...]] = []
    for r in index.pooled:
        if r["kind"] != "attack" or (summary_only and not _summary_only(index, r)):
            continue
        rows.append((r["model"], r["variant"], r["language"], r["perturbation"],
                     pct(r["clean_acc"]), pct(r["accuracy_under_attack"]),
                     pct(r["attack_success_rate"]), pct(r["pct_words_perturbed"]),
                     pct(r["avg_queries"]), primary_ci(r), signed(r["success_rate_delta"]),
                     p_accuracy(r)))
        signs.append((0,) * 12)
    return Table("Attacks", ("model", "variant", "language", "attack", "original acc",
                             "acc under attack", "success rate", "% words", "avg queries",
                             "Δ acc under attack [CI]", "Δ success rate", "p acc"), rows,
                 (False,) * 4 + (True,) * 8,
                 note="TextAttack definitions (% words: of all input words, over successful "
                      "attacks); Δ = variant − baseline (accuracy under attack: includes clean "
                      "gains); interval and p over seeds, unadjusted (the robustness test is Δ "
                      "flip in the summary).",
                 signs=signs)


def worst_case_table(index: RowIndex, summary_only: bool = False) -> Table:
    rows: list[tuple[str, ...]] = []
    signs: list[tuple[float, ...]] = []
    for r in index.pooled:
        if r["perturbation"] != WORST_CASE or (summary_only and not _summary_only(index, r)):
            continue
        rows.append((r["model"], r["variant"], r["language"], pct(r["clean_acc"]),
                     pct(r["perturbed_acc"]), pct(r["drop"]), primary_ci(r), p_accuracy(r),
                     flip_ci(r, index.alpha), p_shown(r)))
        signs.append((0,) * 8 + (_sign(r, index.alpha), 0))
    description = next((r["description"] for r in index.pooled if r["perturbation"] == WORST_CASE), "")
    short = "EM" if index.f1 else "acc"  # extractive QA: its accuracy columns are exact match
    return Table("Worst case over perturbations (HELM)",
                 ("model", "variant", "language", f"clean {short}", f"worst-case {short}", "drop",
                  f"Δ worst-case {short} [CI]", "p acc", "Δ flip [CI]", "p"), rows,
                 (False,) * 3 + (True,) * 7,
                 note="An example counts as correct only if it is correct on the clean input "
                      f"and under every perturbation of the same set in every language "
                      f"({description}).", signs=signs)


def full_table(index: RowIndex) -> Table:
    rows: list[tuple[str, ...]] = []
    for r in index.pooled:
        rows.append((r["model"], r["variant"], r["language"], r["perturbation"], str(r["n"]),
                     pct(r["clean_acc"]), pct(r["perturbed_acc"]),
                     with_ci(r["drop"], r["drop_ci_low"], r["drop_ci_high"], sign=False),
                     pct(r["consistency"]), pct(r["changed"]), pct(r["drop_changed"]),
                     primary_ci(r), p_accuracy(r), flip_ci(r, index.alpha), p_shown(r),
                     with_ci(r["delta_vs_baseline"], r["ci_low"], r["ci_high"]),
                     p_text(r["p_value"]))
                    + ((pct(r["clean_f1"]), pct(r["perturbed_f1"]), f1_delta(r)) if index.f1 else ())
                    + (r["family"],))
    f1_headers = ("clean F1", "perturbed F1", F1_DELTA) if index.f1 else ()
    return Table("All cells (seeds pooled)",
                 ("model", "variant", "language", "condition", "n", "clean", "perturbed",
                  "drop [CI]", "consistency", "changed", "drop changed", "Δ perturbed [CI]", "p acc",
                  "Δ flip [CI]", "p", "drop Δ [CI, examples]", "p (examples)", *f1_headers, "family"), rows,
                 (False,) * 4 + (True,) * (13 + len(f1_headers)) + (False,),
                 note="p acc, p: method-level (seeds) tests of Δ perturbed and Δ flip (p Holm-adjusted "
                      "on primary rows); p (examples): sign-flip over examples, conditional on the "
                      "trained models. Per-seed rows are in results.csv.")


def _sign(row: dict, alpha: float = 0.05) -> float:
    """+1 / −1 where the robustness test finds fewer / more flips, 0 otherwise (for colouring)."""
    if not significant(row, alpha):
        return 0.0
    return 1.0 if row["flip_rate_delta"] < 0 else -1.0


def per_seed_table(index: RowIndex) -> Table:
    """The per-seed differences behind every primary row (a t-test over 3–5 numbers should be
    read beside them: one failed seed moves it a long way; `outlier_seeds` names such a seed)."""
    rows: list[tuple[str, ...]] = []
    for r in index.pooled:
        if r["family"] != PRIMARY:
            continue
        for seed_row in index.rows:
            if (seed_row["seed"] != ALL_SEEDS and seed_row["model"] == r["model"]
                    and seed_row["variant"] == r["variant"] and seed_row["language"] == r["language"]
                    and seed_row["perturbation"] == r["perturbation"]):
                flag = "outlier" if str(seed_row["seed"]) in str(r.get("outlier_seeds") or "").split() else ""
                rows.append((r["model"], r["variant"], r["language"], r["perturbation"], str(seed_row["seed"]),
                             signed(seed_row["flip_rate_delta"]), signed(seed_row["perturbed_acc_delta"]), flag))
    return Table("Per-seed differences of the primary rows",
                 ("model", "variant", "language", "condition", "seed", "Δ flip", "Δ perturbed", ""),
                 rows, (False,) * 5 + (True, True, False),
                 note="variant − baseline on the same seed label; the tests above are over these numbers "
                      "(plus the examples' variance).")
