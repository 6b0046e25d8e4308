"""Sentence-pair classification (NLI, paraphrase): [CLS] premise [SEP] hypothesis [SEP] -> label.

The head's outputs are named in the checkpoint's config (id2label). Decoding reorders them
into the task's label order by name, so a checkpoint whose head lists the labels in another
order still yields probabilities in runtime/data/formats.py order.
"""

from __future__ import annotations

import numpy as np

from xexp.errors import ModelError
from xexp.runtime.data.formats import NLI_LABELS, PARAPHRASE_LABELS
from xexp.runtime.learning.tasks.base import Features, clip_chars, Task, pad_sequences, softmax, tokenizer_fields


class PairClassification(Task):
    metric_name = "accuracy"
    auto_class_name = "AutoModelForSequenceClassification"

    def __init__(self, name: str, labels: tuple[str, ...]) -> None:
        self.name, self.labels = name, labels
        self.label_index = {label: i for i, label in enumerate(labels)}

    def model_kwargs(self) -> dict:
        return {
            "num_labels": len(self.labels),
            "id2label": dict(enumerate(self.labels)),
            "label2id": dict(self.label_index),
        }

    def output_order(self, config) -> list[int]:
        """Which model output holds each of the task's labels, matched by name."""
        names = [str(config.id2label[i]) for i in range(len(config.id2label))]
        if sorted(names) != sorted(self.labels):
            raise ModelError(
                f"the checkpoint's head predicts {names}, not the {self.name} labels "
                f"{list(self.labels)}: it was not trained for {self.name}")
        return [names.index(label) for label in self.labels]

    def check_model(self, config) -> None:
        self.output_order(config)

    def featurize(self, table, tokenizer, max_len: int, *, training: bool, **options) -> Features:
        premises = clip_chars(table.column("premise").to_pylist(), max_len)
        hypotheses = clip_chars(table.column("hypothesis").to_pylist(), max_len)
        encoding = tokenizer(premises, hypotheses, truncation=True, max_length=max_len)
        labels = table.column("label").to_pylist() if "label" in table.column_names else None
        items = []
        for i in range(len(premises)):
            item = tokenizer_fields(encoding, i)
            if labels is not None:
                item["label"] = self.label_index[labels[i]]
            items.append(item)
        return Features.of(items)

    def collate(self, items: list[dict], pad_id: int) -> dict:
        import torch

        batch = pad_sequences(items, pad_id)
        if "label" in items[0]:
            batch["labels"] = torch.tensor([item["label"] for item in items], dtype=torch.long)
        return batch

    def loss(self, outputs, batch: dict):
        import torch.nn.functional as F

        return F.cross_entropy(outputs.logits.float(), batch["labels"].to(outputs.logits.device))

    def split_outputs(self, outputs, batch: dict) -> list[np.ndarray]:
        return list(outputs.logits.float().cpu().numpy())

    def decode(self, table, features: Features, outputs: list[np.ndarray], config):
        import pyarrow as pa

        order = self.output_order(config)
        logits = np.stack(outputs)[:, order] if outputs else np.zeros((0, len(self.labels)))
        probs = softmax(logits.astype(np.float64))
        predicted = [self.labels[i] for i in probs.argmax(axis=1)]
        gold = table.column("label").to_pylist()
        return pa.table({
            "id": table.column("id"),
            "gold": pa.array(gold, pa.string()),
            "predicted": pa.array(predicted, pa.string()),
            "correct": pa.array([g == p for g, p in zip(gold, predicted)], pa.bool_()),
            "probs": pa.array(probs.tolist(), pa.list_(pa.float64())),
        })


NLI = PairClassification("nli", NLI_LABELS)
PARAPHRASE = PairClassification("paraphrase", PARAPHRASE_LABELS)
