"""A report row while it is being computed: its values, and the resampled draws and per-seed
values that its intervals, the seed-"all" rows and the macro rows are built from.

Its own module because two steps fill it in: rows.py (own-cell values, bootstrap draws,
deltas against the baseline) and method_level.py (the tests over seeds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ComputedRow:
    """One row plus what a seed-"all" or macro row is built from."""

    row: dict
    draws: np.ndarray  # (B, 2): clean accuracy, drop — per-example bootstrap
    delta_draws: np.ndarray | None = None  # (B, 3): perturbed delta, delta_vs_baseline, flip delta
    f1_draws: np.ndarray | None = None  # (B, 2): clean F1, F1 drop — extractive QA only
    f1_delta_draws: np.ndarray | None = None  # (B, 1): perturbed F1 delta — extractive QA only
    per_seed: dict[int, dict[str, float]] = field(default_factory=dict)  # label -> paired values
    differences: list[np.ndarray] = field(default_factory=list)  # per-example primary deltas
    #: seed "all" rows of a variant: per-seed perturbed accuracy of the variant and of the
    #: baseline, by label, for Welch's test when too few labels pair
    unpaired: tuple[dict[int, float], dict[int, float]] | None = None
