"""Method-level inference of a seed-"all" row: the robustness and accuracy tests over seeds.

The unit is the trained model (the seed label): one paired difference per label, and the
examples' variance of their mean added to s²/k (stats.seed_level), so an interval speaks of the
method on the population of examples, not of this test set. Too few pairs: Δ perturbed by
Welch's test over each side's own seeds. Clean accuracy with 2 seeds or more: the same
construction over the per-seed accuracies.
"""

from __future__ import annotations

import numpy as np

from xexp.runtime.report.computed import ComputedRow
from xexp.runtime.report.verdicts import ALL_SEEDS
from xexp.runtime.report.stats import seed_level, welch

NAN = float("nan")
#: `inference` of a row's intervals: across seeds (method-level), across examples, or Welch's.
BY_SEEDS, BY_EXAMPLES, BY_WELCH = "seeds", "examples", "welch"

#: Per-seed differences that get a method-level interval, and the columns it goes to.
#: (interval columns, column of the resampled deltas, p column)
_SEED_TESTED = {"perturbed_acc_delta": ("perturbed_ci_low", "perturbed_ci_high", 0, "p_method"),
                "flip_rate_delta": ("flip_ci_low", "flip_ci_high", 2, "flip_p_method")}


def example_variance(draws: np.ndarray) -> float:
    """Bootstrap variance of one resampled statistic (NaN replicates left out)."""
    finite = draws[np.isfinite(draws)]
    return float(finite.var(ddof=1)) if finite.size > 1 else NAN


def method_level(computed: ComputedRow, ci: float) -> None:
    """Seed-"all" rows: t over per-seed differences when two seed labels or more pair,
    widened by the examples' variance of the seed-averaged difference (stats.seed_level):
    an interval for the method, not for this test set. Δ perturbed gets `p_method`, Δ flip
    (the robustness test) `flip_p_method`."""
    row = computed.row
    assert computed.delta_draws is not None
    row["n_paired"] = len(computed.per_seed)
    for column, (low, high, draw, p_column) in _SEED_TESTED.items():
        result = seed_level([v[column] for v in computed.per_seed.values()], ci,
                            example_variance(computed.delta_draws[:, draw]))
        row[low], row[high], row[p_column] = result.low, result.high, result.p
        if column == "flip_rate_delta":  # what the power figure (mde_80) is computed from
            row["flip_seed_sd"], row["_flip_se"], row["_flip_df"] = result.sd, result.se, result.df
    row["inference"] = BY_SEEDS if row["n_paired"] >= 2 else BY_EXAMPLES


def clean_method_level(ordered: list[ComputedRow], ci: float) -> None:
    """Clean accuracy of seed-"all" rows with 2 seeds or more: over seeds plus the example
    variance, like the deltas (the example bootstrap alone is about these checkpoints)."""
    for c in ordered:
        row = c.row
        if row["seed"] != ALL_SEEDS:
            row["clean_inference"] = BY_EXAMPLES
            continue
        per_seed = [o.row["clean_acc"] for o in ordered if o.row["seed"] != ALL_SEEDS
                    and o.row["language"] == row["language"]]
        if len(per_seed) < 2:
            row["clean_inference"] = BY_EXAMPLES
            continue
        result = seed_level(per_seed, ci, example_variance(c.draws[:, 0]))
        row["clean_ci_low"], row["clean_ci_high"] = result.low, result.high
        row["clean_inference"] = BY_SEEDS


def welch_fallback(computed: ComputedRow, ci: float) -> None:
    """Seeds that do not pair (other labels, or fewer than 2 shared): Δ perturbed by Welch's
    test over each side's own seeds, rather than no test or an example-level interval that
    ignores the seeds. Δ flip needs pairs (it is taken on examples both got right)."""
    row, sides = computed.row, computed.unpaired
    paired = row["n_paired"] if isinstance(row["n_paired"], int) else 0
    if sides is None or paired >= 2 or max(len(sides[0]), len(sides[1])) < 2:
        return
    result = welch(list(sides[0].values()), list(sides[1].values()), ci)
    row["perturbed_acc_delta"] = result.mean
    row["perturbed_ci_low"], row["perturbed_ci_high"], row["p_method"] = result.low, result.high, result.p
    row["inference"] = BY_WELCH
