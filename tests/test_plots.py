"""The clean-vs-perturbed scatter names each point's language and fits its axes to the data."""

from __future__ import annotations

import re

from xexp.runtime.report.plots import scatter
from xexp.runtime.report.rows import ALL_SEEDS, EXPLORATORY
from xexp.runtime.report.views import RowIndex

POINTS = {  # (variant, language): (clean, perturbed)
    ("none", "de"): (71.0, 62.5), ("none", "sw"): (64.0, 55.0),
    ("mnli", "de"): (74.5, 70.0), ("mnli", "sw"): (66.0, 61.0),
}


def _rows() -> list[dict]:
    return [{"model": "xlmr", "variant": variant, "language": language, "perturbation": "typo",
             "kind": "perturbation", "seed": ALL_SEEDS, "family": EXPLORATORY, "clean_acc": clean, "perturbed_acc": perturbed}
            for (variant, language), (clean, perturbed) in POINTS.items()]


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)]


def test_every_point_carries_its_language():
    texts = _texts(scatter(RowIndex(_rows(), "none")))
    assert texts.count("de") == 2 and texts.count("sw") == 2, texts


def test_axes_fit_the_data_not_zero_to_a_hundred():
    texts = _texts(scatter(RowIndex(_rows(), "none")))
    ticks = sorted({float(t) for t in texts if re.fullmatch(r"\d+(\.\d+)?", t)})
    assert ticks, texts
    # data span 55..74.5: the axes run 50..80, not up to 100
    assert 50 <= ticks[0] and ticks[-1] <= 80, ticks
