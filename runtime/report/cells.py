"""One table cell as text: numbers, intervals with their marks, p-values, the star.

Every format (terminal, Markdown, HTML, LaTeX) prints cells through these functions, so a mark
means the same thing everywhere: † an interval over examples (one paired seed), ‡ an interval
clipped to its figure's range, * a primary robustness test that rejects at α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xexp.runtime.report.rows import BY_EXAMPLES, PRIMARY

DASH = "–"
#: Marks: an interval over examples (conditional on one trained model), one clipped to the
#: metric's range (too few seeds to bound it), a primary robustness test that rejects.
EXAMPLES_MARK, CLIPPED_MARK, STAR = "†", "‡", "*"
EXAMPLES_FOOTER = "† interval over examples (one paired seed): about these trained models, not the method"
CLIPPED_FOOTER = "‡ interval clipped to the metric's range: too few seeds to bound it"


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    numeric: tuple[bool, ...]  # right-align these columns
    note: str = ""
    signs: list[tuple[float, ...]] = field(default_factory=list)  # per cell: sign for colouring


def pct(x: float) -> str:
    return DASH if x is None or math.isnan(x) else f"{x:.1f}"


def signed(x: float) -> str:
    """+1.2 / -0.3 / +0.0 (never "-0.0": a rounded-away sign would suggest a direction)."""
    if x is None or math.isnan(x):
        return DASH
    return f"{round(x, 1) + 0.0:+.1f}"


def with_ci(x: float, low: float, high: float, sign: bool = True, clipped: bool = False) -> str:
    value = signed(x) if sign else pct(x)
    if math.isnan(low):
        return value
    text = value + (f" [{signed(low)}, {signed(high)}]" if sign else f" [{low:.1f}, {high:.1f}]")
    return text + CLIPPED_MARK if clipped else text


def _clipped(row: dict, interval: str) -> bool:
    return interval in str(row.get("clipped") or "").split()


def p_text(p: float) -> str:
    if p is None or math.isnan(p):
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def significant(row: dict, alpha: float = 0.05) -> bool:
    """Only primary rows can be significant: Holm runs over their robustness test (Δ flip)."""
    return row["family"] == PRIMARY and not math.isnan(row["p_holm"]) and row["p_holm"] < alpha


def p_shown(row: dict) -> str:
    """The robustness p (Δ flip): Holm-adjusted on primary rows, unadjusted on exploratory ones."""
    return p_text(row["p_holm"] if row["family"] == PRIMARY else row["flip_p_method"])


def p_accuracy(row: dict) -> str:
    """The p of Δ perturbed (accuracy under perturbation): always unadjusted, never starred."""
    return p_text(row["p_method"])


def primary_ci(row: dict, value: str = "perturbed_acc_delta", low: str = "perturbed_ci_low",
               high: str = "perturbed_ci_high") -> str:
    """A delta with its interval; † marks a per-example interval (one seed), ‡ a clipped one."""
    interval = low.rsplit("_low", 1)[0]
    text = with_ci(row[value], row[low], row[high], clipped=_clipped(row, interval))
    return text + EXAMPLES_MARK if row["inference"] == BY_EXAMPLES and not math.isnan(row[low]) else text


def flip_ci(row: dict, alpha: float = 0.05) -> str:
    """Δ flip with its interval, starred where the primary robustness test rejects."""
    text = primary_ci(row, "flip_rate_delta", "flip_ci_low", "flip_ci_high")
    return text + STAR if significant(row, alpha) else text


def mde_text(row: dict) -> str:
    value = row.get("mde_80", math.nan)
    return DASH if not isinstance(value, float) or math.isnan(value) else (
        "∞" if math.isinf(value) else f"{value:.1f}")


