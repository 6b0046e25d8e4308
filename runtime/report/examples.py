"""A few examples per perturbation: original → perturbed text and what it did to predictions.

Examples are chosen deterministically from content (a hash of condition, language and id),
preferring inputs the perturbation really changed and that flipped some variant's prediction;
languages (and, for attacks, variants) take turns so several scripts show. Files are read
lazily, only for the languages that end up shown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xexp.compiler.registry.base import FAMILY_FIELDS, family_columns
from xexp.compiler.registry.families import TASK_FAMILIES, table_family
from xexp.runtime.data.formats import token_id
from xexp.runtime.report.model import CLEAN, ReportCell, ReportSettings
from xexp.runtime.report.predictions import read_columns
from xexp.runtime.report.rows import variant_order

#: The text fields of a pair example, the ones an attack rewrites.
TEXT_FIELDS = FAMILY_FIELDS["pair"]["both"]


def _dataset_view(path: Path) -> tuple[tuple[str, ...], str]:
    """The text columns of a dataset file (its family's two text fields: premise/hypothesis,
    question/context, context/endings) and the column its gold is read from."""
    import pyarrow.parquet as pq

    family = table_family(pq.read_schema(path).names)
    if family == "bitext":  # retrieval: the query is the text perturbed, its translation the gold
        return ("query",), "candidate"
    return family_columns(family, "both"), "answers" if family == "qa" else "label"


def _shown(value) -> str:
    """A cell as text: endings and answers (lists) joined with " | ", an answer by its text."""
    if isinstance(value, dict):
        return str(value.get("text", value))
    if isinstance(value, (list, tuple, np.ndarray)):
        return " | ".join(_shown(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class PredictionChange:
    variant: str
    before: str
    after: str
    before_correct: bool
    after_correct: bool


@dataclass(frozen=True)
class Example:
    condition: str
    description: str
    language: str
    example_id: str
    gold: str
    fields: tuple[tuple[str, str, str], ...]  # (field, original, perturbed)
    predictions: tuple[PredictionChange, ...]
    note: str = ""


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class _Indexed:
    """A file's columns plus a row index by example id."""

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self.ids = data["id"].astype(str)
        self.row = {example_id: k for k, example_id in enumerate(self.ids.tolist())}
        self.columns = data

    def get(self, example_id: str, column: str):
        return self.columns[column][self.row[example_id]]

    def aligned(self, ids: np.ndarray, column: str) -> np.ndarray:
        """Values of `column` for `ids`, None where an id is absent."""
        values = self.columns[column]
        return np.array([values[self.row[i]] if i in self.row else None for i in ids.tolist()],
                        dtype=object)


class _Files:
    """Reads each needed file once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Path, tuple[str, ...]], _Indexed] = {}

    def indexed(self, path: Path, columns: tuple[str, ...], what: str) -> _Indexed:
        key = (path, columns)
        if key not in self._cache:
            self._cache[key] = _Indexed(read_columns(path, columns, what))
        return self._cache[key]


def _round_robin(groups: list[Callable[[], list[Example]]], wanted: int) -> list[Example]:
    """The best candidate of each group in turn, then the second best, … (groups load lazily)."""
    loaded: dict[int, list[Example]] = {}
    picked: list[Example] = []
    for depth in range(wanted):
        progressed = False
        for i, load in enumerate(groups):
            if len(picked) == wanted:
                return picked
            if i not in loaded:
                loaded[i] = load()
            if depth < len(loaded[i]):
                picked.append(loaded[i][depth])
                progressed = True
        if not progressed:
            break
    return picked


def select_examples(cells: list[ReportCell], settings: ReportSettings,
                    conditions: list[str], descriptions: dict[str, str]) -> dict[str, list[Example]]:
    """Up to `settings.examples` examples per perturbation/attack (first model, lowest seed)."""
    if settings.examples == 0 or not cells:
        return {}
    files = _Files()
    model = min(c.model for c in cells)
    chosen: dict[str, list[Example]] = {}
    for condition in conditions:
        mine = [c for c in cells if c.model == model and c.condition == condition]
        if not mine or condition == CLEAN:
            continue
        seed = min(c.seed for c in mine)
        mine = [c for c in mine if c.seed == seed]
        clean = {(c.variant, c.language): c for c in cells if c.model == model
                 and c.condition == CLEAN and c.seed == seed}
        if mine[0].kind == "attack":  # one record per example (a tagged sentence too)
            groups = _attack_groups(mine, clean, files, settings, descriptions[condition])
        elif _tagged(mine):  # predictions are per word: an example is a sentence, shown by its changed words
            groups = _tagged_groups(mine, clean, files, settings, descriptions[condition])
        else:
            groups = _perturbation_groups(mine, clean, files, settings, descriptions[condition])
        examples = _round_robin(groups, settings.examples)
        if examples:
            chosen[condition] = examples
    return chosen


def _tagged(cells: list[ReportCell]) -> bool:
    import pyarrow.parquet as pq

    return any(c.dataset is not None and "tokens" in pq.read_schema(c.dataset).names for c in cells)


def _clean_text(language: str, clean: dict, files: _Files) -> _Indexed | None:
    for (variant, lang), cell in sorted(clean.items()):
        if lang == language and cell.dataset is not None:
            texts, gold = _dataset_view(cell.dataset)
            return files.indexed(cell.dataset, ("id", *texts, gold), f"clean dataset of {cell.label}")
    return None


_PREDICTION_VIEW = ("id", "predicted", "correct")


def _perturbation_groups(cells: list[ReportCell], clean: dict, files: _Files,
                         settings: ReportSettings, description: str) -> list[Callable]:
    condition = cells[0].condition
    by_language: dict[str, list[ReportCell]] = {}
    for cell in cells:
        by_language.setdefault(cell.language, []).append(cell)
    order = sorted(by_language, key=lambda lang: _hash(condition, lang))

    def load(language: str) -> list[Example]:
        group = sorted(by_language[language], key=lambda c: c.variant)
        perturbed_cell = next((c for c in group if c.dataset is not None), None)
        original = _clean_text(language, clean, files)
        if perturbed_cell is None or perturbed_cell.dataset is None or original is None:
            return []
        texts, gold = _dataset_view(perturbed_cell.dataset)
        perturbed = files.indexed(perturbed_cell.dataset, ("id", *texts, gold, "changed"),
                                  f"perturbed dataset of {perturbed_cell.label}")
        ids = perturbed.ids
        usable = perturbed.columns["changed"].astype(bool) & np.isin(ids, original.ids)
        views = {}
        flips = np.zeros(ids.size, dtype=int)
        for cell in group:
            clean_cell = clean.get((cell.variant, language))
            if clean_cell is None:
                continue
            before = files.indexed(clean_cell.predictions, _PREDICTION_VIEW,
                                   f"predictions of {clean_cell.label}")
            after = files.indexed(cell.predictions, _PREDICTION_VIEW, f"predictions of {cell.label}")
            views[cell.variant] = (before, after)
            flips += before.aligned(ids, "predicted") != after.aligned(ids, "predicted")
        ranked = sorted(np.flatnonzero(usable).tolist(),
                        key=lambda k: (-flips[k], _hash(condition, language, str(ids[k]))))
        variants = [v for v in variant_order(set(views), settings.baseline)]
        examples = []
        for k in ranked[: settings.examples]:
            example_id = str(ids[k])
            changes = tuple(
                PredictionChange(v, str(before.get(example_id, "predicted")),
                                 str(after.get(example_id, "predicted")),
                                 bool(before.get(example_id, "correct")),
                                 bool(after.get(example_id, "correct")))
                for v in variants for before, after in [views[v]]
                if example_id in before.row and example_id in after.row)
            fields = tuple((f, _shown(original.get(example_id, f)), _shown(perturbed.get(example_id, f)))
                           for f in texts)
            # the perturbed gold: a QA answer perturbed with its context is the gold scored
            examples.append(Example(condition, description, language, example_id,
                                    _shown(perturbed.get(example_id, gold)), fields, changes))
        return examples

    return [lambda lang=lang: load(lang) for lang in order]


_TAGGED_VIEW = ("id", "tokens", "tags", "changed", "changed_tokens")


def _tagged_groups(cells: list[ReportCell], clean: dict, files: _Files,
                   settings: ReportSettings, description: str) -> list[Callable]:
    """Examples of a perturbed tagging target: a sentence whose words the perturbation changed,
    its text before and after, and per variant the tags predicted for the changed words (right
    when every changed word is tagged right), against their gold tags."""
    condition = cells[0].condition
    by_language: dict[str, list[ReportCell]] = {}
    for cell in cells:
        by_language.setdefault(cell.language, []).append(cell)

    def load(language: str) -> list[Example]:
        group = sorted(by_language[language], key=lambda c: c.variant)
        perturbed_cell = next((c for c in group if c.dataset is not None), None)
        if perturbed_cell is None or perturbed_cell.dataset is None:
            return []
        data = files.indexed(perturbed_cell.dataset, _TAGGED_VIEW, f"perturbed dataset of {perturbed_cell.label}")
        views = {}
        for cell in group:
            clean_cell = clean.get((cell.variant, language))
            if clean_cell is not None:
                views[cell.variant] = (
                    files.indexed(clean_cell.predictions, _PREDICTION_VIEW, f"predictions of {clean_cell.label}"),
                    files.indexed(cell.predictions, _PREDICTION_VIEW, f"predictions of {cell.label}"))
        variants = variant_order(set(views), settings.baseline)
        candidates = []
        for k in np.flatnonzero(data.columns["changed"].astype(bool)).tolist():
            sentence = str(data.ids[k])
            words = [token_id(sentence, w) for w, flag in enumerate(data.columns["changed_tokens"][k]) if flag]
            if not all(w in before.row and w in after.row for before, after in views.values() for w in words):
                continue
            changes = tuple(
                PredictionChange(v, " ".join(str(before.get(w, "predicted")) for w in words),
                                 " ".join(str(after.get(w, "predicted")) for w in words),
                                 all(bool(before.get(w, "correct")) for w in words),
                                 all(bool(after.get(w, "correct")) for w in words))
                for v in variants for before, after in [views[v]])
            flips = sum(c.before != c.after for c in changes)
            candidates.append((-flips, _hash(condition, language, sentence), k, words, changes))
        examples = []
        for _, _, k, words, changes in sorted(candidates)[: settings.examples]:
            flags = data.columns["changed_tokens"][k]
            clean_tokens = _clean_tokens(language, clean, files, str(data.ids[k]))
            gold = " ".join(str(tag) for tag, flag in zip(data.columns["tags"][k], flags) if flag)
            text = (" ".join(clean_tokens or ()), " ".join(data.columns["tokens"][k]))
            examples.append(Example(condition, description, language, str(data.ids[k]), gold,
                                    (("tokens", *text),), changes,
                                    f"{len(words)} of {len(flags)} words changed; tags of the changed words"))
        return examples

    order = sorted(by_language, key=lambda lang: _hash(condition, lang))
    return [lambda lang=lang: load(lang) for lang in order]


def _clean_tokens(language: str, clean: dict, files: _Files, sentence: str) -> list[str] | None:
    for (_variant, lang), cell in sorted(clean.items()):
        if lang == language and cell.dataset is not None:
            table = files.indexed(cell.dataset, ("id", "tokens"), f"clean dataset of {cell.label}")
            return list(table.get(sentence, "tokens")) if sentence in table.row else None
    return None


_ATTACK_VIEW = ("id", "gold", "predicted", "adv_predicted", "status", "words_changed",
                "words_total", "queries", "adv_premise", "adv_hypothesis")


#: The text columns of the task types attacked through named fields (runtime/robustness/attacks/targets.py).
_FIELD_COLUMNS = ("question", "context", "endings", "tokens")


def _attacked_fields(original, example_id: str, adv: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    """(field, original, attacked) of each text an attack changed, in the shape its target keeps
    them: QA and MC fields by name (an ending as `ending<k>`), a tagged sentence's tokens spaced."""
    clean: dict[str, str] = {}
    for column in _FIELD_COLUMNS:
        if column not in original.columns:
            continue
        value = original.get(example_id, column)
        if column == "endings":
            clean.update({f"ending{k}": str(e) for k, e in enumerate(value)})
        elif column == "tokens":
            clean["tokens"] = " ".join(str(t) for t in value)
        else:
            clean[column] = str(value)
    out = []
    for name, text in adv.items():
        shown = text.replace("\n", " ") if name == "tokens" else text
        if name in clean and shown != clean[name]:
            out.append((name, clean[name], shown))
    return tuple(out)


def _attack_groups(cells: list[ReportCell], clean: dict, files: _Files,
                   settings: ReportSettings, description: str) -> list[Callable]:
    condition = cells[0].condition
    ranked = variant_order({c.variant for c in cells}, settings.baseline)
    cells = sorted(cells, key=lambda c: (_hash(condition, c.language), ranked.index(c.variant)))

    def load(cell: ReportCell) -> list[Example]:
        clean_cell = clean.get((cell.variant, cell.language))
        source = cell.dataset or (clean_cell.dataset if clean_cell else None)
        if source is None:
            return []
        import pyarrow.parquet as pq

        by_field = "adv_text" in pq.read_schema(cell.predictions).names  # a task other than pairs
        names = pq.read_schema(source).names
        columns = ((("id",) + tuple(c for c in _FIELD_COLUMNS if c in names)) if by_field
                   else TASK_FAMILIES["pair"].table_columns)
        original = files.indexed(source, columns, f"dataset of {cell.label}")
        attacked = files.indexed(cell.predictions, _ATTACK_VIEW + (("adv_text",) if by_field else ()),
                                 f"attack predictions of {cell.label}")
        succeeded = (attacked.columns["status"].astype(str) == "succeeded") & np.isin(
            attacked.ids, original.ids)
        chosen = sorted(attacked.ids[succeeded].tolist(),
                        key=lambda i: _hash(condition, cell.variant, cell.language, i))
        examples = []
        for example_id in chosen[: settings.examples]:
            row = {column: attacked.get(example_id, column) for column in _ATTACK_VIEW}
            if by_field:
                fields = _attacked_fields(original, example_id, json.loads(str(attacked.get(example_id, "adv_text"))))
            else:
                fields = tuple((f, str(original.get(example_id, f)), str(row[f"adv_{f}"]))
                               for f in TEXT_FIELDS)
            change = PredictionChange(cell.variant, str(row["predicted"]),
                                      str(row["adv_predicted"]), True, False)
            note = (f"{int(row['words_changed'])}/{int(row['words_total'])} words changed, "
                    f"{int(row['queries'])} queries")
            examples.append(Example(condition, description, cell.language, example_id,
                                    str(row["gold"]), fields, (change,), note))
        return examples

    return [lambda cell=cell: load(cell) for cell in cells]
