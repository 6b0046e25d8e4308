"""The READ FIRST lines about seeds: too few seed labels pair with the baseline for the
method-level test to reject, or one seed lies far from the others (a failed run?).

Read from the rows alone, when the rows are indexed (row_index.py), so every format shows them
before any number.
"""

from __future__ import annotations

import math

from xexp.runtime.report.rows import PRIMARY


def paired_count(row: dict) -> int:
    k = row.get("n_paired")
    return int(k) if isinstance(k, int) else (0 if not isinstance(k, float) or math.isnan(k) else int(k))


def outlier_caveats(rows: list[dict]) -> list[str]:
    """One line per primary row with a seed far from the others (a failed run?)."""
    return [f"{r['model']}/{r['variant']} {r['perturbation']} ({r['language']}): seed "
            f"{r['outlier_seeds']} is an outlier among the per-seed differences (a failed "
            f"training?); the test counts it: see the per-seed rows of results.csv"
            for r in rows if r["family"] == PRIMARY and r.get("outlier_seeds")]


def seed_caveat(rows: list[dict]) -> str | None:
    """Say when there are too few *paired* seeds for the method-level test to reject."""
    primary = [r for r in rows if r["family"] == PRIMARY]
    if not primary:
        return None
    fewest = min(paired_count(r) for r in primary)
    seeds = max(r["n_seeds"] for r in primary)
    if fewest == 0 and seeds >= 1:
        return ("no seed label of a variant matches one of the baseline: nothing pairs, so Δ flip "
                "has no method-level test and Δ perturbed is compared by Welch's test over each "
                "side's own seeds; give the variant and the baseline the same seeds")
    if fewest < 2 and seeds >= 2:
        return (f"only {fewest} seed label pairs with the baseline (of {seeds} seeds): Δ flip has no "
                f"method-level test; Δ perturbed is compared by Welch's test over each side's seeds")
    if fewest < 2:
        return ("one seed per variant: the method-level test needs at least 2 seeds, so nothing "
                "here can be significant; intervals marked † and the per-example p are "
                "conditional on the one trained model, not on the method")
    partial = f" (of {seeds} seeds)" if seeds > fewest else ""
    if fewest == 2:
        return (f"2 paired seeds{partial}: the method-level t-test has 1 degree of freedom "
                f"(critical |t| = 12.7) and rarely rejects; 3–5 seeds are the minimum for a usable test")
    if partial:
        return (f"only {fewest} seed labels pair with the baseline{partial}: the tests use those; "
                f"unpaired seeds are left out")
    return None
