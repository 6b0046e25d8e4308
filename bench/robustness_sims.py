"""Simulations of the robustness test (Δ flip) for bench/stats_calibration.py.

Each run is a smaller experiment than the accuracy simulation beside it (1,000 parallel ids ×
3 languages: the questions here are about the test's level, which the size does not change),
handed to the report's own `compute_rows`. A model's clean correctness follows the latent
model of stats_calibration.py; the condition then breaks a right answer with a per-example
*hazard* and mends a wrong one with probability 5%, the same for every model:

  hazard(model, seed, i) = sigmoid(η + κ·d(i) + s·γ(i) + v(model, seed)),
      d(i): the example's difficulty (shared by languages), γ(i) ~ N(0, 1) per id,
      s = +1 for the variant, −1 for the baseline (the method × example interaction),
      v ~ N(0, τ²): how much one training's robustness differs from another's.

* **confound**: the variant is 10 points more accurate clean, with exactly the baseline's
  hazards (κ ≠ 0, γ off): Δ perturbed is large and real, Δ flip is 0 in the population.
* **interaction**: equal accuracy; γ on, so on one test set the variant is more robust on some
  examples and less on others, 0 on average over the population of examples: the null the
  method-level test must hold. "stable" seeds (τ small) are the hard case for a t over seeds.
* **family**: two variants × three conditions, every null true (equal accuracy, γ off):
  `primary=all` makes six primary rows; the family-wise error is P(any p_holm < 0.05).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from scipy.special import expit

from xexp.runtime.report.model import CLEAN, ReportSettings
from xexp.runtime.report.outcomes import Collected, Outcome
from xexp.runtime.report.rows import ALL_SEEDS, MACRO, compute_rows

N_IDS, N_LANGUAGES = 1000, 3
A, LAMBDA, RHO = 1.2, 1.5, 0.55
ETA, KAPPA = -0.8, 0.4     # hazard ≈ 0.3 on average, higher on hard examples
MEND = 0.05
BOOTSTRAP = 100


def offset_for_gap(gap: float) -> float:
    """Latent shift that raises clean accuracy by `gap` points (seed effects ignored)."""
    from scipy.stats import norm

    sigma = math.hypot(LAMBDA, 1.0)
    base = norm.cdf(A / sigma)
    return sigma * norm.ppf(base + gap / 100.0) - A


def simulate(case: str, n_seeds: int, rng: np.random.Generator, interaction: float = 0.0,
             seed_tau: float = 0.1, gap: float = 0.0,
             variants: tuple[str, ...] = ("mnli",), conditions: tuple[str, ...] = ("noise",)) -> Collected:
    g = rng.standard_normal(N_IDS)
    z = math.sqrt(RHO) * g + math.sqrt(1.0 - RHO) * rng.standard_normal((N_LANGUAGES, N_IDS))
    ids = np.array([f"{i:05d}" for i in range(N_IDS)])
    gamma = {c: rng.standard_normal(N_IDS) for c in conditions}
    offset = offset_for_gap(gap) if gap else 0.0
    outcomes: dict = {}
    for variant in ("none", *variants):
        sign = -1.0 if variant == "none" else 1.0
        shift = 0.0 if variant == "none" else offset
        for seed in range(1, n_seeds + 1):
            latent = A + LAMBDA * z + shift + 0.03 * rng.standard_normal() + rng.standard_normal(z.shape)
            clean = latent > 0
            for index in range(N_LANGUAGES):
                outcomes[("sim", variant, f"l{index}", CLEAN, seed)] = Outcome(
                    ids, clean[index], clean[index], np.ones(N_IDS, bool), np.zeros(N_IDS, bool))
            for condition in conditions:
                hazard = expit(ETA + KAPPA * -g + sign * interaction * gamma[condition]
                               + seed_tau * rng.standard_normal())
                broken = rng.random(z.shape) < hazard
                mended = rng.random(z.shape) < MEND
                perturbed = np.where(clean, ~broken, mended)
                for index in range(N_LANGUAGES):
                    c, p = clean[index], perturbed[index]
                    outcomes[("sim", variant, f"l{index}", condition, seed)] = Outcome(
                        ids, c, p, c == p, np.ones(N_IDS, bool))
    kinds = {CLEAN: CLEAN, **{c: "perturbation" for c in conditions}}
    return Collected(outcomes, {c: ("" if c == CLEAN else f"{c}()") for c in kinds}, kinds)


#: case -> (keyword arguments of `simulate`, ReportSettings overrides)
CASES = {
    "confound": ({"gap": 10.0, "seed_tau": 0.05}, {}),
    # γ's scale 0.2 (logit) makes one test set's true Δ flip vary with an SD of a few tenths of
    # a point (bench/README.md gives the measured figure), the size of the audit's realistic
    # interaction (0.24 points); seeds: per-model SD of the flip rate ≈ 1 point (τ 0.05)
    # or ≈ 0.1 point ("stable", τ 0.005)
    "interaction": ({"interaction": 0.2, "seed_tau": 0.05}, {}),
    "interaction, stable seeds": ({"interaction": 0.2, "seed_tau": 0.005}, {}),
    "family": ({"seed_tau": 0.05, "variants": ("mnli", "squad"), "conditions": ("p1", "p2", "p3")},
               {"primary": "all"}),
}


def one_run(job: tuple[str, int, int]) -> dict:
    """One simulated report: did the robustness test reject, and what did Δ perturbed do."""
    case, n_seeds, index = job
    kwargs, overrides = CASES[case]
    rng = np.random.default_rng([zlib.crc32(case.encode()), n_seeds, index])
    collected = simulate(case, n_seeds, rng, **kwargs)
    rows, _ = compute_rows(collected, ReportSettings(bootstrap=BOOTSTRAP, seed=index, **overrides))
    primary = [r for r in rows if r["family"] == "primary"]
    macro = [r for r in rows if r["language"] == MACRO and r["seed"] == ALL_SEEDS
             and r["variant"] != "none" and r["perturbation"] != CLEAN]
    return {"case": case, "seeds": n_seeds,
            "reject_flip": any(r["p_holm"] < 0.05 for r in primary),
            "reject_accuracy": any(r["p_method"] < 0.05 for r in macro),
            "flip_delta": float(np.mean([r["flip_rate_delta"] for r in macro])),
            "perturbed_delta": float(np.mean([r["perturbed_acc_delta"] for r in macro])),
            "primary_rows": len(primary)}


def summarise(results: list[dict]) -> list[dict]:
    """Per (case, seeds): rejection rates with their Monte Carlo standard errors."""
    out = []
    for key in sorted({(r["case"], r["seeds"]) for r in results}):
        chosen = [r for r in results if (r["case"], r["seeds"]) == key]
        rate = float(np.mean([r["reject_flip"] for r in chosen]))
        out.append({"case": key[0], "seeds": key[1], "runs": len(chosen), "reject_flip": rate,
                    "mc_se": math.sqrt(rate * (1 - rate) / len(chosen)),
                    "reject_accuracy": float(np.mean([r["reject_accuracy"] for r in chosen])),
                    "flip_delta": float(np.mean([r["flip_delta"] for r in chosen])),
                    "perturbed_delta": float(np.mean([r["perturbed_delta"] for r in chosen])),
                    "primary_rows": chosen[0]["primary_rows"]})
    return out
