"""Masked language modelling on plain text: continued pretraining as an intermediate task.

Phang et al. 2020 ablate English intermediate training against continuing the encoder's own
objective on multilingual text; jiant's MLM tasks (`tasks/lib/templates/mlm.py`, the
crosslingual-wiki task) read one example per line and mask with probability 0.15, BERT's
80/10/10 rule. This task does the same, with three choices of its own:

* **Static masks from the seed.** Each example's masks are drawn once, at featurization, from
  a generator seeded by (training seed, sha256 of the example's id and text): the same seed gives
  the same masks on every machine, the masks do not depend on batching or on which other
  examples are in the table, and a resumed training equals the uninterrupted one without any
  state to save. jiant and HF draw new masks per batch (dynamic masking, which RoBERTa found
  as good as or slightly better than static masks over 40 pretraining epochs); intermediate
  training passes over its text a few times at most, so little is lost, and the training loop
  (and a multi-task mix around it) needs no knowledge of masking at all.
* **At least one masked token per example.** Tokens are chosen independently with `mask_prob`
  (as jiant and HF do); a short line that draws none gets one position chosen uniformly, so
  every example contributes to the loss and a batch never has an empty loss.
* **Random replacements are ordinary tokens.** The 10% "random token" draws uniformly from the
  vocabulary without the special tokens (jiant draws from all of `len(tokenizer)`), so the
  model never sees a stray `[CLS]` or `<pad>` inside a sentence.

A line is one example, truncated to `max_len` tokens (a long `text` value, a whole article,
contributes its beginning only). Special tokens ([CLS], [SEP], <s>, </s>) are never chosen. The loss is cross-entropy on the
chosen positions only. The dev metric is masked-token accuracy: the share of chosen positions
whose original token is the model's top prediction. Decoding keeps, per chosen position, only
the predicted id and the gold token's probability: a full row of logits over a 250k vocabulary
per token would cost a gigabyte per batch.

The head is the encoder's own MLM head (`reinitialise_head = False`, see
runtime/learning/training_setup.py): a pretrained MLM head (XLM-R) is kept, a base without one
(multilingual-e5-small, the tiny test model: their checkpoints hold only the encoder) gets a
fresh transform and bias, and the output projection stays tied to the input embeddings.
"""

from __future__ import annotations

import hashlib

import numpy as np

from xexp.errors import ModelError, SpecValueError
from xexp.runtime.learning.tasks.base import IGNORE, Features, clip_chars, Task, pad_labels, pad_sequences, tokenizer_fields

DEFAULT_MASK_PROB = 0.15
#: BERT's split of the chosen tokens: mask token, random token, unchanged.
MASK_SHARE, RANDOM_SHARE = 0.8, 0.1


def example_seed(seed: int, example_id: str, text: str) -> list[int]:
    """The generator seed of one example's masks: the training seed, the example's id and its
    text (rows of several languages concatenated may share ids, never id and text)."""
    digest = hashlib.sha256(f"{example_id}\x1f{text}".encode("utf-8")).digest()
    return [int(seed), int.from_bytes(digest[:8], "big")]


def mask_tokens(ids: list[int], special: np.ndarray, *, mask_id: int, candidates: np.ndarray,
                mask_prob: float, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """(masked input ids, labels): labels hold the original id at chosen positions, IGNORE
    elsewhere. `special[i]` marks positions never chosen; `candidates` are the random tokens."""
    ids_array = np.asarray(ids, dtype=np.int64)
    open_positions = np.flatnonzero(~special)
    labels = np.full(len(ids_array), IGNORE, dtype=np.int64)
    if len(open_positions) == 0:
        return ids_array.tolist(), labels.tolist()
    chosen = open_positions[rng.random(len(open_positions)) < mask_prob]
    if len(chosen) == 0:
        chosen = rng.choice(open_positions, size=1)
    labels[chosen] = ids_array[chosen]
    action = rng.random(len(chosen))
    masked = ids_array.copy()
    masked[chosen[action < MASK_SHARE]] = mask_id
    randomised = chosen[(action >= MASK_SHARE) & (action < MASK_SHARE + RANDOM_SHARE)]
    masked[randomised] = rng.choice(candidates, size=len(randomised))
    return masked.tolist(), labels.tolist()


class MaskedLm(Task):
    name = "masked_lm"
    auto_class_name = "AutoModelForMaskedLM"
    metric_name = "masked_accuracy"
    reinitialise_head = False
    #: Dev batches whose outputs may wait on the GPU (runtime/learning/tasks/runner.py): an MLM output is
    #: batch x length x vocabulary logits (4 GiB in bf16 for 64 x 128 x 250k), not 64 x 3.
    pending_batches = 1

    def __init__(self, mask_prob: float = DEFAULT_MASK_PROB) -> None:
        if not 0 < mask_prob < 1:
            raise SpecValueError(f"masked_lm: mask_prob must be in (0, 1), got {mask_prob!r}")
        self.mask_prob = float(mask_prob)

    def configured(self, params: dict) -> "MaskedLm":
        return MaskedLm(params.get("mask_prob", DEFAULT_MASK_PROB))

    def featurize(self, table, tokenizer, max_len: int, *, training: bool, seed: int = 0,
                  **options) -> Features:
        """Tokenized, truncated, masked lines; dev tables are masked the same way (from the
        same seed), so the dev metric scores a fixed set of positions throughout training."""
        if tokenizer.mask_token_id is None:
            raise ModelError("masked_lm needs a tokenizer with a mask token; this model's has none")
        texts = clip_chars(table.column("text").to_pylist(), max_len)
        ids = table.column("id").to_pylist()
        encoding = tokenizer(texts, truncation=True, max_length=max_len)
        special_ids = np.array(sorted(set(tokenizer.all_special_ids)), dtype=np.int64)
        candidates = np.setdiff1d(np.arange(len(tokenizer), dtype=np.int64), special_ids)
        items = []
        for i, example_id in enumerate(ids):
            item = tokenizer_fields(encoding, i)
            special = np.isin(np.asarray(item["input_ids"], dtype=np.int64), special_ids)
            rng = np.random.default_rng(example_seed(seed, example_id, texts[i]))
            item["input_ids"], item["labels"] = mask_tokens(
                item["input_ids"], special, mask_id=tokenizer.mask_token_id, candidates=candidates,
                mask_prob=self.mask_prob, rng=rng)
            items.append(item)
        return Features.of(items)

    def collate(self, items: list[dict], pad_id: int) -> dict:
        batch = pad_sequences(items, pad_id)
        pad_labels(items, batch)
        return batch

    def loss(self, outputs, batch: dict):
        import torch.nn.functional as F

        labels = batch["labels"].to(outputs.logits.device)
        chosen = labels != IGNORE
        return F.cross_entropy(outputs.logits[chosen].float(), labels[chosen])

    def split_outputs(self, outputs, batch: dict) -> list[np.ndarray]:
        """Per feature, one row (position, predicted id, probability of the gold id) per chosen
        position: everything the metric needs, without the vocabulary-wide logits (only the
        chosen positions' logits are ever copied or upcast)."""
        import torch

        labels = batch["labels"].to(outputs.logits.device)
        chosen = labels != IGNORE
        log_probs = torch.log_softmax(outputs.logits[chosen].float(), dim=-1)
        gold = labels[chosen]
        rows = torch.stack([torch.nonzero(chosen)[:, 1].double(), log_probs.argmax(dim=-1).double(),
                            log_probs.gather(1, gold[:, None]).squeeze(1).exp().double()], dim=1).cpu().numpy()
        return np.split(rows, np.cumsum(chosen.sum(dim=1).cpu().numpy())[:-1])

    def decode(self, table, features: Features, outputs: list[np.ndarray], config):
        """One prediction row per masked token (id `<example id>:<position>`); gold and
        predicted are token ids as strings, `probs` the gold token's probability."""
        import pyarrow as pa

        columns: dict[str, list] = {"id": [], "gold": [], "predicted": [], "probs": []}
        for example_id, item, rows in zip(table.column("id").to_pylist(), features.items, outputs):
            for position, predicted, gold_prob in rows:
                position = int(position)
                columns["id"].append(f"{example_id}:{position}")
                columns["gold"].append(str(item["labels"][position]))
                columns["predicted"].append(str(int(predicted)))
                columns["probs"].append([float(gold_prob)])
        return pa.table({
            "id": pa.array(columns["id"], pa.string()),
            "gold": pa.array(columns["gold"], pa.string()),
            "predicted": pa.array(columns["predicted"], pa.string()),
            "correct": pa.array([g == p for g, p in zip(columns["gold"], columns["predicted"])], pa.bool_()),
            "probs": pa.array(columns["probs"], pa.list_(pa.float64())),
        })


MASKED_LM = MaskedLm()
