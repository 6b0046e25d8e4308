"""The report's numbers: one row per (model, variant, language, condition, seed).

Every row has its own-cell metrics (clean and perturbed accuracy, drop, consistency, changed,
the attack summary) and, for a non-baseline variant, its delta against the baseline evaluated
on the same examples: the robustness delta drop(baseline) − drop(variant) for perturbations,
attacks and the worst case, the clean accuracy delta variant − baseline for "clean".
Seed "all" rows pool seeds (mean of per-seed values, hierarchical bootstrap over seeds then
examples); language "macro" rows average languages (bootstrap replicates averaged across
languages). p-values — an exact sign-flip permutation test over paired examples, pooled over
seeds — are computed for the seed "all" rows, which form the Holm family.
All rates are percentages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from xexp.runtime.report.model import CLEAN, WORST_CASE, ReportSettings
from xexp.runtime.report.outcomes import Collected, Outcome
from xexp.runtime.stats import (
    derived_rng, hierarchical_frequencies, hierarchical_means, holm, percentile_intervals,
    seed_slots, sign_flip_p_value,
)

ALL_SEEDS = "all"
MACRO = "macro"
NAN = float("nan")

COLUMNS = (
    "model", "variant", "language", "perturbation", "kind", "description", "seed", "n_seeds", "n",
    "clean_acc", "clean_ci_low", "clean_ci_high", "perturbed_acc", "drop", "drop_ci_low",
    "drop_ci_high", "consistency", "changed", "delta_metric", "delta_vs_baseline", "ci_low",
    "ci_high", "p_value", "p_holm", "attack_success_rate", "accuracy_under_attack",
    "pct_words_perturbed", "avg_queries",
)
_ATTACK_FIELDS = ("success_rate", "accuracy_under_attack", "pct_words_perturbed", "avg_queries")
_ATTACK_COLUMNS = ("attack_success_rate", "accuracy_under_attack", "pct_words_perturbed",
                   "avg_queries")
_AVERAGED = ("clean_acc", "perturbed_acc", "drop", "consistency", "changed") + _ATTACK_COLUMNS


@dataclass
class _Computed:
    """One row plus the bootstrap replicates a macro average needs."""

    row: dict
    clean_draws: np.ndarray
    drop_draws: np.ndarray
    delta_draws: np.ndarray | None = None
    differences: np.ndarray | None = None  # paired per-example deltas, all seeds


def condition_order(kinds: dict[str, str]) -> list[str]:
    """clean, then perturbations, attacks, the worst case; alphabetical within each."""
    rank = {CLEAN: 0, "perturbation": 1, "attack": 2, WORST_CASE: 3}
    return sorted(kinds, key=lambda c: (rank[kinds[c]], c))


def variant_order(variants: set[str], baseline: str) -> list[str]:
    return sorted(variants, key=lambda v: (v != baseline, v))


class _RowBuilder:
    def __init__(self, collected: Collected, settings: ReportSettings) -> None:
        self.outcomes = collected.outcomes
        self.collected = collected
        self.settings = settings
        self.warnings: list[str] = []
        self._slots: dict[int, np.ndarray] = {}
        self._without_baseline: set[str] = set()  # warned once per model, not per cell

    def slots(self, n_seeds: int) -> np.ndarray:
        """One seed-slot matrix per seed count, shared by all rows (see xexp.runtime.stats)."""
        if n_seeds not in self._slots:
            rng = derived_rng(self.settings.seed, "seed-slots", str(n_seeds))
            self._slots[n_seeds] = seed_slots(self.settings.bootstrap, n_seeds, rng)
        return self._slots[n_seeds]

    def build(self) -> list[dict]:
        index: dict[tuple[str, str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for model, variant, language, condition, seed in sorted(self.outcomes):
            index[(model, variant, condition)][language].append(seed)
        models = sorted({key[0] for key in index})
        conditions = condition_order(self.collected.condition_kinds)
        rows: list[dict] = []
        for model in models:
            variants = variant_order({v for m, v, _ in index if m == model}, self.settings.baseline)
            if self.settings.baseline not in variants:
                self._without_baseline.add(model)
                self.warnings.append(f"model {model}: no cells for the baseline "
                                     f"{self.settings.baseline!r}, so no deltas")
            for variant in variants:
                for condition in conditions:
                    seeds_by_language = index.get((model, variant, condition))
                    if seeds_by_language:
                        rows.extend(self._condition_rows(model, variant, condition, seeds_by_language))
        family = [i for i, row in enumerate(rows)
                  if row["seed"] == ALL_SEEDS and not np.isnan(row["p_value"])]
        for i, adjusted in zip(family, holm([rows[i]["p_value"] for i in family])):
            rows[i]["p_holm"] = float(adjusted)
        return rows

    def _condition_rows(self, model: str, variant: str, condition: str,
                        seeds_by_language: dict[str, list[int]]) -> list[dict]:
        all_seeds = sorted({s for seeds in seeds_by_language.values() for s in seeds})
        by_language = [self._language(model, variant, language, condition, seeds)
                       for language, seeds in sorted(seeds_by_language.items())]
        ordered: list[_Computed] = []
        for seed_label in [*all_seeds, ALL_SEEDS]:
            computed = [found[seed_label] for found in by_language if seed_label in found]
            ordered.extend(computed)
            if len(computed) > 1:
                ordered.append(self._macro(computed, seed_label))
        self._set_intervals(ordered)
        return [c.row for c in ordered]

    def _language(self, model: str, variant: str, language: str, condition: str,
                  seeds: list[int]) -> dict[int | str, _Computed]:
        """Rows of every seed and of seed "all" for one language, from one set of draws."""
        own = [self.outcomes[(model, variant, language, condition, s)] for s in seeds]
        rng = derived_rng(self.settings.seed, model, variant, language, condition)
        codes = [2 * o.clean_correct.astype(np.intp) + o.perturbed_correct for o in own]
        pooled, per_seed = hierarchical_frequencies(codes, 4, self.slots(len(own)), rng)
        groups = [(s, [o], f) for s, o, f in zip(seeds, own, per_seed)] + [(ALL_SEEDS, own, pooled)]
        found = {label: self._own(model, variant, language, condition, label, chosen, frequencies)
                 for label, chosen, frequencies in groups}
        if variant != self.settings.baseline and model not in self._without_baseline:
            self._add_deltas(found, model, variant, language, condition, dict(zip(seeds, own)), rng)
        return found

    def _own(self, model: str, variant: str, language: str, condition: str,
             seed_label: int | str, own: list[Outcome], frequencies: np.ndarray) -> _Computed:
        clean_draws = 100.0 * (frequencies[:, 2] + frequencies[:, 3])
        drop_draws = clean_draws - 100.0 * (frequencies[:, 1] + frequencies[:, 3])
        clean_acc = 100.0 * np.mean([o.rates["clean"] for o in own])
        perturbed_acc = 100.0 * np.mean([o.rates["perturbed"] for o in own])
        row = self._new_row(model, variant, language, condition, seed_label)
        row.update(
            n_seeds=len(own), n=int(sum(o.ids.size for o in own)),
            clean_acc=float(clean_acc), perturbed_acc=float(perturbed_acc),
            drop=float(clean_acc - perturbed_acc),
            consistency=float(100.0 * np.mean([o.rates["kept"] for o in own])),
            changed=float(100.0 * np.mean([o.rates["changed"] for o in own])),
        )
        attack = [o.attack for o in own if o.attack is not None]
        if attack:
            for name, column in zip(_ATTACK_FIELDS, _ATTACK_COLUMNS):
                row[column] = float(np.mean([getattr(a, name) for a in attack]))
        return _Computed(row, clean_draws, drop_draws)

    def _add_deltas(self, found: dict[int | str, _Computed], model: str, variant: str,
                    language: str, condition: str, own: dict[int, Outcome],
                    rng: np.random.Generator) -> None:
        baseline = {s: self.outcomes.get((model, self.settings.baseline, language, condition, s))
                    for s in own}
        paired = [s for s in own if baseline[s] is not None]
        for computed in found.values():
            computed.row["delta_metric"] = "clean_acc_delta" if condition == CLEAN else "robustness_delta"
        if len(paired) < len(own):
            self.warnings.append(f"{model}/{variant}/{language}/{condition}: baseline "
                                 f"{self.settings.baseline!r} missing for seed(s) "
                                 f"{', '.join(str(s) for s in own if baseline[s] is None)}")
        if not paired:
            return
        differences = [_paired_differences(own[s], baseline[s], condition) for s in paired]
        pooled, per_seed = hierarchical_means(differences, self.slots(len(paired)), rng)
        groups = [(s, [d], draws) for s, d, draws in zip(paired, differences, per_seed)]
        for label, chosen, draws in groups + [(ALL_SEEDS, differences, pooled)]:
            computed = found[label]
            computed.row["delta_vs_baseline"] = float(100.0 * np.mean([d.mean() for d in chosen]))
            computed.delta_draws = 100.0 * draws
            computed.differences = np.concatenate(chosen)
        found[ALL_SEEDS].row["p_value"] = sign_flip_p_value(found[ALL_SEEDS].differences)

    def _set_intervals(self, computed: list[_Computed]) -> None:
        """All percentile intervals of a condition in one quantile call (it dominates otherwise)."""
        draws, targets = [], []
        for c in computed:
            draws += [c.clean_draws, c.drop_draws]
            targets += [(c.row, "clean_ci_low", "clean_ci_high"), (c.row, "drop_ci_low", "drop_ci_high")]
            if c.delta_draws is not None:
                draws.append(c.delta_draws)
                targets.append((c.row, "ci_low", "ci_high"))
        intervals = percentile_intervals(np.stack(draws), self.settings.ci).tolist()
        for (row, low, high), (low_value, high_value) in zip(targets, intervals):
            row[low], row[high] = low_value, high_value

    def _macro(self, computed: list[_Computed], seed_label: int | str) -> _Computed:
        first = computed[0].row
        row = self._new_row(first["model"], first["variant"], MACRO, first["perturbation"], seed_label)
        row["n_seeds"] = max(c.row["n_seeds"] for c in computed)
        row["n"] = sum(c.row["n"] for c in computed)
        for column in _AVERAGED:
            row[column] = float(np.mean([c.row[column] for c in computed]))
        row["delta_metric"] = first["delta_metric"]
        macro = _Computed(row, np.mean([c.clean_draws for c in computed], axis=0),
                          np.mean([c.drop_draws for c in computed], axis=0))
        with_delta = [c for c in computed if c.delta_draws is not None]
        if with_delta:
            row["delta_vs_baseline"] = float(np.mean([c.row["delta_vs_baseline"] for c in with_delta]))
            macro.delta_draws = np.mean([c.delta_draws for c in with_delta], axis=0)
            if seed_label == ALL_SEEDS:
                row["p_value"] = sign_flip_p_value(np.concatenate([c.differences for c in with_delta]))
        return macro

    def _new_row(self, model: str, variant: str, language: str, condition: str,
                 seed_label: int | str) -> dict:
        row: dict = dict.fromkeys(COLUMNS, NAN)
        row.update(model=model, variant=variant, language=language, perturbation=condition,
                   kind=self.collected.condition_kinds[condition],
                   description=self.collected.descriptions[condition], seed=seed_label,
                   delta_metric="")
        return row


def _paired_differences(variant: Outcome, baseline: Outcome, condition: str) -> np.ndarray:
    """Per-example delta on the examples both runs saw (identical ids in practice)."""
    if variant.ids is baseline.ids or np.array_equal(variant.ids, baseline.ids):
        at_v = at_b = slice(None)
    else:
        _, at_v, at_b = np.intersect1d(variant.ids, baseline.ids, assume_unique=True,
                                       return_indices=True)
        if at_v.size == 0:
            raise ValueError(f"condition {condition!r}: variant and baseline share no example id")
    cv = variant.clean_correct[at_v].astype(np.int8)
    cb = baseline.clean_correct[at_b].astype(np.int8)
    if condition == CLEAN:
        return cv - cb
    pv = variant.perturbed_correct[at_v].astype(np.int8)
    pb = baseline.perturbed_correct[at_b].astype(np.int8)
    return (cb - pb) - (cv - pv)


def compute_rows(collected: Collected, settings: ReportSettings) -> tuple[list[dict], list[str]]:
    """All rows in a stable order, and warnings about missing baselines."""
    builder = _RowBuilder(collected, settings)
    rows = builder.build()
    return rows, builder.warnings
