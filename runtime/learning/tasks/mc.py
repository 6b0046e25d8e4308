"""Multiple choice (HellaSwag, CosmosQA, CommonsenseQA): score each (context, ending) pair.

Each ending becomes its own sequence [CLS] context [SEP] ending [SEP]; the head gives one score
per sequence and a softmax across the endings picks the answer. Examples with fewer endings
than others in the batch get padded endings whose scores are masked out, so one dataset may
mix 4- and 5-way questions.
"""

from __future__ import annotations

import numpy as np

from xexp.runtime.learning.tasks.base import Features, clip_chars, Task, softmax, tokenizer_fields

_MASKED = -1e9


class MultipleChoice(Task):
    name = "multiple_choice"
    metric_name = "accuracy"
    auto_class_name = "AutoModelForMultipleChoice"

    def model_kwargs(self) -> dict:
        # One score per ending; resets label names a pair-classification base left in its config.
        return {"num_labels": 1, "id2label": {0: "score"}, "label2id": {"score": 0}}

    def featurize(self, table, tokenizer, max_len: int, *, training: bool, **options) -> Features:
        contexts = clip_chars(table.column("context").to_pylist(), max_len)
        endings = [clip_chars(ends, max_len) for ends in table.column("endings").to_pylist()]
        labels = table.column("label").to_pylist() if "label" in table.column_names else None
        firsts = [c for c, ends in zip(contexts, endings) for _ in ends]
        seconds = [e for ends in endings for e in ends]
        # longest_first trims the (long) context before the (short) ending.
        encoding = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_len)
        items, flat = [], 0
        for i, ends in enumerate(endings):
            choices = [tokenizer_fields(encoding, flat + k) for k in range(len(ends))]
            flat += len(ends)
            item = {"choices": choices}
            if labels is not None:
                item["label"] = labels[i]
            items.append(item)
        lengths = np.array([max(len(c["input_ids"]) for c in item["choices"]) for item in items],
                           dtype=np.int64)
        return Features(items, lengths, np.arange(len(items)))

    def collate(self, items: list[dict], pad_id: int) -> dict:
        import torch

        n_choices = max(len(item["choices"]) for item in items)
        width = max(len(c["input_ids"]) for item in items for c in item["choices"])
        with_types = "token_type_ids" in items[0]["choices"][0]
        shape = (len(items), n_choices, width)
        ids = torch.full(shape, pad_id, dtype=torch.long)
        mask = torch.zeros(shape, dtype=torch.long)
        types = torch.zeros(shape, dtype=torch.long)
        present = torch.zeros((len(items), n_choices), dtype=torch.bool)
        for b, item in enumerate(items):
            for k, choice in enumerate(item["choices"]):
                n = len(choice["input_ids"])
                ids[b, k, :n] = torch.tensor(choice["input_ids"])
                mask[b, k, :n] = 1
                if with_types:
                    types[b, k, :n] = torch.tensor(choice["token_type_ids"])
                present[b, k] = True
        # A padded ending still needs one visible token, or attention would divide by zero.
        mask[~present, 0] = 1
        batch = {"input_ids": ids, "attention_mask": mask, "present": present}
        if with_types:
            batch["token_type_ids"] = types
        if "label" in items[0]:
            batch["labels"] = torch.tensor([item["label"] for item in items], dtype=torch.long)
        return batch

    def _scores(self, outputs, batch):
        present = batch["present"].to(outputs.logits.device)
        return outputs.logits.float().masked_fill(~present, _MASKED)

    def loss(self, outputs, batch: dict):
        import torch.nn.functional as F

        scores = self._scores(outputs, batch)
        return F.cross_entropy(scores, batch["labels"].to(scores.device))

    def split_outputs(self, outputs, batch: dict) -> list[np.ndarray]:
        scores = self._scores(outputs, batch).cpu().numpy()
        counts = batch["present"].sum(dim=1).tolist()
        return [scores[b, :n] for b, n in enumerate(counts)]

    def decode(self, table, features: Features, outputs: list[np.ndarray], config):
        import pyarrow as pa

        probs = [softmax(scores.astype(np.float64)) for scores in outputs]
        predicted = [int(p.argmax()) for p in probs]
        gold = table.column("label").to_pylist()
        return pa.table({
            "id": table.column("id"),
            "gold": pa.array([str(g) for g in gold], pa.string()),
            "predicted": pa.array([str(p) for p in predicted], pa.string()),
            "correct": pa.array([g == p for g, p in zip(gold, predicted)], pa.bool_()),
            "probs": pa.array([p.tolist() for p in probs], pa.list_(pa.float64())),
        })


MULTIPLE_CHOICE = MultipleChoice()
