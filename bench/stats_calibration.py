"""Calibration of the report's statistics, through the report's own row computation.

Each simulated experiment is XNLI-sized: 5,010 parallel examples × 15 languages, a baseline
and a variant, k seeds each (3 or 5), conditions "clean" and one perturbation. Outcomes are
drawn from a latent-difficulty model and handed to `compute_rows` exactly as `collect_outcomes`
would hand them over, so what is measured is what the report prints:

  correct(system, seed, language, example) = [a + λ·z(language, example) + u(system, seed)
                                              + Δ(system) + ε > 0],  ε ~ N(0, 1)
  z(language, i) = √ρ·g(i) + √(1 − ρ)·e(language, i)       (parallel ids: g is shared)
  perturbed: 85% of examples changed, latent − 0.4 + 0.6·ξ;  unchanged keep their answer

u is the seed effect, scaled so one seed's macro accuracy has the requested SD (0.3 or 0.5
points); Δ is 0 for the baseline and makes the variant's population clean accuracy higher by
the requested effect. The true deltas are computed in closed form (normal CDFs), so coverage
is checked against the population value, not a simulation estimate.

No-effect runs draw the seed SD from 0.3–0.5 points per run (a t-test is scale-free, so the SD
cannot move its false-positive rate); power runs take 0.3 and 0.5 as separate settings.
Measured per setting: the false-positive rate of the primary test (p_method < 0.05 on the macro
rows, no true effect), the same for the per-example sign-flip p (to show why it is secondary),
the coverage of the 95% macro interval of the primary delta, the coverage of the macro clean
accuracy interval (per-example bootstrap, against the accuracy of the trained models it is
conditional on), and the power at +1 and +2 points. The last line is one JSON object.

The robustness test (Δ flip, the report's starred, Holm-corrected test) is calibrated by
bench/robustness_sims.py: the accuracy confound (same flip hazard, +10 points clean), a method
× example interaction against the population null (with ordinary and very stable seeds), and
Holm's family-wise error over six true nulls. The power table is runtime/report/power.py's, the very
function `xexp plan` prints from, checked against a Monte Carlo t-test at each figure.

    python bench/stats_calibration.py --quick     # < 3 minutes on 2 cores
    python bench/stats_calibration.py             # the figures in bench/README.md
    python bench/stats_calibration.py --only robustness   # the robustness test and power only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy.stats import norm

import robustness_sims
from xexp.runtime.report.power import critical_t, diff_sd, minimum_detectable_effect, seeds_needed
from xexp.runtime.report.model import CLEAN, ReportSettings
from xexp.runtime.report.outcomes import Collected, Outcome
from xexp.runtime.report.rows import ALL_SEEDS, MACRO, compute_rows

N_EXAMPLES, N_LANGUAGES = 5010, 15
A, LAMBDA, RHO = 1.2, 1.5, 0.55     # accuracy ≈ 75%; correctness correlation across languages ≈ 0.25
SHIFT, NOISE, CHANGED = 0.4, 0.6, 0.85
CONDITION = "noise"
BOOTSTRAP = 100  # the report's minimum; the primary test does not use the bootstrap
SIGMA = math.sqrt(LAMBDA ** 2 + 1.0)                 # SD of the clean latent given the seed
SIGMA_P = math.sqrt(LAMBDA ** 2 + 1.0 + NOISE ** 2)  # ... of the perturbed latent


def seed_scale(seed_sd: float) -> float:
    """Latent SD of u that gives one seed's accuracy an SD of `seed_sd` points."""
    return seed_sd / (100.0 * norm.pdf(A / SIGMA) / SIGMA)


def population_accuracy(offset: float, tau: float, perturbed: bool) -> float:
    """Accuracy in percent over examples and seeds, for a latent offset Δ."""
    clean = norm.cdf((A + offset) / math.hypot(SIGMA, tau))
    if not perturbed:
        return 100.0 * clean
    hit = norm.cdf((A + offset - SHIFT) / math.hypot(SIGMA_P, tau))
    return 100.0 * (CHANGED * hit + (1.0 - CHANGED) * clean)


def offset_for(effect: float, tau: float) -> float:
    """Δ that raises the population clean accuracy by `effect` points."""
    base = population_accuracy(0.0, tau, False) / 100.0
    return math.hypot(SIGMA, tau) * norm.ppf(base + effect / 100.0) - A


def simulate(n_seeds: int, seed_sd: float, effect: float, rng: np.random.Generator
             ) -> tuple[Collected, dict[str, float], float]:
    """One experiment: outcomes, true macro deltas per condition, and the baseline's
    accuracy conditional on its trained seeds (the target of the clean interval)."""
    tau = seed_scale(seed_sd)
    offset = offset_for(effect, tau) if effect else 0.0
    g = rng.standard_normal(N_EXAMPLES)
    z = math.sqrt(RHO) * g + math.sqrt(1.0 - RHO) * rng.standard_normal((N_LANGUAGES, N_EXAMPLES))
    changed = rng.random((N_LANGUAGES, N_EXAMPLES)) < CHANGED
    ids = np.array([f"{i:05d}" for i in range(N_EXAMPLES)])
    outcomes: dict = {}
    baseline_conditional = []
    for variant, delta in (("none", 0.0), ("mnli", offset)):
        for seed in range(1, n_seeds + 1):
            u = tau * rng.standard_normal()
            if variant == "none":
                baseline_conditional.append(100.0 * norm.cdf((A + u) / SIGMA))
            latent = A + LAMBDA * z + u + delta + rng.standard_normal(z.shape)
            clean = latent > 0
            perturbed = np.where(changed, latent - SHIFT + NOISE * rng.standard_normal(z.shape) > 0,
                                 clean)
            for index in range(N_LANGUAGES):
                language = f"l{index:02d}"
                c, p = clean[index], perturbed[index]
                outcomes[("sim", variant, language, CLEAN, seed)] = Outcome(
                    ids, c, c, np.ones(N_EXAMPLES, bool), np.zeros(N_EXAMPLES, bool))
                outcomes[("sim", variant, language, CONDITION, seed)] = Outcome(
                    ids, c, p, c == p, changed[index])
    collected = Collected(outcomes, {CLEAN: "", CONDITION: "simulated noise"},
                          {CLEAN: CLEAN, CONDITION: "perturbation"})
    truth = {CLEAN: population_accuracy(offset, tau, False) - population_accuracy(0.0, tau, False),
             CONDITION: population_accuracy(offset, tau, True) - population_accuracy(0.0, tau, True)}
    return collected, truth, float(np.mean(baseline_conditional))


def one_run(job: tuple[int, float | None, float, int]) -> list[dict]:
    """One simulated report; seed_sd None: drawn uniformly from 0.3–0.5 points."""
    n_seeds, seed_sd, effect, index = job
    rng = np.random.default_rng([n_seeds, int((seed_sd or 0) * 10), int(effect * 10), index])
    if seed_sd is None:
        seed_sd = float(rng.uniform(0.3, 0.5))
    collected, truth, conditional = simulate(n_seeds, seed_sd, effect, rng)
    rows, _ = compute_rows(collected, ReportSettings(bootstrap=BOOTSTRAP, seed=index))
    found = []
    for row in rows:
        if row["language"] != MACRO or row["seed"] != ALL_SEEDS:
            continue
        if row["variant"] == "none" and row["perturbation"] == CLEAN:
            found.append({"kind": "clean_ci", "covered": row["clean_ci_low"] <= conditional
                          <= row["clean_ci_high"]})
        if row["variant"] != "mnli":
            continue
        true = truth[row["perturbation"]]
        found.append({"kind": "delta", "condition": row["perturbation"],
                      "reject": row["p_method"] < 0.05, "reject_example": row["p_value"] < 0.05,
                      "covered": row["perturbed_ci_low"] <= true <= row["perturbed_ci_high"]})
    return found


def cross_language_correlation() -> float:
    """Correlation of one model's correctness on the same example in two languages."""
    collected, _, _ = simulate(1, 0.4, 0.0, np.random.default_rng(99))
    first = collected.outcomes[("sim", "none", "l00", CLEAN, 1)].clean_correct
    second = collected.outcomes[("sim", "none", "l01", CLEAN, 1)].clean_correct
    return float(np.corrcoef(first, second)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer simulations (< 3 minutes)")
    parser.add_argument("--null-sims", type=int, help="simulations per no-effect setting")
    parser.add_argument("--effect-sims", type=int, help="simulations per effect setting")
    parser.add_argument("--robustness-sims", type=int, help="simulations per robustness-test setting")
    parser.add_argument("--only", choices=["accuracy", "robustness"], help="run one part")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    figures: dict = {}
    if args.only != "accuracy":
        figures |= robustness_part(args.robustness_sims or (100 if args.quick else 400), args.jobs)
        figures |= power_part()
    if args.only != "robustness":
        figures |= accuracy_part(args)
    print(json.dumps(figures))


def robustness_part(sims: int, jobs: int) -> dict:
    """The robustness test's level in the confound, under the interaction null, and Holm's
    family-wise error (rejection rates with their Monte Carlo standard errors). Each setting's
    line is printed when it is done."""
    settings = [("confound", 3), ("interaction", 3), ("family", 3),
                ("interaction, stable seeds", 3), ("interaction, stable seeds", 10)]
    started = time.perf_counter()
    print(f"robustness test (Δ flip, primary, Holm): {sims} simulations per setting, {jobs} processes")
    print("case                        seeds  runs  primary rows  reject Δ flip (± MC SE)  "
          "reject Δ perturbed  mean Δ flip  mean Δ perturbed  seconds", flush=True)
    rates: dict[str, float] = {}
    with ProcessPoolExecutor(jobs) as pool:
        for case, k in settings:
            begun = time.perf_counter()
            results = list(pool.map(robustness_sims.one_run, [(case, k, i) for i in range(sims)], chunksize=8))
            for found in robustness_sims.summarise(results):
                print(f"{found['case']:<26}  {found['seeds']:>5}  {found['runs']:>4}  {found['primary_rows']:>12}  "
                      f"{found['reject_flip']:>14.3f} ± {found['mc_se']:.3f}  {found['reject_accuracy']:>18.3f}  "
                      f"{found['flip_delta']:>+11.2f}  {found['perturbed_delta']:>+16.2f}  "
                      f"{time.perf_counter() - begun:>7.0f}", flush=True)
                name = found["case"].split(",")[0]
                rates[name] = max(rates.get(name, 0.0), found["reject_flip"])
    seconds = time.perf_counter() - started
    print()
    return {"robustness_false_positive_rate_confound": round(rates["confound"], 4),
            "interaction_false_positive_rate": round(rates["interaction"], 4),
            "family_wise_error": round(rates["family"], 4), "robustness_sims": sims,
            "robustness_seconds": round(seconds, 1)}


def power_part(seed_sd: float = 0.5, alpha: float = 0.05, checks: int = 20000) -> dict:
    """runtime/report/power.py's minimum detectable effects (what `xexp plan` prints), each checked by
    a Monte Carlo t-test over normal seed differences at that effect."""
    rng = np.random.default_rng(29)
    sd = diff_sd(seed_sd)
    print(f"minimum detectable Δ flip at 80% power (points; per-model seed SD {seed_sd}, α {alpha}, "
          f"Holm's first step), and the simulated power of the t-test at that effect")
    print("family  " + "  ".join(f"{k:>2} seeds (sim)" for k in (2, 3, 5, 10)) + "  seeds for 1 point")
    worst = 0.0
    for family in (1, 3, 27):
        cells = []
        for k in (2, 3, 5, 10):
            mde = minimum_detectable_effect(k, family, alpha, sd)
            draws = rng.normal(mde, sd, size=(checks, k))
            t = draws.mean(axis=1) / (draws.std(axis=1, ddof=1) / math.sqrt(k))
            simulated = float(np.mean(np.abs(t) > critical_t(k, family, alpha)))
            worst = max(worst, abs(simulated - 0.8))
            cells.append(f"{mde:>6.1f} ({simulated:.2f})")
        needed = seeds_needed(1.0, family, alpha, sd)
        print(f"{family:>6}  " + "  ".join(cells) + f"  {needed if needed else '>200':>17}")
    print()
    return {"power_check_max_error": round(worst, 4)}


def accuracy_part(args) -> dict:
    """The accuracy simulation (Δ perturbed and clean accuracy intervals), as before."""
    null_sims = args.null_sims or (100 if args.quick else 400)
    effect_sims = args.effect_sims or (15 if args.quick else 40)
    # A t-test is scale-free, so the seed SD cannot move its false-positive rate: no-effect runs
    # draw it from 0.3–0.5 points per run (None); power depends on it, so it is a setting there.
    settings = [(k, None, 0.0) for k in (3, 5)] + [
        (k, sd, effect) for k in (3, 5) for sd in (0.3, 0.5) for effect in (1.0, 2.0)]
    jobs = [(k, sd, effect, i) for k, sd, effect in settings
            for i in range(null_sims if effect == 0.0 else effect_sims)]
    started = time.perf_counter()
    results = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for done, found in enumerate(pool.map(one_run, jobs, chunksize=4), 1):
            results.append(found)
            if done % 100 == 0:
                print(f"{done}/{len(jobs)} simulations, {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    by_setting: dict[tuple, list[dict]] = {}
    for job, found in zip(jobs, results):
        by_setting.setdefault(job[:3], []).extend(found)

    print(f"cross-language correlation of correctness: {cross_language_correlation():.3f}")
    print(f"{null_sims} simulations per no-effect setting, {effect_sims} per effect setting; "
          f"{seconds:.0f} s on {args.jobs} processes")
    print("seeds  seed SD  effect  condition  sims  reject (method)  reject (per-example)"
          "  CI coverage  clean-CI coverage")
    worst_fpr, worst_coverage, worst_clean, power = 0.0, 1.0, 1.0, {}
    for (k, sd, effect), found in sorted(by_setting.items(), key=lambda item: (
            item[0][0], item[0][1] or 0.0, item[0][2])):
        clean_ci = [f["covered"] for f in found if f["kind"] == "clean_ci"]
        clean_coverage = float(np.mean(clean_ci))
        worst_clean = min(worst_clean, clean_coverage)
        for condition in (CLEAN, CONDITION):
            chosen = [f for f in found if f["kind"] == "delta" and f["condition"] == condition]
            reject = float(np.mean([f["reject"] for f in chosen]))
            reject_example = float(np.mean([f["reject_example"] for f in chosen]))
            coverage = float(np.mean([f["covered"] for f in chosen]))
            worst_coverage = min(worst_coverage, coverage)
            sd_text = "0.3–0.5" if sd is None else f"{sd:.1f}"
            if effect == 0.0:
                worst_fpr = max(worst_fpr, reject)
            else:
                power[f"{k} seeds, SD {sd_text}, +{effect:g}, {condition}"] = round(reject, 3)
            print(f"{k:>5}  {sd_text:>7}  {effect:>+6.1f}  {condition:<9}  {len(chosen):>4}  "
                  f"{reject:>15.3f}  {reject_example:>20.3f}  {coverage:>11.3f}  {clean_coverage:>17.3f}")
    return {"false_positive_rate": round(worst_fpr, 4), "ci_coverage": round(worst_coverage, 4),
            "clean_ci_coverage": round(worst_clean, 4), "power": power, "null_sims": null_sims,
            "effect_sims": effect_sims, "seconds": round(seconds, 1)}


if __name__ == "__main__":
    main()
