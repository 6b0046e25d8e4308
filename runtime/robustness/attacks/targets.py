"""What an attack needs to know about each task type: the texts it may change, how to ask the
model about changed texts, and when an attack has succeeded.

The greedy search (`search`) lowers "the gold label's probability" until the prediction leaves
the gold label. Every task type maps its own success rule onto that scheme through a *verdict*
per query, a pair (score the attack lowers, succeeded?):

* nli / paraphrase: the probabilities themselves; success = the prediction leaves the gold label.
* multiple_choice (context or each ending, the label kept): the softmax over the endings; success
  = the prediction changes from right to wrong.
* extractive_qa (question or context): the score is the prediction's token F1 against the gold
  answers, success = exact match lost (F1 is recorded). Words inside a gold answer span are never
  edited, so each gold answer stays a span of the perturbed context (its offset is recomputed).
* token_classification (the sentence's tokens, edited inside each token: the word-to-tag
  alignment is kept): the score is the mean gold-tag probability of the tokens the model tagged
  right on the clean sentence; success = any of them is tagged wrong. A sentence with no token
  right is skipped, as a wrongly classified pair is.

Non-pair verdicts reach the search as two-way "probabilities" [score, score ± 1] with gold 0:
the second column wins exactly when the attack succeeded.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence, cast

import numpy as np

from xexp.compiler.registry.base import FAMILY_FIELDS, REGISTRY, FieldName, task_family
from xexp.errors import DataError, ModelError

Texts = tuple[str, ...]
#: a task's model behind a function: normalized rows -> a predictions table (runtime/data/formats.py)
PredictRows = Callable[[list[dict]], Any]


def _verdict(score: float, succeeded: bool) -> np.ndarray:
    return np.array([score, score + (1.0 if succeeded else -1.0)], dtype=np.float64)


class PairTarget:
    """nli and paraphrase: (premise, hypothesis) pairs and label probabilities, as before."""

    family = "pair"
    fixed_tokens = False

    def __init__(self, predict_proba: Callable[[list[tuple[str, str]]], np.ndarray],
                 label_names: Sequence[str]):
        self.predict_proba, self.label_names = predict_proba, list(label_names)

    def texts(self, example: dict) -> dict[str, str]:
        return {"premise": example["premise"], "hypothesis": example["hypothesis"]}

    def attacked(self, field: str, example: dict) -> list[str]:
        return list(FAMILY_FIELDS["pair"][cast(FieldName, field)])

    def protected(self, example: dict) -> dict[str, list[tuple[int, int]]]:
        return {}

    def check(self, index: int, example: dict) -> None:
        for column in ("id", "premise", "hypothesis", "label"):
            if column not in example:
                raise DataError(f"attack: example #{index}", f"it has no {column!r} field")
        for column in ("premise", "hypothesis"):
            if not isinstance(example[column], str):
                raise DataError(f"attack: example {example['id']!r}", "it is not a string", field=column)
        if example["label"] not in self.label_names:
            raise DataError(f"attack: example {example['id']!r}", f"label {example['label']!r} is not one of "
                            f"{self.label_names}")

    def gold(self, example: dict) -> int:
        return self.label_names.index(example["label"])

    def ask(self, queries: list[tuple[dict, Texts]]) -> list[np.ndarray]:
        pairs = [(texts[0], texts[1]) for _, texts in queries]
        probs = np.asarray(self.predict_proba(pairs), dtype=np.float64)
        if probs.shape != (len(pairs), len(self.label_names)):
            raise ModelError(
                f"attack: predict_proba returned shape {probs.shape} for {len(pairs)} pairs; "
                f"expected ({len(pairs)}, {len(self.label_names)}) (one probability per label name)")
        if not np.all(np.isfinite(probs)):
            raise ModelError("attack: predict_proba returned non-finite probabilities")
        return list(probs)

    def verdict(self, example: dict, clean: Any, answer: Any) -> np.ndarray:
        return answer

    def record(self, example: dict, clean: Any, adv: Any) -> dict[str, Any]:
        predicted = self.label_names[int(np.argmax(clean))]
        adv_predicted = self.label_names[int(np.argmax(adv))]
        return {"gold": example["label"], "predicted": predicted, "correct": predicted == example["label"],
                "probs": [float(p) for p in clean], "adv_predicted": adv_predicted,
                "adv_correct": adv_predicted == example["label"]}


class _TableTarget:
    """Task types asked through their predictions table: rows rebuilt from the changed texts."""

    family = ""
    fixed_tokens = False

    def __init__(self, predict_rows: PredictRows):
        self.predict_rows = predict_rows

    def protected(self, example: dict) -> dict[str, list[tuple[int, int]]]:
        return {}

    def gold(self, example: dict) -> int:
        return 0

    def row(self, example: dict, texts: dict[str, str]) -> dict:
        raise NotImplementedError

    def answers(self, table, n: int) -> list[Any]:
        raise NotImplementedError

    def ask(self, queries: list[tuple[dict, Texts]]) -> list[Any]:
        rows = []
        for k, (example, texts) in enumerate(queries):
            row = self.row(example, dict(zip(self.texts(example), texts)))
            rows.append({**row, "id": f"q{k}"})
        return self.answers(self.predict_rows(rows), len(rows))

    def texts(self, example: dict) -> dict[str, str]:
        raise NotImplementedError

    def check(self, index: int, example: dict) -> None:
        for column in self.columns:
            if column not in example:
                raise DataError(f"attack: example #{index}", f"it has no {column!r} field")

    columns: tuple[str, ...] = ()


class MultipleChoiceTarget(_TableTarget):
    family = "mc"
    columns = ("id", "context", "endings", "label")

    def texts(self, example: dict) -> dict[str, str]:
        return {"context": example["context"],
                **{f"ending{k}": ending for k, ending in enumerate(example["endings"])}}

    def attacked(self, field: str, example: dict) -> list[str]:
        endings = [f"ending{k}" for k in range(len(example["endings"]))]
        return {"context": ["context"], "endings": endings, "both": endings + ["context"]}[field]

    def row(self, example: dict, texts: dict[str, str]) -> dict:
        return {"context": texts["context"], "label": example["label"],
                "endings": [texts[f"ending{k}"] for k in range(len(example["endings"]))]}

    def answers(self, table, n: int) -> list[Any]:
        return [np.asarray(p, dtype=np.float64) for p in table.column("probs").to_pylist()]

    def verdict(self, example: dict, clean: Any, answer: Any) -> np.ndarray:
        gold = int(example["label"])
        return _verdict(float(answer[gold]), int(np.argmax(answer)) != gold)

    def record(self, example: dict, clean: Any, adv: Any) -> dict[str, Any]:
        gold = int(example["label"])
        return {"gold": str(gold), "predicted": str(int(np.argmax(clean))),
                "correct": int(np.argmax(clean)) == gold, "probs": [float(p) for p in clean],
                "adv_predicted": str(int(np.argmax(adv))), "adv_correct": int(np.argmax(adv)) == gold}


class QaTarget(_TableTarget):
    family = "qa"
    columns = ("id", "context", "question", "answers")

    def texts(self, example: dict) -> dict[str, str]:
        return {"question": example["question"], "context": example["context"]}

    def attacked(self, field: str, example: dict) -> list[str]:
        return list(FAMILY_FIELDS["qa"][cast(FieldName, field)])

    def protected(self, example: dict) -> dict[str, list[tuple[int, int]]]:
        spans = [(int(a["start"]), int(a["start"]) + len(a["text"]))
                 for a in example["answers"] if a.get("text")]
        return {"context": spans}

    def row(self, example: dict, texts: dict[str, str]) -> dict:
        return {"question": texts["question"], "context": texts["context"],
                "answers": [_moved(a, example["context"], texts["context"]) for a in example["answers"]]}

    def answers(self, table, n: int) -> list[Any]:
        return list(zip(table.column("predicted").to_pylist(), table.column("correct").to_pylist(),
                        table.column("f1").to_pylist()))

    def verdict(self, example: dict, clean: Any, answer: Any) -> np.ndarray:
        _, exact, f1 = answer
        return _verdict(float(f1), not exact)

    def record(self, example: dict, clean: Any, adv: Any) -> dict[str, Any]:
        golds = [a["text"] for a in example["answers"]]
        return {"gold": json.dumps(golds, ensure_ascii=False), "predicted": clean[0], "correct": bool(clean[1]),
                "probs": [], "adv_predicted": adv[0], "adv_correct": bool(adv[1]),
                "f1": float(clean[2]), "adv_f1": float(adv[2])}


def _moved(answer: dict, before: str, after: str) -> dict:
    """The answer with its offset in the perturbed context: the same occurrence (k-th) of its
    text, which the attack never edits (`QaTarget.protected`)."""
    text, start = answer.get("text", ""), int(answer.get("start", 0))
    if not text:
        return dict(answer)
    k = before.count(text, 0, start) if before[start:start + len(text)] == text else 0
    at = -1
    for _ in range(k + 1):
        at = after.find(text, at + 1)
        if at < 0:
            break
    return {**answer, "start": at if at >= 0 else after.find(text)}


class TaggingTarget(_TableTarget):
    family = "tagging"
    fixed_tokens = True
    columns = ("id", "tokens", "tags")

    def texts(self, example: dict) -> dict[str, str]:
        tokens = example["tokens"]
        if any("\n" in t for t in tokens):
            raise DataError(f"attack: sentence {example['id']!r}", "a token has a line break")
        return {"tokens": "\n".join(tokens)}

    def attacked(self, field: str, example: dict) -> list[str]:
        return ["tokens"]  # a tagged sentence has one text; `on` does not apply (xexp check)

    def row(self, example: dict, texts: dict[str, str]) -> dict:
        tokens = texts["tokens"].split("\n")
        if len(tokens) != len(example["tokens"]):
            raise RuntimeError(f"attack changed the number of tokens of sentence {example['id']!r}")
        return {"tokens": tokens, "tags": example["tags"]}

    def answers(self, table, n: int) -> list[Any]:
        by_sentence: dict[str, list[tuple[str, bool, float]]] = {f"q{k}": [] for k in range(n)}
        for sentence, gold, predicted, probs in zip(*(table.column(c).to_pylist()
                                                      for c in ("sentence", "gold", "predicted", "probs"))):
            right = predicted == gold
            by_sentence[sentence].append((predicted, right, _sureness(probs, right)))
        return [by_sentence[f"q{k}"] for k in range(n)]

    def verdict(self, example: dict, clean: Any, answer: Any) -> np.ndarray:
        right = [i for i, (_, correct, _) in enumerate(clean) if correct]
        if not right:
            return _verdict(0.0, True)  # nothing right to begin with: skipped
        score = float(np.mean([answer[i][2] for i in right]))
        return _verdict(score, any(not answer[i][1] for i in right))

    def record(self, example: dict, clean: Any, adv: Any) -> dict[str, Any]:
        right = [i for i, (_, correct, _) in enumerate(clean) if correct]
        return {"gold": " ".join(example["tags"]), "predicted": " ".join(p for p, _, _ in clean),
                "correct": bool(right), "probs": [],
                "adv_predicted": " ".join(p for p, _, _ in adv),
                "adv_correct": bool(right) and all(adv[i][1] for i in right),
                "tokens_right": len(right), "adv_tokens_right": sum(1 for i in right if adv[i][1])}


def _sureness(probs: list[float], right: bool) -> float:
    """The gold tag's probability where the token is tagged right (the predicted tag's), else 0:
    the predictions table keeps each probability vector but not its label order, and the search
    only needs how sure the model still is of the right tags."""
    return float(max(probs)) if right and probs else 0.0


#: The target of each task type whose examples are not pairs, chosen by the family its registry
#: entry declares (a new QA task type is attacked as QA is, with no change here).
TABLE_TARGETS = {task_type: target for task_type in REGISTRY.names("task_type")
                 for target in (MultipleChoiceTarget, QaTarget, TaggingTarget)
                 if task_family(task_type) == target.family}
