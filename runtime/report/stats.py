"""Statistics for the robustness report: seed-level tests, example bootstrap intervals, Holm.

Two questions, two units of analysis:

* **Does the method help?** The unit is the trained model (the seed). Each matched seed pair
  gives one paired difference (variant − baseline, the same seed label); those k numbers get a
  one-sample t-test and t-interval with k − 1 degrees of freedom (`seed_level`). This is the
  report's primary inference. Why t and not a resampling scheme: with 3–5 seeds a sign-flip
  test over seeds can never reach p < 0.05 (its smallest two-sided p is 2/2^k: 0.25 for 3 seeds,
  0.0625 for 5), and a bootstrap over 3 seeds sees at most 10 distinct means and under-covers
  (the two-level bootstrap this module had before covered 72–86% in simulation, see
  bench/README.md). Each seed's score is a mean over thousands of examples, so it is close to
  normal, and seed-to-seed variation of fine-tuned models is itself close to normal (Bouthillier
  et al. 2021), which is the case where Dror et al. (2018) recommend the paired t-test. Almost
  stochastic order (Dror et al. 2019, `deepsig`) answers a different question (a dominance
  score, not a mean difference with an interval) and is not calibrated with 3 seeds; rliable's
  stratified bootstrap (Agarwal et al. 2021) resamples runs, which is the under-covering case
  above. scipy's `ttest_1samp` does the arithmetic; bench/stats_calibration.py measures the
  false-positive rate and coverage through the report's own code path.

* **Do these trained models differ on these examples?** The unit is the example, conditional
  on the checkpoints: percentile bootstrap intervals and the exact sign-flip test. These are
  the report's secondary figures. The bootstrap is *parallel-aware*: every replicate draws one
  weight per example id (`ExampleWeights`, a Poisson(1) bootstrap) and every language, seed,
  variant and condition that contains that id uses the same weight. XNLI is parallel (row i is
  the same pair in every language), so its languages are correlated; resampling them
  independently made macro intervals far too narrow. Ids that differ across languages get
  independent weights automatically, so nothing is assumed when files are not parallel.

Randomness is derived from a base seed and labels (`derived_rng`), never from the position of a
cell, so reordering the inputs of a report changes nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom, ttest_1samp
from scipy.stats import t as student_t

NAN = float("nan")
#: Examples × replicates resampled per chunk on the index-resampling path (memory bound).
_INDEX_CHUNK = 4_000_000


def derived_rng(seed: int, *labels: str) -> np.random.Generator:
    """A generator determined by a base seed and labels (e.g. model, variant, language)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    digest = hashlib.sha256("\x1f".join(labels).encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


class ExampleWeights:
    """Poisson(1) bootstrap weights, one per (replicate, example id), shared by every row.

    The universe of ids is fixed up front (every id the report contains); a row's bootstrap
    mean of per-example values x over its ids is Σ w·x / Σ w with the weights of those ids.
    The Poisson bootstrap (Hanley & MacGibbon 2006) is the multinomial bootstrap with the
    sample size left free; it is what lets rows over different subsets of the same ids share
    one draw. A replicate whose weights over a row's ids are all zero (only possible for a
    handful of examples) counts every example once.

    `units` (aligned with `ids`) names the example each id belongs to when a row is not an
    example: a tagging target's predictions are one row per word, and its examples are
    sentences. The weight is then drawn per unit and shared by all of its ids (a cluster
    bootstrap; the means become ratio estimates over the resampled sentences), so the words
    of one sentence, which are not independent, are resampled together. Without `units` every
    id is its own unit, and the draws are exactly those of a plain per-id bootstrap.
    """

    def __init__(self, ids: np.ndarray, n_boot: int, rng: np.random.Generator,
                 units: np.ndarray | None = None) -> None:
        if n_boot < 1:
            raise ValueError(f"need n_boot >= 1, got {n_boot}")
        ids = np.asarray(ids).astype(str)
        self.universe, first = np.unique(ids, return_index=True)
        self.n_boot = n_boot
        if units is None:
            self._weights = rng.poisson(1.0, size=(n_boot, self.universe.size)).astype(np.uint8)
        else:
            names, unit_of = np.unique(np.asarray(units).astype(str)[first], return_inverse=True)
            self._weights = rng.poisson(1.0, size=(n_boot, names.size)).astype(np.uint8)[:, unit_of]
        self._subsets: dict[bytes, np.ndarray] = {}

    def weights(self, ids: np.ndarray) -> np.ndarray:
        """Float weights (B, n) of these sorted, unique ids."""
        key = hashlib.sha256(np.asarray(ids).astype(str).tobytes()).digest()
        if key not in self._subsets:
            positions = np.searchsorted(self.universe, ids)
            clipped = np.minimum(positions, self.universe.size - 1)
            if ids.size and (self.universe[clipped] != ids).any():
                raise ValueError("ids outside the bootstrap universe")
            chosen = self._weights[:, clipped].astype(np.float32)
            empty = chosen.sum(axis=1) == 0
            chosen[empty] = 1.0
            self._subsets[key] = chosen
        return self._subsets[key]

    def means(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Bootstrap replicates of the column means of `values` (n, m): shape (B, m)."""
        w = self.weights(ids)
        values = np.asarray(values, dtype=np.float32).reshape(ids.size, -1)
        return (w @ values).astype(float) / w.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class SeedLevel:
    """Method-level inference from per-seed paired differences (`sd`: their SD, NaN below 2)."""

    mean: float
    low: float
    high: float
    p: float
    n_seeds: int
    sd: float = NAN
    df: float = NAN
    se: float = NAN  # standard error of the mean the test used


def seed_level(differences: Sequence[float], ci: float, example_var: float = 0.0) -> SeedLevel:
    """t-test and t-interval of per-seed differences (see the module docstring), for the
    method on the population of examples when `example_var` is given.

    The k per-seed differences all come from one test set, so their spread s²/k says how much
    a new set of *seeds* would move the mean, not a new set of *examples*: an interaction of
    method and example (the variant helps on these sentences, hurts on others) is the same in
    every seed and invisible to s². `example_var` is the variance of the seed-averaged
    difference over examples (the parallel-aware bootstrap's variance of that mean), added to
    s²/k; the degrees of freedom follow Satterthwaite, with the bootstrap's as infinite (it has
    thousands of examples). This counts the examples' own noise once more than needed (it is
    inside s² already), which errs on the side of wider intervals: bench/stats_calibration.py
    measures the result against a population null with such an interaction.

    One seed: no variance estimate, so interval and p are NaN. Identical differences and no
    example variance: the interval collapses onto the mean and p is NaN — t would be
    infinite, a claim two equal numbers cannot support.
    """
    d = np.asarray(differences, dtype=float).ravel()
    d = d[~np.isnan(d)]
    if d.size == 0:
        return SeedLevel(NAN, NAN, NAN, NAN, 0)
    mean = float(d.mean())
    if d.size < 2:
        return SeedLevel(mean, NAN, NAN, NAN, 1)
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    k = int(d.size)
    sd = float(d.std(ddof=1))
    extra = float(example_var) if example_var is not None and np.isfinite(example_var) else 0.0
    if sd == 0.0 and extra <= 0.0:
        return SeedLevel(mean, mean, mean, NAN, k, sd)
    if extra <= 0.0:
        result = ttest_1samp(d, 0.0)
        interval = result.confidence_interval(ci)
        return SeedLevel(mean, float(interval.low), float(interval.high), float(result.pvalue),
                         k, sd, float(k - 1), sd / math.sqrt(k))
    seeds_var = sd * sd / k
    se = math.sqrt(seeds_var + extra)
    df = math.inf if seeds_var == 0.0 else (seeds_var + extra) ** 2 * (k - 1) / seeds_var ** 2
    quantile = float(student_t.ppf(0.5 + ci / 2.0, df))
    p = float(2.0 * student_t.sf(abs(mean) / se, df))
    return SeedLevel(mean, mean - quantile * se, mean + quantile * se, p, k, sd, df, se)


def welch(variant: Sequence[float], baseline: Sequence[float], ci: float) -> SeedLevel:
    """Welch's t-test and interval of mean(variant) − mean(baseline) over seeds that do not
    pair (different labels or counts): each side's spread counts, with Satterthwaite's df.
    One side with a single seed borrows the other side's variance (the same training recipe
    on the same data: equal seed variance is the only assumption left), df from that side;
    NaN when neither side has 2 seeds."""
    v = np.asarray(variant, dtype=float)
    b = np.asarray(baseline, dtype=float)
    v, b = v[~np.isnan(v)], b[~np.isnan(b)]
    if v.size == 0 or b.size == 0:
        return SeedLevel(NAN, NAN, NAN, NAN, 0)
    mean = float(v.mean() - b.mean())
    if v.size < 2 and b.size < 2:
        return SeedLevel(mean, NAN, NAN, NAN, min(v.size, b.size))
    if v.size < 2 or b.size < 2:
        spread = v if v.size >= 2 else b
        se = math.sqrt(float(spread.var(ddof=1)) * (1.0 / v.size + 1.0 / b.size))
        df = float(spread.size - 1)
        if se == 0.0:
            return SeedLevel(mean, mean, mean, NAN, 1, 0.0)
        quantile = float(student_t.ppf(0.5 + ci / 2.0, df))
        p = float(2.0 * student_t.sf(abs(mean) / se, df))
        return SeedLevel(mean, mean - quantile * se, mean + quantile * se, p, 1, se, df, se)
    a, c = float(v.var(ddof=1)) / v.size, float(b.var(ddof=1)) / b.size
    if a + c == 0.0:
        return SeedLevel(mean, mean, mean, NAN, min(v.size, b.size), 0.0)
    df = (a + c) ** 2 / (a * a / (v.size - 1) + c * c / (b.size - 1))
    se = math.sqrt(a + c)
    quantile = float(student_t.ppf(0.5 + ci / 2.0, df))
    p = float(2.0 * student_t.sf(abs(mean) / se, df))
    return SeedLevel(mean, mean - quantile * se, mean + quantile * se, p, min(v.size, b.size),
                     math.sqrt(a + c), df, se)


def percentile_intervals(draws: np.ndarray, ci: float) -> np.ndarray:
    """Intervals of several statistics at once: draws (m, B) -> (m, 2) [low, high]."""
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    alpha = (1.0 - ci) / 2.0
    return np.quantile(np.asarray(draws, dtype=float), [alpha, 1.0 - alpha], axis=1).T


def sign_flip_p_value(differences: np.ndarray, rng: np.random.Generator | None = None,
                      n_permutations: int = 100_000) -> float:
    """Two-sided paired sign-flip permutation test of "mean difference = 0".

    Under the null, which of the two paired outcomes belongs to which system is a coin flip
    per example, so every difference keeps its magnitude and gets a random sign; the
    statistic is the sum. For integer differences the null distribution is computed exactly
    (a sum of scaled binomials), so p-values far below 1/B survive a Holm correction over
    hundreds of cells. Other values fall back to Monte Carlo (needs `rng`).
    """
    d = np.asarray(differences, dtype=float).ravel()
    if np.isnan(d).any():
        raise ValueError("differences contain NaN")
    d = d[d != 0]
    observed = abs(float(d.sum()))
    if d.size == 0 or observed == 0.0:
        return 1.0
    if np.array_equal(d, np.round(d)):
        return _exact_sign_flip(np.abs(d).astype(np.int64), int(round(observed)))
    if rng is None:
        raise ValueError("non-integer differences need an rng for the Monte Carlo test")
    exceed = 0
    chunk = max(1, _INDEX_CHUNK // d.size)
    for start in range(0, n_permutations, chunk):
        size = min(chunk, n_permutations - start)
        signs = rng.integers(0, 2, size=(size, d.size), dtype=np.int8) * 2 - 1
        exceed += int((np.abs(signs @ d) >= observed * (1 - 1e-12)).sum())
    return (1 + exceed) / (1 + n_permutations)


def _exact_sign_flip(magnitudes: np.ndarray, observed: int) -> float:
    """P(|Σ m_i ε_i| >= observed) for fair random signs ε_i, exactly.

    The magnitude with the most examples is handled by the binomial tail function (exact in
    far tails); the others, few in practice, are convolved into a small exact pmf.
    """
    tally = np.bincount(magnitudes)  # magnitudes are small integers (|Δ| of 0/1 outcomes ≤ 2)
    levels = np.flatnonzero(tally)
    counts = tally[levels]
    main = int(np.argmax(counts))
    m0, k0 = int(levels[main]), int(counts[main])
    # Distribution of the rest R = Σ m (2X - k) on the integer grid -M..M.
    rest_pmf = np.ones(1)
    rest_span = 0
    for j, (m, k) in enumerate(zip(levels.tolist(), counts.tolist())):
        if j == main:
            continue
        scaled = np.zeros(2 * m * k + 1)
        scaled[:: 2 * m] = binom.pmf(np.arange(k + 1), k, 0.5)
        rest_pmf = np.convolve(rest_pmf, scaled)
        rest_span += m * k
    rest_values = np.arange(-rest_span, rest_span + 1)
    keep = rest_pmf > 0
    rest_values, rest_pmf = rest_values[keep], rest_pmf[keep]
    # Main part: m0 * (2 X0 - k0) with X0 ~ Bin(k0, 1/2). Need P(m0 Y >= t - r) + P(m0 Y <= -t - r).
    upper_x = -((-(observed - rest_values + m0 * k0)) // (2 * m0))  # ceil
    lower_x = (-observed - rest_values + m0 * k0) // (2 * m0)        # floor
    tail = binom.sf(upper_x - 1, k0, 0.5) + binom.cdf(lower_x, k0, 0.5)
    return float(min(1.0, np.dot(rest_pmf, tail)))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values; NaN entries are not tests and stay NaN."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    tested = p[valid]
    if ((tested < 0) | (tested > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    m = tested.size
    if m == 0:
        return adjusted
    order = np.argsort(tested, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * tested[order]))
    result = np.empty(m)
    result[order] = stepped
    adjusted[valid] = result
    return adjusted
