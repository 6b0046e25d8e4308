"""One seed's comparison of a variant with the baseline on the same examples.

Pairing is by example id (the ids are identical in practice); the flip rates are taken on the
examples *both* models got right clean, so a more accurate model is not charged for the harder
examples only it keeps: that is what makes Δ flip the robustness figure (docs/statistics.md).
Its bootstrap is a ratio (Σ w·gain / Σ w·both per replicate), so each pair hands the resampler
the two per-example columns and `with_flip` turns them into the flip delta afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xexp.errors import DataError
from xexp.runtime.report.model import CLEAN
from xexp.runtime.report.outcomes import Outcome

NAN = float("nan")


@dataclass(frozen=True)
class Pair:
    """One seed's per-example comparison on the examples both runs saw."""

    ids: np.ndarray
    primary: np.ndarray     # perturbed correctness, variant − baseline (clean: clean correctness)
    robustness: np.ndarray  # drop(baseline) − drop(variant) per example (clean: = primary)
    flip_rate_delta: float  # on the examples both got right clean; NaN for clean
    flip_gain: np.ndarray   # both right clean × (baseline perturbed − variant perturbed): 0/±1
    both: np.ndarray        # both right clean (0/1): the flip delta is Σ flip_gain / Σ both
    f1: np.ndarray | None = None  # perturbed F1 (clean: clean F1), variant − baseline; QA only


def pair_outcomes(variant: Outcome, baseline: Outcome, condition: str) -> Pair:
    """Pair by example id (identical ids in practice). Flip rates are taken on the examples
    both models got right clean, so a more accurate model is not charged for the harder
    examples only it keeps."""
    at_v: slice | np.ndarray
    at_b: slice | np.ndarray
    if variant.ids is baseline.ids or np.array_equal(variant.ids, baseline.ids):
        ids, at_v, at_b = variant.ids, slice(None), slice(None)
    else:
        ids, at_v, at_b = np.intersect1d(variant.ids, baseline.ids, assume_unique=True,
                                         return_indices=True)
        if ids.size == 0:
            raise DataError(f"condition {condition!r}", "variant and baseline share no example id")
    cv = variant.clean_correct[at_v].astype(np.int8)
    cb = baseline.clean_correct[at_b].astype(np.int8)
    f1 = None
    if variant.perturbed_f1 is not None and baseline.perturbed_f1 is not None:  # clean: clean F1
        f1 = variant.perturbed_f1[at_v] - baseline.perturbed_f1[at_b]
    if condition == CLEAN:
        zeros = np.zeros(ids.size, np.int8)
        return Pair(ids, cv - cb, cv - cb, NAN, zeros, zeros, f1)
    pv = variant.perturbed_correct[at_v].astype(np.int8)
    pb = baseline.perturbed_correct[at_b].astype(np.int8)
    both = (cv & cb).astype(bool)
    flip = 100.0 * float(pb[both].mean() - pv[both].mean()) if both.any() else NAN
    gain = np.where(both, pb - pv, 0).astype(np.int8)
    return Pair(ids, pv - pb, (cb - pb) - (cv - pv), flip, gain, both.astype(np.int8), f1)


def with_flip(draws: np.ndarray) -> np.ndarray:
    """(B, 4) resampled [primary, robustness, flip gain, both] -> (B, 3) with the flip delta
    in points (NaN in a replicate with no example both got right clean)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        flip = np.where(draws[:, 3] > 0, 100.0 * draws[:, 2] / draws[:, 3], np.nan)
    missing = np.isnan(flip)
    if missing.any() and not missing.all():  # a tiny set: such a replicate counts as the mean
        flip[missing] = float(np.nanmean(flip))
    return np.column_stack([draws[:, 0], draws[:, 1], flip])


def paired_values(own: dict, base: dict, pair: Pair, condition: str) -> dict[str, float]:
    clean = condition == CLEAN
    return {"perturbed_acc_delta": 100.0 * float(pair.primary.mean()),
            "delta_vs_baseline": (100.0 * float(pair.primary.mean()) if clean
                                  else base["drop"] - own["drop"]),
            "flip_rate_delta": pair.flip_rate_delta,
            "relative_drop_delta": NAN if clean else base["relative_drop"] - own["relative_drop"],
            "drop_changed_delta": base["drop_changed"] - own["drop_changed"],
            "success_rate_delta": (own.get("attack_success_rate", NAN)
                                   - base.get("attack_success_rate", NAN)),
            "perturbed_f1_delta": NAN if pair.f1 is None else 100.0 * float(pair.f1.mean())}
