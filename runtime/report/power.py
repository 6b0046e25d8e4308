"""Power of the report's primary test, before anything runs and after.

The primary test is a two-sided t-test over k paired seed differences (variant − baseline,
the same seed label), at Holm's first step: the smallest p of a family of m rows must beat
α/m before anything can be called significant. So what a study can find is fixed by k, m, α
and the seed-to-seed SD of the tested figure, and it is cheap to say before the GPU-days are
spent. `xexp plan` and `xexp check` print it from the spec's `report { seed_sd=… }` (per-model
SD, points); the report prints it again from the *observed* spread of its per-seed differences.

Why Holm's first step: it is the easiest test in the family to pass when only one row has an
effect (the usual case), so an effect below it cannot be found at all; the other steps only
ask more. Why per-model SD × √2: the variant's and the baseline's seeds are independent
trainings, so the SD of their difference is √2 times the SD of one model's score.

The default seed SD, 0.5 points, is the middle of the 0.3–1.0 points reported for the
seed-to-seed SD of fine-tuned BERT-size models' accuracy on GLUE-size test sets (Dodge et al.
2020, "Fine-Tuning Pretrained Language Models: Weight Initializations, Data Orders, and Early
Stopping"; Mosbach et al. 2021 report similar spreads once failed runs are excluded), and the
range bench/stats_calibration.py simulates. Flip rates on a few thousand examples vary about
as much; a study that has pilot seeds should set its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Power the minimum detectable effect is quoted at.
POWER = 0.8
#: Seeds searched when asked how many are needed; beyond this the answer is "more than".
MAX_SEEDS = 200


def diff_sd(seed_sd: float) -> float:
    """SD of one paired difference from the per-model seed SD (independent trainings)."""
    return math.sqrt(2.0) * seed_sd


def critical_t(n_seeds: int, family: int, alpha: float, df: float | None = None) -> float:
    """|t| the smallest p of a Holm family of `family` rows must exceed (two-sided α/family);
    `df` defaults to n_seeds − 1."""
    from scipy.special import ndtri, stdtrit  # scipy.special, not scipy.stats: `xexp plan` stays fast

    if n_seeds < 2:
        return math.inf
    tail = alpha / (2.0 * max(1, family))
    df = n_seeds - 1 if df is None else df
    return float(-ndtri(tail)) if math.isinf(df) else float(-stdtrit(df, tail))


def power(effect: float, n_seeds: int, family: int, alpha: float, sd: float) -> float:
    """Chance that a true difference `effect` (points) is found at Holm's first step, with
    `sd` the SD of one paired seed difference (noncentral t)."""
    if n_seeds < 2:
        return 0.0
    return power_at(effect, sd / math.sqrt(n_seeds), n_seeds - 1, family, alpha)


def power_at(effect: float, se: float, df: float, family: int, alpha: float) -> float:
    """The same for a test whose standard error and degrees of freedom are given (the report's
    test: seeds plus the examples' variance, Satterthwaite's df)."""
    from scipy.special import ndtr, nctdtr

    if se <= 0:
        return 1.0
    crit = critical_t(2, family, alpha, df)
    shift = abs(effect) / se
    if math.isinf(df):
        return float(ndtr(shift - crit) + ndtr(-crit - shift))
    upper, lower = 1.0 - float(nctdtr(df, shift, crit)), float(nctdtr(df, shift, -crit))
    # far in the tails scipy's noncentral t can return NaN: there the tail is 0 (lower) or 1
    upper = 1.0 if math.isnan(upper) else upper
    return min(1.0, upper + (0.0 if math.isnan(lower) else lower))


def minimum_detectable_effect(n_seeds: int, family: int, alpha: float, sd: float,
                              target: float = POWER) -> float:
    """The smallest |effect| (points) found with probability `target`; inf below 2 seeds."""
    if n_seeds < 2:
        return math.inf
    return detectable_at(sd / math.sqrt(n_seeds), n_seeds - 1, family, alpha, target)


def detectable_at(se: float, df: float, family: int, alpha: float, target: float = POWER) -> float:
    """The smallest |effect| a test with this standard error and df finds with probability
    `target` at Holm's first step (bisection: power rises with the effect)."""
    if se <= 0:
        return 0.0
    low, high = 0.0, se
    while power_at(high, se, df, family, alpha) < target:
        low, high = high, high * 2.0
        if high > 1e6 * se:
            return math.inf
    while high - low > 1e-6 * se:
        middle = (low + high) / 2.0
        if power_at(middle, se, df, family, alpha) < target:
            low = middle
        else:
            high = middle
    return high


def seeds_needed(effect: float, family: int, alpha: float, sd: float,
                 target: float = POWER) -> int | None:
    """Fewest paired seeds that find `effect` with probability `target` (None: > MAX_SEEDS)."""
    for k in range(2, MAX_SEEDS + 1):
        if power(effect, k, family, alpha, sd) >= target:
            return k
    return None


@dataclass(frozen=True)
class PowerLine:
    """What `xexp plan` says about one target's primary family."""

    n_seeds: int
    family: int
    alpha: float
    seed_sd: float
    mde: float
    detect: float | None = None
    seeds_for_detect: int | None = None

    def text(self) -> str:
        if self.n_seeds < 2:
            return (f"{self.n_seeds} seed(s): the method-level test needs 2 paired seeds or more, "
                    f"so this study cannot reject anything")
        head = (f"{self.family} primary row(s), {self.n_seeds} paired seeds, α {self.alpha:g} "
                f"(Holm's first step: |t| > {critical_t(self.n_seeds, self.family, self.alpha):.1f}), "
                f"seed SD {self.seed_sd:g}: minimum detectable Δ flip at 80% power "
                f"{_points(self.mde)} points")
        if self.detect is not None:
            needed = (f"more than {MAX_SEEDS}" if self.seeds_for_detect is None
                      else str(self.seeds_for_detect))
            head += f"; to detect {self.detect:.1f} points: {needed} seeds"
        return head


def _points(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.1f}"


def power_line(n_seeds: int, family: int, alpha: float, seed_sd: float,
               detect: float | None = None) -> PowerLine:
    sd = diff_sd(seed_sd)
    mde = minimum_detectable_effect(n_seeds, family, alpha, sd)
    needed = seeds_needed(detect, family, alpha, sd) if detect is not None else None
    return PowerLine(n_seeds, family, alpha, seed_sd, mde, detect, needed)
