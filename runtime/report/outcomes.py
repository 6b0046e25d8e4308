"""Per-example outcomes of every cell, paired with the clean run by example id.

The statistics only ever need, per example, four booleans: correct on the clean input, correct
under the condition, prediction kept, text changed. Reducing each predictions file to those
(and dropping the strings) keeps a paper-scale report (thousands of files) small in memory.
A perturbed cell is paired with the clean cell of the same model, variant, language and seed;
an attack cell carries its own clean predictions; the HELM worst case is derived per
(model, variant, language, seed) from the model-agnostic perturbations that *every* group has,
so a macro average never mixes worst cases over different sets. Clean cells are also checked
for a model at chance or predicting a single class, and every condition for a collapse onto
one class (runtime/report/caveats.py): such deltas measure noise or the collapse, and the report
says so before any number. Extractive QA has no chance level to test
against (each question has its own answer span, so the most frequent gold answer is no floor):
a QA model is flagged when it gives one answer everywhere or matches no answer exactly, and the
QA note says that no chance-level check was made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from xexp.errors import DataError
from xexp.runtime.report.caveats import chance_caveats, collapse_caveats, note_collapse
from xexp.runtime.report.model import CLEAN, WORST_CASE, ReportCell
from xexp.runtime.report.predictions import PredictionReader, Predictions, locate

#: (model, variant, language, condition, seed)
CellKey = tuple[str, str, str, str, int]

ATTACK_STATUSES = ("skipped", "succeeded", "failed")
#: What the accuracy columns mean where predictions carry F1 (extractive QA), said before any number.
QA_NOTE = ("extractive QA: a correct example is an exact match (SQuAD answer normalisation), so "
           "the accuracy, drop and flip-rate columns are exact-match figures (flip rate: exact "
           "matches that the condition made wrong); token F1 is in clean_f1, perturbed_f1, f1_drop "
           "(with intervals) and perturbed_f1_delta. On a perturbed context the gold answers are the perturbed spans. "
           "No chance-level check for QA (each question has its own answer, so no constant guess is a "
           "floor): a model is flagged only when it gives one answer to every question or no exact match.")


@dataclass(frozen=True)
class AttackStats:
    """TextAttack's summary of one attack run, in percent (queries: a count)."""

    success_rate: float
    accuracy_under_attack: float
    pct_words_perturbed: float
    avg_queries: float


@dataclass(frozen=True)
class Outcome:
    ids: np.ndarray                # sorted, unique example ids
    clean_correct: np.ndarray      # bool, aligned with ids
    perturbed_correct: np.ndarray  # bool; for attacks: the attack failed
    prediction_kept: np.ndarray    # bool: the condition did not change the prediction
    changed: np.ndarray | None     # bool: the input text was altered; None if unknown
    attack: AttackStats | None = None
    #: per-example F1 (in [0, 1]) clean and under the condition, for tasks scored by F1 as well
    #: as by correctness (extractive QA: `correct` is exact match); None otherwise
    clean_f1: np.ndarray | None = None
    perturbed_f1: np.ndarray | None = None

    @cached_property
    def rates(self) -> dict[str, float]:
        """Shares of the four flags (changed: NaN when unknown), computed once per outcome."""
        return {"clean": float(self.clean_correct.mean()),
                "perturbed": float(self.perturbed_correct.mean()),
                "kept": float(self.prediction_kept.mean()),
                "changed": float("nan") if self.changed is None else float(self.changed.mean())}


@dataclass
class Collected:
    outcomes: dict[CellKey, Outcome]
    descriptions: dict[str, str]  # condition -> description
    condition_kinds: dict[str, str]  # condition -> clean | perturbation | attack | worst_case
    warnings: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)  # shown first, in every report format
    #: the example each prediction id belongs to, where a prediction is not an example (tagging:
    #: id -> its sentence), for the bootstrap to resample examples; empty: every id is one
    units: dict[str, str] = field(default_factory=dict)


def _perturbed_outcome(clean: Predictions, table: Predictions, changed: np.ndarray | None,
                       cell: ReportCell) -> Outcome:
    where = f"{cell.label}: predictions vs its clean cell"
    at = locate(table.ids, clean.ids, where)
    scored = clean.f1 is not None and table.f1 is not None
    return Outcome(table.ids, clean.correct[at], table.correct,
                   clean.predicted[at] == table.predicted, changed,
                   clean_f1=clean.f1[at] if clean.f1 is not None and scored else None,
                   perturbed_f1=table.f1 if scored else None)


def _attack_outcome(table: Predictions, data: dict, cell: ReportCell) -> Outcome:
    status = data["status"].astype(str)
    unknown = sorted(set(status.tolist()) - set(ATTACK_STATUSES))
    if unknown:
        raise DataError(f"attack {cell.label}", f"{cell.predictions} has unknown status "
                        f"{unknown[0]!r} (expected one of {', '.join(ATTACK_STATUSES)})")
    skipped, succeeded, failed = (status == s for s in ATTACK_STATUSES)
    mismatch = np.flatnonzero(skipped == table.correct)
    if mismatch.size:
        raise DataError(f"attack {cell.label}", f"{cell.predictions} example id "
                        f"{table.ids[mismatch[0]]!r}: status must be 'skipped' exactly when the "
                        f"clean prediction is wrong")
    words_changed = data["words_changed"].astype(np.int64)
    words_total = data["words_total"].astype(np.int64)
    if (words_total[succeeded] <= 0).any():
        raise DataError(f"attack {cell.label}", f"{cell.predictions} has a successful attack "
                        f"with words_total <= 0")
    attacked = int(succeeded.sum() + failed.sum())
    stats = AttackStats(
        success_rate=100.0 * succeeded.sum() / attacked if attacked else float("nan"),
        accuracy_under_attack=100.0 * failed.mean(),
        pct_words_perturbed=(100.0 * float(np.mean(words_changed[succeeded] / words_total[succeeded]))
                             if succeeded.any() else float("nan")),
        avg_queries=float(data["queries"][~skipped].mean()) if attacked else float("nan"),
    )
    return Outcome(table.ids, table.correct, failed, ~succeeded, words_changed > 0, stats)


def _worst_case(clean: Predictions, perturbed: list[Outcome]) -> Outcome:
    """HELM: an example counts as correct only if correct clean and under every perturbation."""
    common = perturbed[0].ids
    for outcome in perturbed[1:]:
        if outcome.ids is not common:
            common = np.intersect1d(common, outcome.ids, assume_unique=True)
    clean_correct = clean.correct[locate(common, clean.ids, "worst case")]
    correct, kept = clean_correct.copy(), np.ones(common.size, dtype=bool)
    changed = None if any(o.changed is None for o in perturbed) else np.zeros(common.size, bool)
    for outcome in perturbed:
        at = locate(common, outcome.ids, "worst case")
        correct &= outcome.perturbed_correct[at]
        kept &= outcome.prediction_kept[at]
        if changed is not None and outcome.changed is not None:  # all known when changed is
            changed |= outcome.changed[at]
    return Outcome(common, clean_correct, correct, kept, changed)


def _check_cells(cells: list[ReportCell]) -> tuple[dict[str, str], dict[str, str]]:
    seen: set[CellKey] = set()
    descriptions: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for cell in cells:
        key = (cell.model, cell.variant, cell.language, cell.condition, cell.seed)
        if key in seen:
            raise ValueError(f"cell {cell.label} is given twice")
        seen.add(key)
        kind = CLEAN if cell.condition == CLEAN else (
            "attack" if cell.kind == "attack" else "perturbation")
        if kinds.setdefault(cell.condition, kind) != kind:
            raise ValueError(f"condition {cell.condition!r} is both a perturbation and an attack "
                             f"(cell {cell.label})")
        if descriptions.setdefault(cell.condition, cell.description) != cell.description:
            raise ValueError(f"condition {cell.condition!r} has two descriptions: "
                             f"{descriptions[cell.condition]!r} and {cell.description!r} "
                             f"(cell {cell.label})")
    return descriptions, kinds


def _worst_cases(outcomes: dict[CellKey, Outcome], clean: dict[tuple[str, str, str, int], Predictions],
                 perturbed: dict[tuple[str, str, str, int], dict[str, Outcome]],
                 descriptions: dict[str, str], kinds: dict[str, str], warnings: list[str]) -> None:
    """The HELM worst case over the perturbations every (model, variant, language, seed) has."""
    groups = {g: found for g, found in perturbed.items() if g in clean and found}
    if not groups:
        return
    common = sorted(set.intersection(*(set(found) for found in groups.values())))
    every = sorted(set.union(*(set(found) for found in groups.values())))
    if not common:
        warnings.append("no worst case: no perturbation is evaluated in every language, "
                        "variant and seed")
        return
    if common != every:
        left_out = [c for c in every if c not in common]
        warnings.append(f"worst case uses {', '.join(common)} (the perturbations every language, "
                        f"variant and seed has); left out: {', '.join(left_out)}")
    for (model, variant, language, seed), found in groups.items():
        outcomes[(model, variant, language, WORST_CASE, seed)] = _worst_case(
            clean[(model, variant, language, seed)], [found[c] for c in common])
    descriptions[WORST_CASE] = "worst case over " + ", ".join(common)
    kinds[WORST_CASE] = WORST_CASE


def collect_outcomes(cells: list[ReportCell]) -> Collected:
    """Read every cell's files and reduce them to paired per-example outcomes."""
    if not cells:
        raise ValueError("the report has no cells")
    descriptions, kinds = _check_cells(cells)
    reader = PredictionReader()
    outcomes: dict[CellKey, Outcome] = {}
    warnings: list[str] = []
    groups: dict[tuple[str, str, str, int], list[ReportCell]] = defaultdict(list)
    for cell in cells:
        groups[(cell.model, cell.variant, cell.language, cell.seed)].append(cell)
    cleans: dict[tuple[str, str, str, int], Predictions] = {}
    caveats: list[str] = []
    perturbed: dict[tuple[str, str, str, int], dict[str, Outcome]] = {}
    collapsed: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # one class predicted
    conditions_seen: dict[tuple[str, str, str], int] = defaultdict(int)
    for group_key, group in sorted(groups.items()):
        model, variant, language, seed = group_key
        clean_cell = next((c for c in group if c.condition == CLEAN), None)
        clean = None
        if clean_cell is not None:
            clean, _ = reader.predictions(clean_cell)
            cleans[group_key] = clean
            outcomes[(model, variant, language, CLEAN, seed)] = Outcome(
                clean.ids, clean.correct, clean.correct, np.ones(clean.ids.size, bool),
                np.zeros(clean.ids.size, bool), clean_f1=clean.f1, perturbed_f1=clean.f1)
            if clean.f1 is not None and not any(QA_NOTE in c for c in caveats):
                caveats.append(QA_NOTE)
        perturbed[group_key] = {}
        for cell in sorted(group, key=lambda c: c.condition):
            key = (model, variant, language, cell.condition, seed)
            if cell.condition != CLEAN:
                conditions_seen[(model, variant, cell.condition)] += 1
            if cell.kind == "attack":
                table, data = reader.predictions(cell)
                outcomes[key] = _attack_outcome(table, data, cell)
                note_collapse(collapsed, cell, table)
            elif cell.condition != CLEAN:
                if clean is None:
                    raise ValueError(f"cell {cell.label} has no clean cell "
                                     f"({model}/{variant}/{language}/{CLEAN}/seed{seed}) to pair with")
                table, _ = reader.predictions(cell)
                outcome = _perturbed_outcome(clean, table, reader.changed(cell, table.ids), cell)
                if outcome.ids.size < clean.ids.size:
                    warnings.append(f"{cell.label}: only {outcome.ids.size} of the "
                                    f"{clean.ids.size} clean examples; metrics use those")
                outcomes[key] = outcome
                perturbed[group_key][cell.condition] = outcome
                note_collapse(collapsed, cell, table)
    _worst_cases(outcomes, cleans, perturbed, descriptions, kinds, warnings)
    return Collected(outcomes, descriptions, kinds, warnings,
                     caveats + chance_caveats(cleans, reader) + collapse_caveats(collapsed, conditions_seen, reader),
                     reader.units)
