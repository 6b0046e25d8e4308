"""The report's tables as strings, shared by the terminal, Markdown and HTML renderers.

Building the cell texts once means the three outputs cannot disagree about a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xexp.runtime.report.model import CLEAN, WORST_CASE
from xexp.runtime.report.rows import ALL_SEEDS, MACRO

DASH = "–"


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    numeric: tuple[bool, ...]  # right-align these columns
    note: str = ""
    signs: list[tuple[float, ...]] = field(default_factory=list)  # per cell: sign for colouring


def pct(x: float) -> str:
    return DASH if x is None or math.isnan(x) else f"{x:.1f}"


def signed(x: float) -> str:
    """+1.2 / -0.3 / +0.0 (never "-0.0": a rounded-away sign would suggest a direction)."""
    if x is None or math.isnan(x):
        return DASH
    return f"{round(x, 1) + 0.0:+.1f}"


def with_ci(x: float, low: float, high: float, sign: bool = True) -> str:
    value = signed(x) if sign else pct(x)
    if math.isnan(low):
        return value
    return value + (f" [{signed(low)}, {signed(high)}]" if sign else f" [{low:.1f}, {high:.1f}]")


def p_text(p: float) -> str:
    if p is None or math.isnan(p):
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def significant(row: dict, alpha: float = 0.05) -> bool:
    return not math.isnan(row["p_holm"]) and row["p_holm"] < alpha


class RowIndex:
    """Look-ups the views need: pooled rows by key, the baseline's row beside a variant's."""

    def __init__(self, rows: list[dict], baseline: str) -> None:
        self.rows = rows
        self.baseline = baseline
        self.pooled = [r for r in rows if r["seed"] == ALL_SEEDS]
        self._by_key = {(r["model"], r["variant"], r["language"], r["perturbation"]): r
                        for r in self.pooled}
        self._summary_language: dict[str, str | None] = {}

    def get(self, model: str, variant: str, language: str, condition: str) -> dict | None:
        return self._by_key.get((model, variant, language, condition))

    def baseline_of(self, row: dict) -> dict | None:
        return self.get(row["model"], self.baseline, row["language"], row["perturbation"])

    def summary_language(self, model: str) -> str | None:
        """"macro" when the report has several languages, else its only language."""
        if model not in self._summary_language:
            languages = {r["language"] for r in self.pooled if r["model"] == model}
            self._summary_language[model] = (
                MACRO if MACRO in languages else next(iter(languages)) if len(languages) == 1
                else None)
        return self._summary_language[model]

    def models(self) -> list[str]:
        return sorted({r["model"] for r in self.pooled})

    def languages(self, model: str) -> list[str]:
        found = {r["language"] for r in self.pooled if r["model"] == model and r["language"] != MACRO}
        return sorted(found) + ([MACRO] if len(found) > 1 else [])

    def summary(self, model: str) -> list[dict]:
        language = self.summary_language(model)
        return [r for r in self.pooled if r["model"] == model and r["language"] == language]


def clean_table(index: RowIndex) -> Table:
    rows, signs = [], []
    for model in index.models():
        for r in index.summary(model):
            if r["perturbation"] != CLEAN:
                continue
            rows.append((model, r["variant"], r["language"], str(r["n_seeds"]),
                         with_ci(r["clean_acc"], r["clean_ci_low"], r["clean_ci_high"], sign=False),
                         with_ci(r["delta_vs_baseline"], r["ci_low"], r["ci_high"]),
                         p_text(r["p_holm"])))
            signs.append((0, 0, 0, 0, 0, _sign(r), 0))
    return Table("Clean accuracy", ("model", "variant", "language", "seeds", "clean acc [CI]",
                                    f"Δ vs {index.baseline} [CI]", "p (Holm)"),
                 rows, (False, False, False, True, True, True, True),
                 note="Clean accuracy and its difference from the baseline (variant − baseline).",
                 signs=signs)


def delta_rows(index: RowIndex, language: str | None = None) -> list[dict]:
    """Pooled robustness-delta rows (perturbations, attacks, worst case) of one language,
    or of the summary language per model."""
    chosen = []
    for model in index.models():
        wanted = language or index.summary_language(model)
        chosen += [r for r in index.pooled if r["model"] == model and r["language"] == wanted
                   and r["delta_metric"] == "robustness_delta"]
    return chosen


def robustness_table(index: RowIndex, rows: list[dict], title: str, note: str = "") -> Table:
    out, signs = [], []
    for r in rows:
        base = index.baseline_of(r)
        out.append((r["model"], r["variant"], r["language"], r["perturbation"],
                    pct(r["changed"]), pct(base["drop"]) if base else DASH, pct(r["drop"]),
                    with_ci(r["delta_vs_baseline"], r["ci_low"], r["ci_high"]),
                    p_text(r["p_holm"])))
        signs.append((0,) * 7 + (_sign(r), 0))
    return Table(title, ("model", "variant", "language", "condition", "changed %",
                         f"drop {index.baseline}", "drop variant", "delta [CI]", "p (Holm)"),
                 out, (False, False, False, False, True, True, True, True, True), note, signs)


def language_matrix(index: RowIndex, model: str, variant: str, conditions: list[str]) -> Table:
    """Language × condition robustness deltas; * marks p (Holm) < 0.05."""
    rows, signs = [], []
    for language in index.languages(model):
        cells, cell_signs = [language], [0.0]
        for condition in conditions:
            r = index.get(model, variant, language, condition)
            if r is None or math.isnan(r["delta_vs_baseline"]):
                cells.append(DASH)
                cell_signs.append(0.0)
            else:
                cells.append(signed(r["delta_vs_baseline"]) + ("*" if significant(r) else ""))
                cell_signs.append(_sign(r))
        rows.append(tuple(cells))
        signs.append(tuple(cell_signs))
    return Table(f"Robustness delta by language: {model} / {variant} vs {index.baseline}",
                 ("language", *conditions), rows, (False,) + (True,) * len(conditions),
                 note="* p (Holm) < 0.05", signs=signs)


def _summary_only(index: RowIndex, row: dict) -> bool:
    return row["language"] == index.summary_language(row["model"])


def attack_table(index: RowIndex, summary_only: bool = False) -> Table:
    rows, signs = [], []
    for r in index.pooled:
        if r["kind"] != "attack" or (summary_only and not _summary_only(index, r)):
            continue
        rows.append((r["model"], r["variant"], r["language"], r["perturbation"],
                     pct(r["clean_acc"]), pct(r["accuracy_under_attack"]),
                     pct(r["attack_success_rate"]), pct(r["pct_words_perturbed"]),
                     pct(r["avg_queries"]),
                     with_ci(r["delta_vs_baseline"], r["ci_low"], r["ci_high"])))
        signs.append((0,) * 9 + (_sign(r),))
    return Table("Attacks", ("model", "variant", "language", "attack", "original acc",
                             "acc under attack", "success rate", "% words", "avg queries",
                             "delta [CI]"), rows,
                 (False,) * 4 + (True,) * 6,
                 note="TextAttack definitions; delta = drop(baseline) − drop(variant).",
                 signs=signs)


def worst_case_table(index: RowIndex, summary_only: bool = False) -> Table:
    rows, signs = [], []
    for r in index.pooled:
        if r["perturbation"] != WORST_CASE or (summary_only and not _summary_only(index, r)):
            continue
        rows.append((r["model"], r["variant"], r["language"], pct(r["clean_acc"]),
                     pct(r["perturbed_acc"]), pct(r["drop"]),
                     with_ci(r["delta_vs_baseline"], r["ci_low"], r["ci_high"]),
                     p_text(r["p_holm"])))
        signs.append((0,) * 6 + (_sign(r), 0))
    return Table("Worst case over perturbations (HELM)",
                 ("model", "variant", "language", "clean acc", "worst-case acc", "drop",
                  "delta [CI]", "p (Holm)"), rows, (False,) * 3 + (True,) * 5,
                 note="An example counts as correct only if it is correct on the clean input "
                      "and under every model-agnostic perturbation.", signs=signs)


def full_table(index: RowIndex) -> Table:
    rows = []
    for r in index.pooled:
        rows.append((r["model"], r["variant"], r["language"], r["perturbation"], str(r["n"]),
                     pct(r["clean_acc"]), pct(r["perturbed_acc"]),
                     with_ci(r["drop"], r["drop_ci_low"], r["drop_ci_high"], sign=False),
                     pct(r["consistency"]), pct(r["changed"]),
                     with_ci(r["delta_vs_baseline"], r["ci_low"], r["ci_high"]),
                     p_text(r["p_holm"])))
    return Table("All cells (seeds pooled)",
                 ("model", "variant", "language", "condition", "n", "clean", "perturbed",
                  "drop [CI]", "consistency", "changed", "delta [CI]", "p (Holm)"), rows,
                 (False,) * 4 + (True,) * 8,
                 note="Per-seed rows are in results.csv.")


def _sign(row: dict) -> float:
    """+1 / −1 for a significant positive / negative delta, 0 otherwise (for colouring)."""
    if not significant(row):
        return 0.0
    return 1.0 if row["delta_vs_baseline"] > 0 else -1.0
