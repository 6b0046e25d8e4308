"""Resampling statistics for the robustness report: bootstrap intervals, sign-flip tests, Holm.

Everything the report estimates is a mean of small integers per example (a 0/1 correctness,
a difference of two of them, a robustness delta in {-2..2}). That lets the bootstrap resample
*category counts* instead of example indices: drawing n examples with replacement from a
sample whose values fall into K categories is exactly a multinomial(n, observed frequencies)
draw, so one replicate costs O(K) instead of O(n). The resulting distribution is identical to
the index bootstrap (only the random stream differs), and the report over thousands of
examples × hundreds of cells runs in seconds.

Seeds are the outer level of a hierarchical (two-stage) bootstrap: a replicate first draws
seeds with replacement ("slots"), then, independently for every slot, examples within the
chosen seed. Slot matrices are shared across the rows of a report (`seed_slots`), so averaging
per-language replicates into a macro average keeps the correlation a training seed induces
across languages.

Randomness is derived from a base seed and the *labels* of what is resampled
(`derived_rng`), never from the position of a cell, so reordering the inputs of a report
changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy.stats import binom

#: Above this many distinct values the count trick stops paying off; indices are resampled.
_MAX_CATEGORIES = 64
#: Examples × replicates resampled per chunk on the index-resampling path (memory bound).
_INDEX_CHUNK = 4_000_000


def derived_rng(seed: int, *labels: str) -> np.random.Generator:
    """A generator determined by a base seed and labels (e.g. model, variant, language)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    digest = hashlib.sha256("\x1f".join(labels).encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def seed_slots(n_boot: int, n_seeds: int, rng: np.random.Generator) -> np.ndarray:
    """The outer level of the hierarchical bootstrap: seed index per (replicate, slot).

    One seed gives a single always-zero slot, so the hierarchical bootstrap reduces to the
    plain example bootstrap.
    """
    if n_boot < 1 or n_seeds < 1:
        raise ValueError(f"need n_boot >= 1 and n_seeds >= 1, got {n_boot} and {n_seeds}")
    if n_seeds == 1:
        return np.zeros((n_boot, 1), dtype=np.intp)
    return rng.integers(0, n_seeds, size=(n_boot, n_seeds), dtype=np.intp)


def bootstrap_frequencies(codes_by_seed: Sequence[np.ndarray], n_categories: int,
                          slots: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of category frequencies, averaged over seed slots: shape (B, K).

    `codes_by_seed[s]` holds one category code in [0, K) per example of seed s. Any mean of a
    per-example quantity that depends only on the category is then `frequencies @ values`,
    so one resample serves several statistics (clean accuracy, drop, ...) consistently.
    """
    return hierarchical_frequencies(codes_by_seed, n_categories, slots, rng)[0]


def hierarchical_frequencies(codes_by_seed: Sequence[np.ndarray], n_categories: int,
                             slots: np.ndarray, rng: np.random.Generator
                             ) -> tuple[np.ndarray, list[np.ndarray]]:
    """`bootstrap_frequencies`, plus each seed's own plain-bootstrap replicates (B, K).

    Every seed gets max(B, its slot count) example resamples; the pooled replicates use them
    in the slots that chose the seed, the per-seed replicates use the first B. Sharing the
    draws makes per-seed intervals free once the pooled ones are computed.
    """
    n_boot, n_slots = slots.shape
    if n_slots != len(codes_by_seed):
        raise ValueError(f"slots has {n_slots} columns for {len(codes_by_seed)} seeds")
    picked = np.zeros((n_boot, n_slots, n_categories))
    per_seed = []
    for seed_index, codes in enumerate(codes_by_seed):
        codes = np.asarray(codes)
        if codes.size == 0:
            raise ValueError(f"seed #{seed_index} has no examples to resample")
        mask = slots == seed_index
        n_draws = max(n_boot, int(mask.sum()))
        counts = np.bincount(codes, minlength=n_categories)
        if counts.size != n_categories:
            raise ValueError(f"category code {int(codes.max())} out of range 0..{n_categories - 1}")
        present = np.flatnonzero(counts)
        drawn = np.zeros((n_draws, n_categories))
        if present.size == 1:
            drawn[:, present[0]] = 1.0
        else:
            drawn[:, present] = rng.multinomial(codes.size, counts[present] / codes.size,
                                                size=n_draws) / codes.size
        picked[mask] = drawn[: int(mask.sum())]
        per_seed.append(drawn[:n_boot])
    return picked.mean(axis=1), per_seed


def bootstrap_means(values_by_seed: Sequence[np.ndarray], slots: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates (B,) of the mean over seeds of the per-seed mean of `values`."""
    return hierarchical_means(values_by_seed, slots, rng)[0]


def hierarchical_means(values_by_seed: Sequence[np.ndarray], slots: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """`bootstrap_means`, plus each seed's own plain-bootstrap replicates (B,)."""
    arrays = [np.asarray(values, dtype=float).ravel() for values in values_by_seed]
    if len(arrays) != slots.shape[1]:
        raise ValueError(f"slots has {slots.shape[1]} columns for {len(arrays)} seeds")
    if any(a.size == 0 for a in arrays):
        raise ValueError("cannot bootstrap an empty sample")
    categories, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
    if categories.size <= _MAX_CATEGORIES:
        bounds = np.cumsum([a.size for a in arrays])[:-1]
        codes = np.split(inverse, bounds)
        pooled, per_seed = hierarchical_frequencies(codes, categories.size, slots, rng)
        return pooled @ categories, [f @ categories for f in per_seed]
    return _index_bootstrap_means(arrays, slots, rng)


def _index_bootstrap_means(arrays: list[np.ndarray], slots: np.ndarray, rng: np.random.Generator
                           ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Plain resampling of example indices, for values with many distinct levels."""
    n_boot, n_slots = slots.shape
    picked = np.zeros((n_boot, n_slots))
    per_seed = []
    for seed_index, values in enumerate(arrays):
        mask = slots == seed_index
        n_draws = max(n_boot, int(mask.sum()))
        means = np.empty(n_draws)
        chunk = max(1, _INDEX_CHUNK // values.size)
        for start in range(0, n_draws, chunk):
            size = min(chunk, n_draws - start)
            means[start:start + size] = values[rng.integers(0, values.size,
                                                            size=(size, values.size))].mean(axis=1)
        picked[mask] = means[: int(mask.sum())]
        per_seed.append(means[:n_boot])
    return picked.mean(axis=1), per_seed


def percentile_interval(draws: np.ndarray, ci: float) -> tuple[float, float]:
    """Percentile bootstrap interval (as scipy's method="percentile", linear interpolation)."""
    low, high = percentile_intervals(np.asarray(draws, dtype=float)[None, :], ci)[0]
    return float(low), float(high)


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
    levels, counts = np.unique(magnitudes, return_counts=True)
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
