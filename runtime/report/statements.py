"""What the report says in words: the test line, the verdicts, the READ FIRST lines about
seeds, and the legends of the marks a table shows.

The only sentence that calls a variant "more robust" is a verdict of a primary row whose
robustness test (Δ flip, Holm over the declared family) rejects; everything else is a number.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from xexp.runtime.report.cells import (
    CLIPPED_FOOTER, CLIPPED_MARK, EXAMPLES_FOOTER, EXAMPLES_MARK, Table, flip_ci, mde_text, p_text,
    significant,
)
from xexp.runtime.report.rows import PRIMARY

if TYPE_CHECKING:
    from xexp.runtime.report.views import RowIndex


def n_tests(index: "RowIndex") -> int:
    """The size of Holm's family: the primary rows, every one of which the summary shows."""
    return sum(1 for r in index.pooled if r["family"] == PRIMARY)


def footers(tables: list["Table"]) -> list[str]:
    """The mark legends the given tables need, and only those."""
    texts = [cell for table in tables for row in table.rows for cell in row]
    return ([EXAMPLES_FOOTER] if any(EXAMPLES_MARK in t for t in texts) else []) + (
        [CLIPPED_FOOTER] if any(CLIPPED_MARK in t for t in texts) else [])


def _paired_count(row: dict) -> int:
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
    fewest = min(_paired_count(r) for r in primary)
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


def test_line(index: "RowIndex", ci: float, study: bool = False) -> str:
    """What the starred p-values are, said once at the top of every format."""
    where = " of every target" if study else ""
    n = n_tests(index)
    return (f"robustness test: Δ flip, t over paired seeds + the examples' variance, Holm over "
            f"{n} primary row{'' if n == 1 else 's'}{where}")


def verdicts(index: "RowIndex") -> list[str]:
    """One sentence per primary row: the only place the report says "more robust"."""
    lines = []
    for r in index.pooled:
        if r["family"] != PRIMARY:
            continue
        where = f"{r['variant']} vs {index.baseline}, {r['perturbation']} ({r['language']})"
        if len(index.models()) > 1:
            where = f"{r['model']}/{where}"
        if significant(r, index.alpha):
            word = "more robust" if r["flip_rate_delta"] < 0 else "less robust"
            lines.append(f"{where}: {word}: Δ flip {flip_ci(r, index.alpha)}, p (Holm) {p_text(r['p_holm'])}")
        elif math.isnan(r["flip_p_method"]):
            lines.append(f"{where}: not tested ({_paired_count(r)} paired seed(s); the test needs 2)")
        else:
            mde = mde_text(r)
            lines.append(f"{where}: no robustness difference found (Δ flip {flip_ci(r, index.alpha)}, "
                         f"p (Holm) {p_text(r['p_holm'])}; this test finds |Δ flip| ≥ {mde} points "
                         f"with 80% power)")
    return lines


