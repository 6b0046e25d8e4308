"""The READ FIRST lines about the models themselves: at chance or one class on clean data, and
one class for every example under a condition (a collapse).

Such a model's deltas measure noise or the collapse, not robustness; the report says so before
any number, in every format. A collapse is checked per condition because a perturbation can
push both models onto one label (negation stress tests do: every perturbed pair becomes
"contradiction"), and then their perturbed accuracies are that label's share and equal: a delta
of +0.0 there is no finding.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import binomtest

if TYPE_CHECKING:
    from xexp.runtime.report.model import ReportCell
    from xexp.runtime.report.predictions import PredictionReader, Predictions


def chance_caveats(clean_cells: dict[tuple[str, str, str, int], Predictions],
                    reader: PredictionReader) -> list[str]:
    """One line per (model, variant) whose clean predictions are one class or within noise of
    the best constant guess (the majority gold class; one-sided exact binomial test, 5%).
    Extractive QA (predictions with F1): one answer everywhere, or no exact match at all."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    total: dict[tuple[str, str], int] = defaultdict(int)
    qa: set[tuple[str, str]] = set()
    for (model, variant, language, seed), p in sorted(clean_cells.items()):
        total[(model, variant)] += 1
        classes = np.unique(p.predicted)
        if p.f1 is not None:
            qa.add((model, variant))
        if classes.size == 1:
            found[(model, variant)].append(
                f"{language} seed {seed}: predicts only {reader.label_name(int(classes[0]))!r}")
            continue
        if p.f1 is not None:  # QA: no majority-answer test (it would mean nothing), a floor of EM 0
            if not p.correct.any():
                found[(model, variant)].append(
                    f"{language} seed {seed}: no exact match (F1 {100.0 * float(p.f1.mean()):.1f}%)")
            continue
        assert p.gold is not None, "clean predictions are read with their gold labels"
        majority = float(np.bincount(p.gold).max() / p.gold.size)
        correct = int(p.correct.sum())
        if binomtest(correct, p.correct.size, majority, alternative="greater").pvalue >= 0.05:
            found[(model, variant)].append(
                f"{language} seed {seed}: accuracy {100.0 * correct / p.correct.size:.1f}% vs "
                f"majority class {100.0 * majority:.1f}%")
    lines = []
    for (model, variant), cases in sorted(found.items()):
        if (model, variant) in qa:
            lines.append(f"{model}/{variant} gives one answer to every question or no exact match in "
                         f"{len(cases)} of {total[(model, variant)]} clean cell(s) ({'; '.join(cases[:3])}"
                         f"{'; …' if len(cases) > 3 else ''}): its exact-match deltas measure nothing")
            continue
        lines.append(f"{model}/{variant} is at chance or predicts one class in {len(cases)} of "
                     f"{total[(model, variant)]} clean cell(s) ({'; '.join(cases[:3])}"
                     f"{'; …' if len(cases) > 3 else ''}): its deltas measure noise, not robustness")
    return lines


def note_collapse(collapsed: dict[tuple[str, str, str], list[str]], cell: ReportCell,
                   table: Predictions) -> None:
    """A condition under which a model gives one answer to every example (QA: per-question
    answers, never one class, so only classification is checked)."""
    if table.f1 is None and table.predicted.size > 1 and np.unique(table.predicted).size == 1:
        collapsed[(cell.model, cell.variant, cell.condition)].append(
            f"{cell.language} seed {cell.seed}:{int(table.predicted[0])}")


def collapse_caveats(collapsed: dict[tuple[str, str, str], list[str]],
                      seen: dict[tuple[str, str, str], int], reader: PredictionReader) -> list[str]:
    """One line per (model, variant, condition) that predicts one class for every perturbed
    example somewhere: there its accuracy is that class's share, the same for any model that
    collapses, so a delta of such rows measures the collapse, not a difference in robustness."""
    lines = []
    for (model, variant, condition), cases in sorted(collapsed.items()):
        labels = sorted({reader.label_name(int(c.rsplit(":", 1)[1])) for c in cases})
        where = "; ".join(c.rsplit(":", 1)[0] for c in cases[:3]) + ("; …" if len(cases) > 3 else "")
        lines.append(f"{model}/{variant} predicts one class ({', '.join(repr(x) for x in labels)}) for "
                     f"every example under `{condition}` in {len(cases)} of "
                     f"{seen[(model, variant, condition)]} cell(s) ({where}): rows of `{condition}` "
                     f"measure that collapse, not a difference in robustness")
    return lines
