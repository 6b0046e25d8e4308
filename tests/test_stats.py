"""The report's statistics against references: scipy's bootstrap and t-test, coverage under a
known effect, brute-force enumeration of sign flips, Holm by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from xexp.runtime.report.stats import (
    ExampleWeights, derived_rng, holm, percentile_intervals, seed_level,
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
    ids = np.array([f"{i:05d}" for i in range(n)])
    weights = ExampleWeights(ids, n_boot, derived_rng(0, "scipy", str(n)))
    mine = weights.means(ids, _delta(cb, pb, cv, pv))[:, 0]
    reference = scipy_stats.bootstrap(
        (cb, pb, cv, pv), lambda a, b, c, d, axis: _delta(a, b, c, d).mean(axis=axis),
        paired=True, vectorized=True, method="percentile", n_resamples=n_boot,
        confidence_level=ci, batch=2000, random_state=np.random.default_rng(n + 1))
    spread = reference.standard_error
    # Monte Carlo error of two independent estimates, plus one step of the lattice the mean
    # of integer differences lives on (endpoints of both may sit on neighbouring points)
    tolerance = 4 * math.sqrt(2) * _quantile_mc_sd(ci, n_boot) * spread + 1 / n
    low, high = percentile_intervals(mine[None, :], ci)[0]
    assert low == pytest.approx(reference.confidence_interval.low, abs=tolerance)
    assert high == pytest.approx(reference.confidence_interval.high, abs=tolerance)
    # the spreads agree too (relative MC error of an sd estimate ~ 1/sqrt(2B))
    assert mine.std(ddof=1) == pytest.approx(spread, rel=4 * math.sqrt(2) / math.sqrt(2 * n_boot))


def test_percentile_intervals_are_the_percentile_definition_scipy_uses():
    draws = np.random.default_rng(4).normal(size=(3, 1001))
    for ci in (0.8, 0.95, 0.99):
        q = 100 * (1 - ci) / 2
        assert percentile_intervals(draws, ci) == pytest.approx(
            np.percentile(draws, [q, 100 - q], axis=1).T, abs=1e-12)


def test_confidence_intervals_cover_a_known_effect_about_95_percent():
    truth, n, ci = _true_delta(), 400, 0.95
    rng = np.random.default_rng(2024)
    covered = []
    for dataset in range(200):
        delta = _delta(*_simulate(n, rng))
        ids = np.arange(n).astype(str)
        draws = ExampleWeights(ids, 1000, derived_rng(0, str(dataset))).means(np.sort(ids), delta)[:, 0]
        low, high = percentile_intervals(np.asarray(draws)[None, :], ci)[0]
        covered.append(low <= truth <= high)
    coverage = float(np.mean(covered))
    assert 0.90 <= coverage <= 0.99, coverage


def test_one_weight_per_example_id_is_shared_by_every_row_that_contains_it():
    universe = np.array(["a", "b", "c", "d"])
    weights = ExampleWeights(np.array(["d", "b", "a", "c", "a"]), 500, derived_rng(0, "shared"))
    full = weights.weights(universe)
    subset = weights.weights(np.array(["b", "d"]))
    drawn = full[:, [1, 3]].sum(axis=1) > 0  # an all-zero replicate counts each example once
    assert np.array_equal(subset[drawn], full[drawn][:, [1, 3]])  # the same draw, not a new one
    assert (subset[~drawn] == 1).all()
    assert full.mean() == pytest.approx(1.0, abs=0.1)  # Poisson(1)
    assert (full.sum(axis=1) > 0).all()
    # identical columns in two "languages" give identical replicates
    x = np.array([1.0, 0.0, 1.0, 1.0])
    assert np.array_equal(weights.means(universe, x), weights.means(universe, x.copy()))
    with pytest.raises(ValueError, match="universe"):
        weights.weights(np.array(["z"]))
    # labels, not positions, decide the stream
    again = ExampleWeights(universe, 500, derived_rng(0, "shared")).weights(universe)
    other = ExampleWeights(universe, 500, derived_rng(0, "other")).weights(universe)
    assert np.array_equal(again, full) and not np.array_equal(other, full)


def test_seed_level_is_scipys_one_sample_t_test():
    d = np.array([0.4, -0.1, 0.9, 0.3])
    result = seed_level(d, 0.95)
    reference = scipy_stats.ttest_1samp(d, 0.0)
    half = scipy_stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert result.p == pytest.approx(reference.pvalue, rel=1e-12)
    assert (result.low, result.high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert result.n_seeds == 4
    one = seed_level([0.7], 0.95)
    assert one.mean == 0.7 and math.isnan(one.p) and math.isnan(one.low)
    same = seed_level([0.5, 0.5, 0.5], 0.95)  # no spread: no test, not p = 0
    assert math.isnan(same.p) and same.low == same.high == 0.5


def test_seed_level_test_holds_its_level_with_three_seeds():
    rng = np.random.default_rng(12)
    p = np.array([seed_level(rng.normal(0.0, 0.5, 3), 0.95).p for _ in range(4000)])
    assert 0.04 <= float((p < 0.05).mean()) <= 0.06


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
    with pytest.raises(ValueError, match="n_boot"):
        ExampleWeights(np.array(["a"]), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="ci"):
        seed_level([0.1, 0.2], 1.5)
    with pytest.raises(ValueError, match="seed"):
        derived_rng(-1, "x")
