"""What every task type provides, and the padding/forward helpers they share.

A task turns a normalized table into model-ready *features* (QA: one per context window, so a
feature is not always an example), pads a list of them into a batch, computes its loss from the
model's outputs, and decodes per-feature outputs back into one prediction per example. Training
and evaluation are written once against this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Features:
    """Tokenized inputs of a table.

    `items[i]` is what `collate` consumes for feature i; `lengths[i]` its token count (multiple
    choice: the longest ending), used to batch similar lengths together; `example[i]` the table
    row feature i belongs to.
    """

    items: list[dict[str, Any]]
    lengths: np.ndarray
    example: np.ndarray

    @classmethod
    def of(cls, items: list[dict[str, Any]], example: np.ndarray | None = None) -> "Features":
        """Features whose lengths are their token counts; one per row unless `example` says."""
        lengths = np.array([len(item["input_ids"]) for item in items], dtype=np.int64)
        return cls(items, lengths, np.arange(len(items)) if example is None else example)

    def __len__(self) -> int:
        return len(self.items)


class Task:
    """Base of the task types; subclasses fill in the tokenization, head, loss and decoding."""

    name: str = ""
    auto_class_name: str = ""  # the transformers AutoModelFor... class holding this task's head
    #: Whether training starts from a fresh head (runtime/learning/training_setup.py build_model). False
    #: keeps the head the base checkpoint has and initialises only what it lacks, never a
    #: weight tied to the input embeddings (masked_lm: the LM decoder *is* the embeddings).
    reinitialise_head: bool = True

    @property
    def metric_name(self) -> str:
        """The headline metric; a property so that a task whose metric depends on its labels
        (token classification: entity F1 for BIO tags) can compute it."""
        return ""

    def auto_class(self):
        import transformers

        return getattr(transformers, self.auto_class_name)

    def model_kwargs(self) -> dict:
        """Config overrides for building the head (number of labels, label names)."""
        return {}

    def inference_kwargs(self) -> dict:
        """`from_pretrained` arguments of the model evaluation loads (retrieval: hidden states)."""
        return {}

    def check_model(self, config) -> None:
        """Raise if a trained checkpoint's head does not fit this task (e.g. other label names)."""

    def configured(self, params: dict) -> "Task":
        """The task with the spec's task parameters (`masked_lm(…, mask_prob=…)`); tasks whose
        parameters reach the runtime otherwise (QA's doc_stride) ignore them."""
        return self

    def share_encoder(self, model, encoder) -> None:
        """Make `model` (this task's model) run on `encoder`, the one a multi-task training
        shares among its members (runtime/learning/multitask.py). Weights tied to the input embeddings
        (an MLM head's decoder) are tied again, to the shared embeddings."""
        setattr(model, model.base_model_prefix, encoder)
        model.tie_weights()

    def for_data(self, table) -> "Task":
        """The task as set up for this training table (tagging takes its label set from it)."""
        return self

    def summary(self, predictions) -> dict:
        """Further metrics of a predictions table for the evaluate manifest (tagging: F1s)."""
        return {}

    def featurize(self, table, tokenizer, max_len: int, *, training: bool, **options) -> Features:
        raise NotImplementedError

    def collate(self, items: list[dict], pad_id: int) -> dict:
        """Pad `items` into tensors: model inputs plus, when the items carry them, targets."""
        raise NotImplementedError

    def loss(self, outputs, batch: dict):
        raise NotImplementedError

    def split_outputs(self, outputs, batch: dict) -> list[np.ndarray]:
        """The model outputs of a batch as one float32 array per feature (padding removed)."""
        raise NotImplementedError

    def decode(self, table, features: Features, outputs: list[np.ndarray], config):
        """Per-feature outputs -> the predictions table (runtime/data/formats.py columns)."""
        raise NotImplementedError

    def metric(self, predictions) -> float:
        """The dev metric (in [0, 1]) of a predictions table; accuracy unless overridden."""
        correct = predictions.column("correct").to_numpy(zero_copy_only=False)
        return float(np.mean(correct)) if len(correct) else 0.0


# The keys that go to the model; everything else in a batch is a target or bookkeeping.
MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


def model_inputs(batch: dict, device) -> dict:
    from xexp.runtime.learning.device import to_device

    return {k: to_device(batch[k], device) for k in MODEL_INPUTS if k in batch}


def pad_sequences(items: list[dict], pad_id: int) -> dict:
    """input_ids (+ token_type_ids) lists -> right-padded LongTensors and an attention mask.

    Filled through one boolean mask in numpy rather than row by row: on a GPU, padding a batch
    of 1,024 on the host took longer (25 ms) than the forward pass of a small encoder."""
    import itertools

    import torch

    lengths = np.fromiter((len(item["input_ids"]) for item in items), dtype=np.int64, count=len(items))
    width = int(lengths.max())
    mask = np.arange(width)[None, :] < lengths[:, None]  # row-major: the items' order

    def padded(key: str, fill: int):
        values = np.full((len(items), width), fill, dtype=np.int64)
        values[mask] = np.fromiter(itertools.chain.from_iterable(item[key] for item in items),
                                   dtype=np.int64, count=int(lengths.sum()))
        return torch.from_numpy(values)

    batch = {"input_ids": padded("input_ids", pad_id),
             "attention_mask": torch.from_numpy(mask.astype(np.int64))}
    if "token_type_ids" in items[0]:
        batch["token_type_ids"] = padded("token_type_ids", 0)
    return batch


#: The label of a position no loss is computed on (padding, special tokens, unmasked MLM tokens):
#: what torch's cross-entropy skips by default.
IGNORE = -100


def pad_labels(items: list[dict], batch: dict) -> None:
    """Per-token `labels` of `items` into `batch["labels"]`, right-padded with IGNORE to the
    batch's width (token tagging and masked-LM targets)."""
    import torch

    labels = torch.full(batch["input_ids"].shape, IGNORE, dtype=torch.long)
    for row, item in enumerate(items):
        labels[row, :len(item["labels"])] = torch.tensor(item["labels"], dtype=torch.long)
    batch["labels"] = labels


def tokenizer_fields(encoding, index: int) -> dict:
    """The model-input lists of one encoded row (token_type_ids only if the tokenizer has them)."""
    item = {"input_ids": encoding["input_ids"][index]}
    if "token_type_ids" in encoding:
        item["token_type_ids"] = encoding["token_type_ids"][index]
    return item


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


#: Characters kept per token of `max_len` before tokenizing (see `clip_chars`).
CHARS_PER_TOKEN = 64


def clip_chars(texts: list[str], max_len: int) -> list[str]:
    """Each text cut to `CHARS_PER_TOKEN * max_len` characters before it is tokenized.

    A tokenizer's own truncation runs after it has tokenized the whole text: a 50 MB premise
    became tens of millions of tokens (and GBs) before being cut to `max_len`. Every token but
    the special ones covers at least one character, and the subword vocabularies used here
    average 3-6; so the first `max_len` tokens of a text lie inside its first `64 * max_len`
    characters unless the text averages over 64 characters a token (runs of whitespace or of
    one unknown glyph), and what the model sees is unchanged for any other text.
    """
    cap = CHARS_PER_TOKEN * max_len
    return [text if len(text) <= cap else text[:cap] for text in texts]
