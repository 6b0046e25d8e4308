"""The report's statistics against references: scipy's bootstrap, coverage under a known
effect, a naive two-stage bootstrap, brute-force enumeration of sign flips, Holm by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from xexp.runtime.stats import (
    bootstrap_frequencies, bootstrap_means, derived_rng, hierarchical_frequencies,
    hierarchical_means, holm, percentile_interval, percentile_intervals, seed_slots,
    sign_flip_p_value,
)

# A paired generative model with a known robustness delta (see `_true_delta`).
BASELINE = {"clean": 0.80, "keep": 0.85, "fix": 0.05}
VARIANT = {"clean": 0.82, "keep": 0.93, "fix": 0.05}


def _simulate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per example: clean and perturbed correctness of baseline and variant."""
    out = []
    for model in (BASELINE, VARIANT):
        clean = rng.random(n) < model["clean"]
        perturbed = np.where(clean, rng.random(n) < model["keep"], rng.random(n) < model["fix"])
        out += [clean, perturbed]
    return tuple(a.astype(np.int8) for a in out)


def _true_delta() -> float:
    def drop(m):
        return m["clean"] - (m["clean"] * m["keep"] + (1 - m["clean"]) * m["fix"])
    return drop(BASELINE) - drop(VARIANT)


def _delta(cb, pb, cv, pv):
    return (cb - pb) - (cv - pv)


def _quantile_mc_sd(ci: float, n_boot: int) -> float:
    """Monte Carlo sd of a bootstrap percentile endpoint, in units of the bootstrap sd
    (asymptotic sd of a sample quantile of a normal)."""
    q = (1 - ci) / 2
    return math.sqrt(q * (1 - q) / n_boot) / scipy_stats.norm.pdf(scipy_stats.norm.ppf(q))


def test_holm_against_a_hand_computed_case():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # 0.001*4, 0.011*3, 0.02*2, 0.04*1 = 0.004, 0.033, 0.04, 0.04
    assert holm([0.04, 0.001, 0.02, 0.011]) == pytest.approx([0.04, 0.004, 0.04, 0.033])
    # capped at 1, NaN is "not a test" and does not count in m
    adjusted = holm([0.5, float("nan"), 0.6])
    assert adjusted[0] == adjusted[2] == 1.0 and math.isnan(adjusted[1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.2, 1.5])


@pytest.mark.parametrize("n", [300, 1500])
def test_bootstrap_interval_agrees_with_scipy_percentile(n):
    cb, pb, cv, pv = _simulate(n, np.random.default_rng(n))
    n_boot, ci = 20_000, 0.95
    mine = bootstrap_means([_delta(cb, pb, cv, pv)], seed_slots(n_boot, 1, None),
                           derived_rng(0, "scipy", str(n)))
    reference = scipy_stats.bootstrap(
        (cb, pb, cv, pv), lambda a, b, c, d, axis: _delta(a, b, c, d).mean(axis=axis),
        paired=True, vectorized=True, method="percentile", n_resamples=n_boot,
        confidence_level=ci, batch=2000, random_state=np.random.default_rng(n + 1))
    spread = reference.standard_error
    # Monte Carlo error of two independent estimates, plus one step of the lattice the mean
    # of integer differences lives on (endpoints of both may sit on neighbouring points)
    tolerance = 4 * math.sqrt(2) * _quantile_mc_sd(ci, n_boot) * spread + 1 / n
    low, high = percentile_interval(mine, ci)
    assert low == pytest.approx(reference.confidence_interval.low, abs=tolerance)
    assert high == pytest.approx(reference.confidence_interval.high, abs=tolerance)
    # the spreads agree too (relative MC error of an sd estimate ~ 1/sqrt(2B))
    assert mine.std(ddof=1) == pytest.approx(spread, rel=4 * math.sqrt(2) / math.sqrt(2 * n_boot))


def test_percentile_interval_is_the_percentile_definition_scipy_uses():
    draws = np.random.default_rng(4).normal(size=(3, 1001))
    for ci in (0.8, 0.95, 0.99):
        q = 100 * (1 - ci) / 2
        assert percentile_interval(draws[0], ci) == pytest.approx(
            tuple(np.percentile(draws[0], [q, 100 - q])), abs=1e-12)
        assert percentile_intervals(draws, ci) == pytest.approx(
            np.percentile(draws, [q, 100 - q], axis=1).T, abs=1e-12)


def test_confidence_intervals_cover_a_known_effect_about_95_percent():
    truth, n, ci = _true_delta(), 400, 0.95
    rng = np.random.default_rng(2024)
    covered = []
    for dataset in range(200):
        delta = _delta(*_simulate(n, rng))
        draws = bootstrap_means([delta], seed_slots(1000, 1, None), derived_rng(0, str(dataset)))
        low, high = percentile_interval(draws, ci)
        covered.append(low <= truth <= high)
    coverage = float(np.mean(covered))
    assert 0.90 <= coverage <= 0.99, coverage


def _naive_two_stage(groups: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """The textbook hierarchical bootstrap with explicit index resampling."""
    n_seeds = len(groups)
    out = np.empty(n_boot)
    for b in range(n_boot):
        chosen = rng.integers(0, n_seeds, n_seeds)
        out[b] = np.mean([groups[s][rng.integers(0, groups[s].size, groups[s].size)].mean()
                          for s in chosen])
    return out


def test_hierarchical_bootstrap_matches_a_naive_two_stage_resampling():
    rng = np.random.default_rng(5)
    groups = [(rng.random(300) < p).astype(float) for p in (0.6, 0.7, 0.82)]
    n_boot = 3000
    naive = _naive_two_stage(groups, n_boot, np.random.default_rng(6))
    rng_fast = derived_rng(0, "hierarchical")
    fast = bootstrap_means(groups, seed_slots(n_boot, 3, rng_fast), rng_fast)
    relative_sd_error = 1 / math.sqrt(2 * n_boot)
    assert fast.std() == pytest.approx(naive.std(), rel=5 * math.sqrt(2) * relative_sd_error)
    assert fast.mean() == pytest.approx(naive.mean(), abs=5 * naive.std() / math.sqrt(n_boot))
    # seeds differ a lot here, so the outer level must dominate the spread
    within_only = math.sqrt(sum(g.var() / g.size for g in groups)) / 3
    assert fast.std() > 2 * within_only


def test_per_seed_replicates_are_plain_bootstraps_of_each_seed():
    rng = np.random.default_rng(8)
    groups = [(rng.random(n) < p).astype(np.intp) for n, p in ((500, 0.3), (800, 0.7))]
    slots = seed_slots(4000, 2, derived_rng(3, "slots"))
    pooled, per_seed = hierarchical_frequencies(groups, 2, slots, derived_rng(3, "per-seed"))
    assert pooled.shape == (4000, 2) and len(per_seed) == 2
    for group, draws in zip(groups, per_seed):
        p = group.mean()
        assert draws[:, 1].mean() == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / group.size / 4000))
        assert draws[:, 1].std() == pytest.approx(math.sqrt(p * (1 - p) / group.size), rel=0.1)
    means, per_seed_means = hierarchical_means(groups, slots, derived_rng(3, "per-seed"))
    assert np.array_equal(means, pooled[:, 1]) and np.array_equal(per_seed_means[0], per_seed[0][:, 1])


def test_many_distinct_values_use_index_resampling_with_the_same_answer():
    rng = np.random.default_rng(11)
    values = rng.normal(0.3, 1.0, 400)  # continuous: every value distinct
    draws = bootstrap_means([values], seed_slots(3000, 1, None), derived_rng(0, "continuous"))
    assert draws.mean() == pytest.approx(values.mean(), abs=4 * values.std() / 20 / math.sqrt(3000))
    assert draws.std() == pytest.approx(values.std() / math.sqrt(values.size), rel=0.1)


def test_same_inputs_same_draws_and_labels_decide_the_stream():
    codes = [np.array([0, 1, 1, 2, 3, 3, 3])]
    first = bootstrap_frequencies(codes, 4, seed_slots(200, 1, None), derived_rng(7, "a", "b"))
    again = bootstrap_frequencies(codes, 4, seed_slots(200, 1, None), derived_rng(7, "a", "b"))
    other = bootstrap_frequencies(codes, 4, seed_slots(200, 1, None), derived_rng(7, "a", "c"))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.allclose(first.sum(axis=1), 1.0)


def test_exact_sign_flip_equals_brute_force_enumeration():
    rng = np.random.default_rng(3)
    for _ in range(40):
        d = rng.integers(-3, 4, size=int(rng.integers(1, 13)))
        sums = np.abs(np.array(list(itertools.product([-1, 1], repeat=d.size))) @ d)
        expected = float((sums >= abs(d.sum())).mean()) if d.sum() != 0 else 1.0
        assert sign_flip_p_value(d) == pytest.approx(expected, abs=1e-12), d


def test_monte_carlo_sign_flip_for_non_integer_differences():
    d = np.array([0.5, 1.25, -0.3, 0.9, 0.7, -0.1, 1.1, 0.2, 0.6, -0.45, 0.8, 0.35])
    sums = np.abs(np.array(list(itertools.product([-1, 1], repeat=d.size))) @ d)
    exact = float((sums >= abs(d.sum()) * (1 - 1e-12)).mean())
    estimate = sign_flip_p_value(d, rng=np.random.default_rng(0), n_permutations=40_000)
    assert estimate == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 40_000) + 1e-4)
    with pytest.raises(ValueError, match="need an rng"):
        sign_flip_p_value(d)


def test_sign_flip_test_holds_its_level_and_finds_large_effects():
    rng = np.random.default_rng(12)
    null_p = [sign_flip_p_value(rng.integers(-1, 2, 500)) for _ in range(400)]
    assert 0.02 <= np.mean(np.array(null_p) < 0.05) <= 0.08
    effect = _delta(*_simulate(2000, rng))  # true delta ~ +6 points
    assert sign_flip_p_value(effect) < 1e-6


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="slots has 2 columns for 1 seeds"):
        bootstrap_means([np.ones(3)], np.zeros((10, 2), dtype=int), np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty"):
        bootstrap_means([np.array([])], seed_slots(10, 1, None), np.random.default_rng(0))
    with pytest.raises(ValueError, match="ci must be in"):
        percentile_intervals(np.ones((1, 10)), 1.5)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        derived_rng(-1, "x")
