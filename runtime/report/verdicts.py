"""Which rows are the study's hypotheses, their Holm correction and power, and honest intervals.

The report answers two questions and must not confuse them (docs/statistics.md):

* *accuracy under perturbation* — Δ perturbed, the variant's perturbed accuracy minus the
  baseline's. What a user gets; it includes every clean gain, so a variant that is simply more
  accurate wins it without being any harder to perturb. Tested (`p_method`), never starred.
* *robustness* — Δ flip, the change in the share of examples both models got right clean that
  the condition made wrong. Same examples for both models, so clean accuracy cannot explain it.
  Its method-level test (`flip_p_method`) is the one the declared family corrects and stars.

The family is declared before results are seen (`report { primary=[…] }`): by default one row
per variant (and model) — the worst case over perturbations (each attack where there is no
worst case: a spec of attacks only) — in the condition's summary language (macro where the condition has several
languages, else its one language, so a condition evaluated in one language is not dropped).
Everything else is exploratory: unadjusted p, no star. α is 1 − ci.
"""

from __future__ import annotations

import math
from collections import defaultdict

from xexp.compiler.graph.report_contract import CLEAN, WORST_CASE, ReportSettings
from xexp.runtime.report.power import detectable_at
from xexp.runtime.report.stats import holm

MACRO = "macro"
ALL_SEEDS = "all"
PRIMARY, EXPLORATORY = "primary", "exploratory"
ROBUSTNESS_DELTA = "robustness_delta"

#: Interval columns and the range of the figure they bound (points).
_DELTA_RANGE, _RATE_RANGE = (-100.0, 100.0), (0.0, 100.0)
INTERVALS = {
    "clean_ci": ("clean_ci_low", "clean_ci_high", _RATE_RANGE),
    "drop_ci": ("drop_ci_low", "drop_ci_high", _DELTA_RANGE),
    "ci": ("ci_low", "ci_high", _DELTA_RANGE),
    "perturbed_ci": ("perturbed_ci_low", "perturbed_ci_high", _DELTA_RANGE),
    "flip_ci": ("flip_ci_low", "flip_ci_high", _DELTA_RANGE),
    "clean_f1_ci": ("clean_f1_ci_low", "clean_f1_ci_high", _RATE_RANGE),
    "f1_drop_ci": ("f1_drop_ci_low", "f1_drop_ci_high", _DELTA_RANGE),
    "perturbed_f1_ci": ("perturbed_f1_ci_low", "perturbed_f1_ci_high", _DELTA_RANGE),
}


def primary_conditions(settings: ReportSettings, kinds: dict[str, str]) -> list[str]:
    """The conditions whose robustness rows are declared hypotheses."""
    tested = [c for c, kind in kinds.items() if kind != CLEAN]
    if settings.primary == "all":
        return sorted(tested)
    if isinstance(settings.primary, list):
        return [c for c in settings.primary if c in tested]
    if WORST_CASE in kinds:
        return [WORST_CASE]
    return sorted(tested)  # attacks only (no worst case), or outcomes built without one


def summary_languages(rows: list[dict]) -> dict[tuple[str, str], str]:
    """(model, condition) -> macro where the condition has several languages, else its one."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        found[(row["model"], row["perturbation"])].add(row["language"])
    return {key: MACRO if MACRO in languages else min(languages) for key, languages in found.items()}


def assign_families(rows: list[dict], settings: ReportSettings, kinds: dict[str, str]) -> None:
    """Label every pooled delta row primary or exploratory, then correct the primary ones."""
    wanted = set(primary_conditions(settings, kinds))
    summary = summary_languages(rows)
    for row in rows:
        if row["seed"] != ALL_SEEDS or not row["delta_metric"]:
            continue
        declared = (row["delta_metric"] == ROBUSTNESS_DELTA and row["perturbation"] in wanted
                    and row["language"] == summary[(row["model"], row["perturbation"])])
        row["family"] = PRIMARY if declared else EXPLORATORY
    correct_family(rows, settings.alpha)


def correct_family(rows: list[dict], alpha: float) -> int:
    """Holm over the robustness p (`flip_p_method`) of the primary rows given (a target's, or
    every target's with `family=study`); each primary row's `mde_80`: the Δ flip its own test
    (observed seed spread plus the examples' variance, runtime/report/power.py) finds with 80% power
    at Holm's first step of this family. Returns the family size."""
    primary = [r for r in rows if r.get("family") == PRIMARY]
    tested = [r for r in primary if not math.isnan(r["flip_p_method"])]
    for row in primary:
        row["p_holm"] = math.nan
    for row, adjusted in zip(tested, holm([r["flip_p_method"] for r in tested])):
        row["p_holm"] = float(adjusted)
    size = max(1, len(primary))
    for row in primary:
        se, df = row.get("_flip_se", math.nan), row.get("_flip_df", math.nan)
        if isinstance(se, float) and se > 0 and not math.isnan(df):
            row["mde_80"] = detectable_at(se, df, size, alpha)
    return len(primary)


#: Modified z-score beyond which a seed's difference is flagged (Iglewicz & Hoaglin 1993).
OUTLIER_Z = 3.5


def flag_outlier_seeds(rows: list[dict]) -> None:
    """`outlier_seeds` of a seed-"all" delta row: seed labels whose Δ flip or Δ perturbed is
    far from the other seeds' (modified z = 0.6745·|x − median| / MAD > 3.5, 3 seeds or more).
    One failed training among a handful moves a t-test over seeds a long way; the test keeps
    the seed (dropping it after seeing it would bias the test), the report says which it is."""
    by_cell: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if row["seed"] != ALL_SEEDS and row["delta_metric"]:
            by_cell[(row["model"], row["variant"], row["language"], row["perturbation"])].append(row)
    for row in rows:
        if row["seed"] != ALL_SEEDS or not row["delta_metric"]:
            continue
        seeds = by_cell.get((row["model"], row["variant"], row["language"], row["perturbation"]), [])
        flagged: set[str] = set()
        for column in ("flip_rate_delta", "perturbed_acc_delta"):
            values = [(str(r["seed"]), r[column]) for r in seeds if not math.isnan(r[column])]
            if len(values) < 3:
                continue
            numbers = sorted(v for _, v in values)
            median = numbers[len(numbers) // 2] if len(numbers) % 2 else sum(numbers[len(numbers) // 2 - 1:len(numbers) // 2 + 1]) / 2
            deviations = sorted(abs(v - median) for v in numbers)
            mad = deviations[len(deviations) // 2] if len(deviations) % 2 else sum(deviations[len(deviations) // 2 - 1:len(deviations) // 2 + 1]) / 2
            if mad > 0:
                flagged |= {label for label, v in values if 0.6745 * abs(v - median) / mad > OUTLIER_Z}
        row["outlier_seeds"] = " ".join(sorted(flagged))


def clip_intervals(rows: list[dict]) -> None:
    """Clip every interval to its figure's range; `clipped` names the ones that hit it (a
    t-interval of 2 seeds can reach past ±100 points: it is then no answer, and says so)."""
    for row in rows:
        hit = []
        for name, (low, high, (floor, ceiling)) in INTERVALS.items():
            lo, hi = row.get(low), row.get(high)
            if not isinstance(lo, float) or not isinstance(hi, float) or math.isnan(lo):
                continue
            if lo < floor - 1e-9 or hi > ceiling + 1e-9:
                hit.append(name)
                row[low], row[high] = max(lo, floor), min(hi, ceiling)
        row["clipped"] = " ".join(hit)
