"""The report's numbers: one row per (model, variant, language, condition, seed).

Every row has its own-cell metrics (clean and perturbed accuracy, drop, relative drop, drop on
changed examples, flip rate, consistency, changed, the attack summary). A non-baseline row also
compares with the baseline on the same examples and the same seed *label*:

* the two questions (docs/statistics.md): `flip_rate_delta`, robustness — the difference in
  the share of examples both models got right clean that the condition made wrong — and
  `perturbed_acc_delta`, accuracy under perturbation (accuracy under attack for attacks, clean
  accuracy for "clean"). On seed "all" rows with two paired seed labels or more their intervals,
  `flip_p_method` and `p_method` are method-level: t over the per-seed differences plus the
  examples' variance of their mean (xexp.runtime.report.stats.seed_level); with fewer pairs Δ perturbed
  falls back to Welch's test over each side's seeds (`inference` "welch").
* secondary: `delta_vs_baseline` = drop(baseline) − drop(variant) (clean rows: the clean
  accuracy delta), `relative_drop_delta`, `drop_changed_delta`, `success_rate_delta`, with
  per-example bootstrap intervals and the per-example sign-flip `p_value`, both conditional on
  the trained checkpoints.

Extractive QA rows: `correct` is exact match, so the accuracy columns are EM; token F1 is in
`clean_f1`, `perturbed_f1`, `f1_drop` and `perturbed_f1_delta` (perturbed F1, variant − baseline,
paired by example id and seed label like the other deltas), each with a per-example bootstrap
interval (`perturbed_f1_ci_*`: parallel-aware, conditional on the checkpoints; F1 is secondary to
exact match, which carries the primary family). Tagging rows are one prediction per word; their bootstrap and
sign-flip test resample and flip whole sentences, the examples (`Collected.units`). Seed "all" rows average the per-seed values; language "macro" rows average languages. Holm runs
over the declared primary family only (runtime/report/verdicts.py: `report { primary= }`, by
default the worst case, in each condition's summary language) and over its robustness test;
every other row is exploratory. A report of several targets builds these rows once per target,
so each target is its own family unless `family=study` (runtime/report/targets.py). All rates
are percentages.
"""

from __future__ import annotations

import warnings as _warnings
from collections import defaultdict

import numpy as np

from xexp.runtime.report.computed import ComputedRow
from xexp.runtime.report.method_level import (  # noqa: F401 (BY_* re-exported for the views)
    BY_EXAMPLES, BY_SEEDS, BY_WELCH, clean_method_level, method_level, welch_fallback,
)
from xexp.runtime.report.model import CLEAN, WORST_CASE, ReportSettings
from xexp.runtime.report.outcomes import Collected, Outcome
from xexp.runtime.report.pairs import pair_outcomes, paired_values, with_flip
from xexp.runtime.report.verdicts import (  # noqa: F401 (names the views import from here)
    ALL_SEEDS, EXPLORATORY, MACRO, PRIMARY, assign_families, clip_intervals, flag_outlier_seeds,
)
from xexp.runtime.report.stats import (
    ExampleWeights, derived_rng, percentile_intervals, sign_flip_p_value,
)

NAN = float("nan")

COLUMNS = (
    "model", "variant", "language", "perturbation", "kind", "description", "seed", "n_seeds", "n",
    "clean_acc", "clean_ci_low", "clean_ci_high", "perturbed_acc", "drop", "drop_ci_low",
    "drop_ci_high", "consistency", "changed", "delta_metric", "delta_vs_baseline", "ci_low",
    "ci_high", "p_value", "p_holm", "attack_success_rate", "accuracy_under_attack",
    "pct_words_perturbed", "avg_queries",
    # added with method-level inference (issue 12)
    "family", "inference", "p_method", "perturbed_acc_delta", "perturbed_ci_low",
    "perturbed_ci_high", "flip_rate", "flip_rate_delta", "flip_ci_low", "flip_ci_high",
    "relative_drop", "relative_drop_delta", "drop_changed", "drop_changed_delta",
    "success_rate_delta",
    # extractive QA: token F1 beside the exact-match accuracy columns (NaN for other tasks)
    "clean_f1", "perturbed_f1", "f1_drop", "perturbed_f1_delta",
    "clean_f1_ci_low", "clean_f1_ci_high", "f1_drop_ci_low", "f1_drop_ci_high",
    # the robustness test, power and seed pairing (issue 29)
    "flip_p_method", "n_paired", "flip_seed_sd", "mde_80", "clean_inference", "clipped",
    "outlier_seeds",
)
#: Columns only a report with F1 rows (extractive QA) writes, after COLUMNS: a report without
#: them keeps the files it always had.
F1_COLUMNS = ("perturbed_f1_ci_low", "perturbed_f1_ci_high")
_ATTACK_FIELDS = ("success_rate", "accuracy_under_attack", "pct_words_perturbed", "avg_queries")
_ATTACK_COLUMNS = ("attack_success_rate", "accuracy_under_attack", "pct_words_perturbed",
                   "avg_queries")
_OWN = ("clean_acc", "perturbed_acc", "drop", "consistency", "changed", "flip_rate",
        "relative_drop", "drop_changed", "clean_f1", "perturbed_f1", "f1_drop") + _ATTACK_COLUMNS
_PAIRED = ("perturbed_acc_delta", "delta_vs_baseline", "flip_rate_delta", "relative_drop_delta",
           "drop_changed_delta", "success_rate_delta", "perturbed_f1_delta")
def has_f1(rows: list[dict]) -> bool:
    """Whether any row carries token F1 (extractive QA): such a report shows it beside exact match."""
    return any(isinstance(r.get("clean_f1"), float) and not np.isnan(r["clean_f1"]) for r in rows)


def _mean(values) -> float:
    """Mean ignoring NaN; NaN when nothing is left (quietly: a missing metric is normal)."""
    array = np.asarray(list(values), dtype=float)
    if array.size == 0 or np.isnan(array).all():
        return NAN
    return float(np.nanmean(array))


def _mean_draws(draws: list[np.ndarray | None]) -> np.ndarray | None:
    """The mean of optional draws (F1: QA rows only); None unless every one is there."""
    present = [d for d in draws if d is not None]
    return np.mean(present, axis=0) if present and len(present) == len(draws) else None


def _delta_draws(computed: ComputedRow) -> np.ndarray:
    """The resampled deltas of a row paired with its baseline (resampled before averaging)."""
    if computed.delta_draws is None:
        raise ValueError(f"row {computed.row['model']}/{computed.row['variant']}/"
                         f"{computed.row['language']} has no baseline deltas to average")
    return computed.delta_draws


def condition_order(kinds: dict[str, str]) -> list[str]:
    """clean, then perturbations, attacks, the worst case; alphabetical within each."""
    rank = {CLEAN: 0, "perturbation": 1, "attack": 2, WORST_CASE: 3}
    return sorted(kinds, key=lambda c: (rank[kinds[c]], c))


def variant_order(variants: set[str], baseline: str) -> list[str]:
    return sorted(variants, key=lambda v: (v != baseline, v))


def _own_values(o: Outcome) -> dict[str, float]:
    clean, perturbed = 100.0 * o.rates["clean"], 100.0 * o.rates["perturbed"]
    right = o.clean_correct
    flip = 100.0 * float((~o.perturbed_correct[right]).mean()) if right.any() else NAN
    drop_changed = NAN
    if o.changed is not None and o.changed.any():
        drop_changed = 100.0 * float(o.clean_correct[o.changed].mean()
                                     - o.perturbed_correct[o.changed].mean())
    values = {"clean_acc": clean, "perturbed_acc": perturbed, "drop": clean - perturbed,
              "consistency": 100.0 * o.rates["kept"], "changed": 100.0 * o.rates["changed"],
              "flip_rate": flip, "relative_drop": 100.0 * (clean - perturbed) / clean if clean else NAN,
              "drop_changed": drop_changed}
    if o.clean_f1 is not None and o.perturbed_f1 is not None:
        clean_f1, perturbed_f1 = 100.0 * float(o.clean_f1.mean()), 100.0 * float(o.perturbed_f1.mean())
        values.update(clean_f1=clean_f1, perturbed_f1=perturbed_f1, f1_drop=clean_f1 - perturbed_f1)
    if o.attack is not None:
        for name, column in zip(_ATTACK_FIELDS, _ATTACK_COLUMNS):
            values[column] = getattr(o.attack, name)
    return values


class _RowBuilder:
    def __init__(self, collected: Collected, settings: ReportSettings) -> None:
        self.outcomes = collected.outcomes
        self.collected = collected
        self.settings = settings
        self.warnings: list[str] = []
        self._without_baseline: set[str] = set()  # warned once per model, not per cell
        distinct = {id(o.ids): o.ids for o in self.outcomes.values()}  # files share id arrays
        ids = np.concatenate(list(distinct.values()))
        units = self.units = collected.units  # tagging: a sentence's words are resampled together
        self.weights = ExampleWeights(ids, settings.bootstrap, derived_rng(settings.seed, "example-weights"),
                                      np.array([units.get(i, i) for i in ids.tolist()]) if units else None)

    def build(self) -> list[dict]:
        index: dict[tuple[str, str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for model, variant, language, condition, seed in sorted(self.outcomes):
            index[(model, variant, condition)][language].append(seed)
        self._seeds = index
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
        assign_families(rows, self.settings, self.collected.condition_kinds)
        flag_outlier_seeds(rows)
        clip_intervals(rows)
        return rows

    def _condition_rows(self, model: str, variant: str, condition: str,
                        seeds_by_language: dict[str, list[int]]) -> list[dict]:
        all_seeds = sorted({s for seeds in seeds_by_language.values() for s in seeds})
        by_language = [self._language(model, variant, language, condition, seeds)
                       for language, seeds in sorted(seeds_by_language.items())]
        ordered: list[ComputedRow] = []
        seed_labels: list[int | str] = [*all_seeds, ALL_SEEDS]
        for seed_label in seed_labels:
            computed = [found[seed_label] for found in by_language if seed_label in found]
            ordered.extend(computed)
            if len(computed) > 1:
                ordered.append(self._macro(computed, seed_label))
        for c in ordered:
            if c.row["seed"] == ALL_SEEDS and c.delta_draws is not None:
                method_level(c, self.settings.ci)
        self._set_intervals(ordered)
        clean_method_level(ordered, self.settings.ci)
        for c in ordered:
            welch_fallback(c, self.settings.ci)
        return [c.row for c in ordered]

    def _language(self, model: str, variant: str, language: str, condition: str,
                  seeds: list[int]) -> dict[int | str, ComputedRow]:
        """Rows of every seed and of seed "all" for one language."""
        found: dict[int | str, ComputedRow] = {}
        requests: list[tuple[np.ndarray, np.ndarray, ComputedRow, str]] = []
        for seed in seeds:
            o = self.outcomes[(model, variant, language, condition, seed)]
            row = self._new_row(model, variant, language, condition, seed)
            row.update(_own_values(o), n_seeds=1, n=int(o.ids.size))
            found[seed] = ComputedRow(row, np.empty(0))
            requests.append((o.ids, np.stack([o.clean_correct, o.clean_correct.astype(np.int8)
                                              - o.perturbed_correct], axis=1), found[seed], "draws"))
            if o.clean_f1 is not None and o.perturbed_f1 is not None:
                requests.append((o.ids, np.stack([o.clean_f1, o.clean_f1 - o.perturbed_f1], axis=1),
                                 found[seed], "f1_draws"))
        pooled = self._new_row(model, variant, language, condition, ALL_SEEDS)
        pooled.update({c: _mean(found[s].row[c] for s in seeds) for c in _OWN},
                      n_seeds=len(seeds), n=sum(found[s].row["n"] for s in seeds))
        found[ALL_SEEDS] = ComputedRow(pooled, np.empty(0))
        paired: list[int] = []
        if variant != self.settings.baseline and model not in self._without_baseline:
            paired = self._add_deltas(found, model, variant, language, condition, seeds, requests)
        self._resample(requests)
        for seed in paired:  # the flip delta is a ratio over the examples both got right clean
            draws = found[seed].delta_draws
            assert draws is not None, "a paired seed's deltas were resampled"
            found[seed].delta_draws = with_flip(draws)
        found[ALL_SEEDS].draws = np.mean([found[s].draws for s in seeds], axis=0)
        found[ALL_SEEDS].f1_draws = _mean_draws([found[s].f1_draws for s in seeds])
        if paired:
            found[ALL_SEEDS].delta_draws = np.mean([_delta_draws(found[s]) for s in paired], axis=0)
            found[ALL_SEEDS].f1_delta_draws = _mean_draws([found[s].f1_delta_draws for s in paired])
        if variant != self.settings.baseline and model not in self._without_baseline:
            base_seeds = self._seeds.get((model, self.settings.baseline, condition), {}).get(language, [])
            found[ALL_SEEDS].row["n_paired"] = len(paired)
            found[ALL_SEEDS].unpaired = (
                {s: found[s].row["perturbed_acc"] for s in seeds},
                {s: 100.0 * self.outcomes[(model, self.settings.baseline, language, condition, s)].rates["perturbed"]
                 for s in base_seeds})
        return found

    def _resample(self, requests: list[tuple[np.ndarray, np.ndarray, ComputedRow, str]]) -> None:
        """Bootstrap draws of every request, one matrix product per distinct id set (the
        products are memory-bound, so batching the columns is what makes them cheap)."""
        groups: dict[bytes, list] = defaultdict(list)
        for request in requests:
            ids = request[0]
            groups[ids.dtype.str.encode() + ids.tobytes()].append(request)
        for group in groups.values():
            ids = group[0][0]
            draws = 100.0 * self.weights.means(ids, np.concatenate([r[1] for r in group], axis=1))
            start = 0
            for _, values, computed, attribute in group:
                setattr(computed, attribute, draws[:, start:start + values.shape[1]])
                start += values.shape[1]

    def _add_deltas(self, found: dict[int | str, ComputedRow], model: str, variant: str,
                    language: str, condition: str, seeds: list[int], requests: list) -> list[int]:
        """Pair each seed with the baseline's seed of the same label (never by position);
        returns the paired seeds, and queues their per-example deltas for resampling."""
        metric = "clean_acc_delta" if condition == CLEAN else "robustness_delta"
        for computed in found.values():
            computed.row["delta_metric"] = metric
        baseline = {s: self.outcomes.get((model, self.settings.baseline, language, condition, s))
                    for s in seeds}
        missing = [s for s in seeds if baseline[s] is None]
        if missing:
            self.warnings.append(f"{model}/{variant}/{language}/{condition}: baseline "
                                 f"{self.settings.baseline!r} missing for seed(s) "
                                 f"{', '.join(str(s) for s in missing)}")
        found_baseline = {s: o for s, o in baseline.items() if o is not None}
        paired = [s for s in seeds if s in found_baseline]
        if not paired:
            return paired
        pooled = found[ALL_SEEDS]
        for seed in paired:
            variant_outcome = self.outcomes[(model, variant, language, condition, seed)]
            pair = pair_outcomes(variant_outcome, found_baseline[seed], condition)
            values = paired_values(found[seed].row, _own_values(found_baseline[seed]), pair, condition)
            computed = found[seed]
            computed.row.update(values)
            computed.per_seed = {seed: values}
            computed.differences = [self._per_unit(pair.ids, pair.primary)]
            requests.append((pair.ids, np.stack([pair.primary, pair.robustness, pair.flip_gain,
                                                 pair.both], axis=1), computed, "delta_draws"))
            if pair.f1 is not None:
                requests.append((pair.ids, pair.f1[:, None], computed, "f1_delta_draws"))
            pooled.per_seed[seed] = values
            pooled.differences.append(computed.differences[0])
        pooled.row.update({c: _mean(v[c] for v in pooled.per_seed.values()) for c in _PAIRED})
        pooled.row["p_value"] = sign_flip_p_value(np.concatenate(pooled.differences))
        return paired

    def _per_unit(self, ids: np.ndarray, differences: np.ndarray) -> np.ndarray:
        """Per-example differences summed per example unit (tagging: per sentence), so the
        sign-flip test flips whole sentences; unchanged where every id is its own example."""
        if not self.units:
            return differences
        _, unit_of = np.unique([self.units.get(i, i) for i in ids.tolist()], return_inverse=True)
        return np.bincount(unit_of, weights=differences).astype(np.int64)

    def _set_intervals(self, computed: list[ComputedRow]) -> None:
        """All percentile intervals of a condition in one quantile call (it dominates otherwise)."""
        draws, targets = [], []
        for c in computed:
            draws += [c.draws[:, 0], c.draws[:, 1]]
            targets += [(c.row, "clean_ci_low", "clean_ci_high"), (c.row, "drop_ci_low", "drop_ci_high")]
            if c.f1_draws is not None:
                draws += [c.f1_draws[:, 0], c.f1_draws[:, 1]]
                targets += [(c.row, "clean_f1_ci_low", "clean_f1_ci_high"), (c.row, "f1_drop_ci_low", "f1_drop_ci_high")]
            if c.f1_delta_draws is not None:
                draws.append(c.f1_delta_draws[:, 0])
                targets.append((c.row, "perturbed_f1_ci_low", "perturbed_f1_ci_high"))
            if c.delta_draws is not None:
                draws.append(c.delta_draws[:, 1])
                targets.append((c.row, "ci_low", "ci_high"))
                if c.row["inference"] != BY_SEEDS:  # one seed: the per-example interval
                    c.row["inference"] = BY_EXAMPLES
                    draws += [c.delta_draws[:, 0], c.delta_draws[:, 2]]
                    targets += [(c.row, "perturbed_ci_low", "perturbed_ci_high"),
                                (c.row, "flip_ci_low", "flip_ci_high")]
        intervals = percentile_intervals(np.stack(draws), self.settings.ci).tolist()
        for (row, low, high), (low_value, high_value) in zip(targets, intervals):
            row[low], row[high] = low_value, high_value

    def _macro(self, computed: list[ComputedRow], seed_label: int | str) -> ComputedRow:
        """Average of languages; draws share example weights, so their correlation is kept."""
        first = computed[0].row
        row = self._new_row(first["model"], first["variant"], MACRO, first["perturbation"], seed_label)
        row["n_seeds"] = max(c.row["n_seeds"] for c in computed)
        row["n"] = sum(c.row["n"] for c in computed)
        row.update({column: _mean(c.row[column] for c in computed) for column in _OWN})
        row["delta_metric"] = first["delta_metric"]
        macro = ComputedRow(row, np.mean([c.draws for c in computed], axis=0),
                          f1_draws=_mean_draws([c.f1_draws for c in computed]))
        with_sides = [c.unpaired for c in computed if c.unpaired is not None]
        if with_sides:  # per seed label, the mean over the languages that have it
            macro.unpaired = tuple(  # type: ignore[assignment]
                {s: _mean(side[s] for side in sides if s in side) for s in sorted({s for side in sides for s in side})}
                for sides in ([w[0] for w in with_sides], [w[1] for w in with_sides]))
            row["n_paired"] = 0
        with_delta = [c for c in computed if c.delta_draws is not None]
        if with_delta:
            row.update({column: _mean(c.row[column] for c in with_delta) for column in _PAIRED})
            macro.delta_draws = np.mean([_delta_draws(c) for c in with_delta], axis=0)
            macro.f1_delta_draws = _mean_draws([c.f1_delta_draws for c in with_delta])
            labels = sorted({s for c in with_delta for s in c.per_seed})
            macro.per_seed = {s: {column: _mean(c.per_seed[s][column] for c in with_delta
                                                if s in c.per_seed) for column in _PAIRED}
                              for s in labels}
            macro.differences = [d for c in with_delta for d in c.differences]
            if seed_label == ALL_SEEDS:
                row["p_value"] = sign_flip_p_value(np.concatenate(macro.differences))
        return macro

    def _new_row(self, model: str, variant: str, language: str, condition: str,
                 seed_label: int | str) -> dict:
        row: dict = dict.fromkeys(COLUMNS + F1_COLUMNS, NAN)
        row.update(model=model, variant=variant, language=language, perturbation=condition,
                   kind=self.collected.condition_kinds[condition],
                   description=self.collected.descriptions[condition], seed=seed_label,
                   delta_metric="", family="", inference="", clean_inference="", clipped="",
                   outlier_seeds="")
        return row


def compute_rows(collected: Collected, settings: ReportSettings) -> tuple[list[dict], list[str]]:
    """All rows in a stable order, and warnings about missing baselines."""
    builder = _RowBuilder(collected, settings)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)  # NaN means of absent metrics
        rows = builder.build()
    return rows, builder.warnings
