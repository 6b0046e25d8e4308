"""What the report says in words: the test line, the verdicts, and the legends of the marks a
table shows (the READ FIRST lines about seeds are seed_caveats.py's).

The only sentence that calls a variant "more robust" is a verdict of a primary row whose
robustness test (Δ flip, Holm over the declared family) rejects; everything else is a number.
"""

from __future__ import annotations

import math

from xexp.runtime.report.cells import (
    CLIPPED_FOOTER, CLIPPED_MARK, EXAMPLES_FOOTER, EXAMPLES_MARK, Table, flip_ci, mde_text, p_text,
    significant,
)
from xexp.runtime.report.row_index import RowIndex
from xexp.runtime.report.rows import PRIMARY
from xexp.runtime.report.seed_caveats import paired_count


def n_tests(index: RowIndex) -> int:
    """The size of Holm's family: the primary rows, every one of which the summary shows."""
    return sum(1 for r in index.pooled if r["family"] == PRIMARY)


def footers(tables: list[Table]) -> list[str]:
    """The mark legends the given tables need, and only those."""
    texts = [cell for table in tables for row in table.rows for cell in row]
    return ([EXAMPLES_FOOTER] if any(EXAMPLES_MARK in t for t in texts) else []) + (
        [CLIPPED_FOOTER] if any(CLIPPED_MARK in t for t in texts) else [])


def test_line(index: RowIndex, ci: float, study: bool = False) -> str:
    """What the starred p-values are, said once at the top of every format."""
    where = " of every target" if study else ""
    n = n_tests(index)
    return (f"robustness test: Δ flip, t over paired seeds + the examples' variance, Holm over "
            f"{n} primary row{'' if n == 1 else 's'}{where}")


def verdicts(index: RowIndex) -> list[str]:
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
            lines.append(f"{where}: not tested ({paired_count(r)} paired seed(s); the test needs 2)")
        else:
            mde = mde_text(r)
            lines.append(f"{where}: no robustness difference found (Δ flip {flip_ci(r, index.alpha)}, "
                         f"p (Holm) {p_text(r['p_holm'])}; this test finds |Δ flip| ≥ {mde} points "
                         f"with 80% power)")
    return lines


