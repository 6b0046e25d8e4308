"""A report of several targets: one section per target, each with its own rows and statistics.

A spec may evaluate several target tasks (`target = [xnli trained_on mnli, udpos trained_on ewt]`);
the report keeps them apart. Each target is its own research question (does intermediate
training make *this* task's transfer more robust?), measured on its own examples with its own
metric, so everything statistical is computed per target: the bootstrap, the seed-level tests,
and Holm's family. Holm over all targets at once would make the answer for XNLI depend on how
many other tasks the spec happened to list. A study that asks one question of all its targets
declares `report { family=study }`: then one Holm family spans the primary rows of every target
(seven targets with a family each would let the study-wide error reach ~30%).

The metric a target's rows measure is the share of correct per-example decisions its task type
writes (`correct` in the predictions, runtime/data/formats.py): accuracy for sentence-pair and
multiple-choice tasks, exact match for extractive QA, token accuracy (UPOS accuracy for POS) for
tagging, where each word is one example; retrieval accuracy for retrieval, one example a
non-English sentence (BUCC: whether what it mined agrees with the gold; its F1 is in the
evaluate manifest and `runtime/learning/tasks/retrieval.py` computes it from the predictions). Its name
is the task family's `metric` (compiler/registry/families.py); a one-target report, whose cells
do not name their target, knows an extractive QA target by the token F1 its predictions carry
(`rows.has_f1`) and calls its metric exact match too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xexp.compiler.graph.report_contract import ReportTarget
from xexp.compiler.registry.base import task_family
from xexp.compiler.registry.families import TASK_FAMILIES
from xexp.runtime.report.examples import Example, select_examples
from xexp.runtime.report.model import ReportCell, ReportSettings
from xexp.runtime.report.outcomes import collect_outcomes
from xexp.runtime.report.rows import compute_rows, condition_order, has_f1
from xexp.runtime.report.verdicts import correct_family
from xexp.runtime.report.views import RowIndex

__all__ = ["ReportTarget", "TargetSection", "metric_of", "sections"]

QA_METRIC = TASK_FAMILIES["qa"].metric
#: The metric of a one-target report that is no QA one: its cells do not name their task type.
DEFAULT_METRIC = TASK_FAMILIES["pair"].metric


def metric_of(task_type: str) -> str:
    """What a per-example `correct` flag of `task_type` adds up to (its family's metric)."""
    return TASK_FAMILIES[task_family(task_type)].metric


@dataclass
class TargetSection:
    """One target's part of the report (`target` None: the one target of a one-target report)."""

    target: ReportTarget | None
    rows: list[dict]
    index: RowIndex
    conditions: list[str]
    examples: dict[str, list[Example]]
    warnings: list[str]

    @property
    def name(self) -> str:
        return self.target.task if self.target else ""

    @property
    def metric(self) -> str:
        return self.index.metric

    @property
    def heading(self) -> str:
        """e.g. `udpos (token_classification, trained on ewt; token accuracy; en de zh)`."""
        t = self.target
        if t is None:
            return ""
        trained = f"trained on {t.trained_on}" if t.trained_on else "not trained"
        return (f"{t.task} ({t.task_type}, {trained}; {self.metric}; "
                f"{' '.join(t.languages)})")


def _section(target: ReportTarget | None, cells: list[ReportCell], settings: ReportSettings) -> TargetSection:
    collected = collect_outcomes(cells)
    rows, row_warnings = compute_rows(collected, settings)
    caveats = collected.caveats
    warnings = collected.warnings + row_warnings
    if target is not None:  # say which target a line is about
        caveats = [f"{target.task}: {c}" for c in caveats]
        warnings = [f"{target.task}: {w}" for w in warnings]
        for row in rows:
            row["target"] = target.task
    metric = (metric_of(target.task_type) if target is not None
              else QA_METRIC if has_f1(rows) else DEFAULT_METRIC)
    index = RowIndex(rows, settings.baseline, caveats, metric, settings.alpha)
    conditions = condition_order(collected.condition_kinds)
    examples = select_examples(cells, settings, conditions, collected.descriptions)
    return TargetSection(target, rows, index, conditions, examples, warnings)


def sections(cells: list[ReportCell], settings: ReportSettings,
             targets: Iterable[ReportTarget | dict] | None) -> list[TargetSection]:
    """One section per target, in the spec's order; a single section without a target when
    no cell names one (every one-target report)."""
    declared = [t if isinstance(t, ReportTarget) else ReportTarget.model_validate(t) for t in targets or ()]
    named = {c.target for c in cells}
    if named == {None} and not declared:
        return [_section(None, cells, settings)]
    by_name = {t.task: t for t in declared}
    unknown = sorted(str(n) for n in named if n not in by_name)
    if unknown:
        raise ValueError(f"report cells name target(s) {', '.join(unknown)} that the report does not "
                         f"declare (declared: {', '.join(by_name) or 'none'})")
    parts = [_section(t, [c for c in cells if c.target == t.task], settings)
             for t in declared if any(c.target == t.task for c in cells)]
    if settings.family == "study":  # one Holm family over every target's primary rows
        correct_family([r for part in parts for r in part.rows], settings.alpha)
    return parts
