"""Extractive QA (SQuAD v1/v2): predict the start and end token of the answer in the context.

A context longer than the model's window is cut into overlapping windows (`doc_stride` tokens
of overlap), each window a feature. Training labels a window whose context does not contain
the whole answer with the [CLS] position, i.e. "no answer here". Decoding takes the best valid
span over all windows of an example (start <= end, at most `max_answer_tokens` long) and maps
it back to text through the tokenizer's character offsets. Unanswerable questions (SQuAD v2)
are predicted when the table has any (a v2 dataset): an example gets "" when its [CLS] score
beats its best span, exactly as the official v2 baseline decodes.
"""

from __future__ import annotations

import json

import numpy as np

from xexp.errors import ModelError
from xexp.runtime.learning.tasks.base import Features, clip_chars, Task, pad_sequences, tokenizer_fields
from xexp.runtime.learning.tasks.squad_metric import exact_match, f1_score

CLS_INDEX = 0


class ExtractiveQA(Task):
    name = "extractive_qa"
    metric_name = "f1"
    auto_class_name = "AutoModelForQuestionAnswering"

    def __init__(self, *, max_answer_tokens: int = 30, n_best: int = 20) -> None:
        self.max_answer_tokens, self.n_best = max_answer_tokens, n_best

    def model_kwargs(self) -> dict:
        # Two outputs per token (start, end); explicit, because a base trained for NLI carries
        # num_labels=3 in its config and the QA head is sized from it.
        return {"num_labels": 2, "id2label": {0: "start", 1: "end"}, "label2id": {"start": 0, "end": 1}}

    def featurize(self, table, tokenizer, max_len: int, *, training: bool,
                  doc_stride: int | None = None, **options) -> Features:
        if not getattr(tokenizer, "is_fast", False):
            raise ModelError("extractive QA needs a fast tokenizer: answers are located through "
                             "character offsets, which only fast tokenizers report")
        # The context is read whole, window by window (its size is bounded where it is loaded,
        # runtime/data/row_size.py); the question is one window's worth at most.
        questions = _clip_questions(clip_chars([q.lstrip() for q in table.column("question").to_pylist()], max_len),
                                    tokenizer, max(1, max_len // 2 - 2))
        contexts = table.column("context").to_pylist()
        answers = table.column("answers").to_pylist()
        stride = max_len // 4 if doc_stride is None else doc_stride
        encoding = tokenizer(questions, contexts, truncation="only_second", max_length=max_len,
                             stride=stride, return_overflowing_tokens=True,
                             return_offsets_mapping=True)
        items, example = [], []
        for f, row in enumerate(encoding["overflow_to_sample_mapping"]):
            sequence_ids = encoding.sequence_ids(f)
            if 1 not in sequence_ids:  # a context that tokenizes to nothing: no window at all
                continue
            first = sequence_ids.index(1)
            last = len(sequence_ids) - 1 - sequence_ids[::-1].index(1)
            offsets = encoding["offset_mapping"][f]
            item = tokenizer_fields(encoding, f)
            item["span"] = (first, last)
            item["offsets"] = offsets
            if training:
                item["start"], item["end"] = _target(answers[row], offsets, first, last)
            items.append(item)
            example.append(row)
        return Features.of(items, np.array(example, dtype=np.int64))

    def collate(self, items: list[dict], pad_id: int) -> dict:
        import torch

        batch = pad_sequences(items, pad_id)
        if "start" in items[0]:
            batch["start_positions"] = torch.tensor([item["start"] for item in items])
            batch["end_positions"] = torch.tensor([item["end"] for item in items])
        return batch

    def _masked(self, outputs, batch):
        mask = batch["attention_mask"].to(outputs.start_logits.device).bool()
        start = outputs.start_logits.float().masked_fill(~mask, -1e9)
        end = outputs.end_logits.float().masked_fill(~mask, -1e9)
        return start, end

    def loss(self, outputs, batch: dict):
        import torch.nn.functional as F

        start, end = self._masked(outputs, batch)
        device = start.device
        return (F.cross_entropy(start, batch["start_positions"].to(device))
                + F.cross_entropy(end, batch["end_positions"].to(device))) / 2

    def split_outputs(self, outputs, batch: dict) -> list[np.ndarray]:
        start, end = self._masked(outputs, batch)
        both = np.stack([start.cpu().numpy(), end.cpu().numpy()], axis=-1)
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        return [both[b, :n] for b, n in enumerate(lengths)]

    def decode(self, table, features: Features, outputs: list[np.ndarray], config):
        import pyarrow as pa

        contexts = table.column("context").to_pylist()
        golds = [[a["text"] for a in answers] for answers in table.column("answers").to_pylist()]
        allow_no_answer = any(not g for g in golds)
        by_example: dict[int, list[int]] = {}
        for f, row in enumerate(features.example.tolist()):
            by_example.setdefault(row, []).append(f)
        predicted = []
        for row, context in enumerate(contexts):
            text, best, null = "", -np.inf, np.inf
            for f in by_example.get(row, []):
                span_text, score, null_score = self._best_span(features.items[f], outputs[f], context)
                null = min(null, null_score)
                if score > best:
                    text, best = span_text, score
            if allow_no_answer and null > best:
                text = ""
            predicted.append(text)
        ems = [exact_match(p, g) for p, g in zip(predicted, golds)]
        f1s = [f1_score(p, g) for p, g in zip(predicted, golds)]
        return pa.table({
            "id": table.column("id"),
            "gold": pa.array([json.dumps(g, ensure_ascii=False) for g in golds], pa.string()),
            "predicted": pa.array(predicted, pa.string()),
            "correct": pa.array(ems, pa.bool_()),
            "probs": pa.array([[] for _ in predicted], pa.list_(pa.float64())),
            "f1": pa.array(f1s, pa.float64()),
        })

    def metric(self, predictions) -> float:
        f1 = predictions.column("f1").to_numpy()
        return float(np.mean(f1)) if len(f1) else 0.0

    def _best_span(self, item: dict, logits: np.ndarray, context: str) -> tuple[str, float, float]:
        """Best (text, score) in one window, and the window's no-answer ([CLS]) score."""
        start_logits, end_logits = logits[:, 0], logits[:, 1]
        first, last = item["span"]
        null = float(start_logits[CLS_INDEX] + end_logits[CLS_INDEX])
        window = slice(first, last + 1)
        k = min(self.n_best, last - first + 1)
        starts = first + np.argsort(start_logits[window])[::-1][:k]
        ends = first + np.argsort(end_logits[window])[::-1][:k]
        scores = start_logits[starts][:, None] + end_logits[ends][None, :]
        length = ends[None, :] - starts[:, None]
        scores = np.where((length >= 0) & (length < self.max_answer_tokens), scores, -np.inf)
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        if not np.isfinite(scores[i, j]):
            return "", -np.inf, null
        offsets = item["offsets"]
        text = context[offsets[starts[i]][0]:offsets[ends[j]][1]].strip()
        return text, float(scores[i, j]), null


def _target(answers: list[dict], offsets, first: int, last: int) -> tuple[int, int]:
    """Token (start, end) of the first gold answer in this window, or ([CLS], [CLS])."""
    if not answers:
        return CLS_INDEX, CLS_INDEX
    start_char = answers[0]["start"]
    end_char = start_char + len(answers[0]["text"])
    if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
        return CLS_INDEX, CLS_INDEX
    start = first
    while start <= last and offsets[start][0] <= start_char:
        start += 1
    end = last
    while end >= first and offsets[end][1] >= end_char:
        end -= 1
    return start - 1, end + 1


def _clip_questions(questions: list[str], tokenizer, max_tokens: int) -> list[str]:
    """Cut questions longer than `max_tokens` so that every window keeps room for context."""
    encoding = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    clipped = []
    for question, ids, offsets in zip(questions, encoding["input_ids"], encoding["offset_mapping"]):
        clipped.append(question if len(ids) <= max_tokens else question[:offsets[max_tokens - 1][1]])
    return clipped


EXTRACTIVE_QA = ExtractiveQA()
