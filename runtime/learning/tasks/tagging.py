"""Token classification (POS, NER, CCG supertags): one label per word, from its first subword.

Features. A sentence arrives as its words (`tokens`); the tokenizer splits each word into
subwords (`is_split_into_words`), and only the *first* subword of a word carries its label in
training, the others get -100 and are ignored by the loss (BERT's NER recipe, used by XTREME).
"First" skips a subword that holds no character of the word: SentencePiece (XLM-R, e5) writes
most Chinese words and punctuation as a bare `▁` followed by the characters, and a label on
that `▁` would sit on the same token for every such word (zero-shot Chinese UPOS fell to ~20%).
Decoding reads the prediction of each word at its first subword, so every word of the table
gets exactly one prediction; a word cut off by `max_len` (or one the tokenizer turns into
nothing) gets the empty prediction and counts as wrong, never silently dropped.

Labels. The head's labels are the tag names of the training split, sorted, stored in the
checkpoint's id2label; evaluation reads them back by name, so a zero-shot language whose gold
data holds a tag never seen in training simply never gets it right.

Predictions are per token (ids `<sentence id>:<word index>`, runtime/data/formats.py `token_id`),
because the per-example statistics of the report then measure what taggers are judged by: token
accuracy. Metrics (tagging_scores.py): token accuracy, macro and micro F1 over tags, and, when
the tags are BIO (NER), entity-level micro F1. The dev metric that picks checkpoints is
accuracy, or entity F1 for BIO tags. Perturbing a tagged table word by word is
runtime/robustness/perturbations/tagged.py's job.
"""

from __future__ import annotations

import numpy as np

from xexp.errors import ModelError
from xexp.runtime.data.formats import token_id
from xexp.runtime.learning.tasks.base import CHARS_PER_TOKEN, IGNORE, Features, clip_chars, Task, pad_labels, pad_sequences, softmax, tokenizer_fields
from xexp.runtime.learning.tasks.tagging_scores import is_bio, tagging_scores


class TokenClassification(Task):
    name = "token_classification"
    auto_class_name = "AutoModelForTokenClassification"

    def __init__(self, labels: tuple[str, ...] = ()) -> None:
        self.labels = tuple(labels)
        self.label_index = {label: i for i, label in enumerate(self.labels)}

    @property
    def metric_name(self) -> str:
        return "entity_f1" if is_bio(self.labels) else "accuracy"

    def for_data(self, table) -> "TokenClassification":
        """The task with the training table's tag set as its head's labels."""
        tags = sorted({tag for tags in table.column("tags").to_pylist() for tag in tags})
        return TokenClassification(tuple(tags))

    def model_kwargs(self) -> dict:
        if not self.labels:
            raise ValueError("token_classification: the label set comes from the training table "
                             "(call for_data first)")
        return {"num_labels": len(self.labels), "id2label": dict(enumerate(self.labels)),
                "label2id": dict(self.label_index)}

    def featurize(self, table, tokenizer, max_len: int, *, training: bool, **options) -> Features:
        if not getattr(tokenizer, "is_fast", False):
            raise ModelError("token classification needs a fast tokenizer: words are matched to "
                             "their subwords through word_ids, which only fast tokenizers report")
        sentences = table.column("tokens").to_pylist()
        tags = table.column("tags").to_pylist() if training else None
        # Words past the first 64 * max_len (and characters past that in one word) cannot reach
        # the model: cut before tokenizing (tasks/base.clip_chars); word indices are unchanged.
        cap = CHARS_PER_TOKEN * max_len
        clipped = [clip_chars(words[:cap], max_len) for words in sentences]
        encoding = tokenizer(clipped, is_split_into_words=True, truncation=True, max_length=max_len)
        blank = _blank_ids(tokenizer, encoding["input_ids"])
        items = []
        for i, words in enumerate(sentences):
            first: list[int | None] = [None] * len(words)
            fallback: list[int | None] = [None] * len(words)
            for position, (word, token) in enumerate(zip(encoding.word_ids(i), encoding["input_ids"][i])):
                if word is None:
                    continue
                if fallback[word] is None:
                    fallback[word] = position
                if first[word] is None and token not in blank:
                    first[word] = position
            first = [f if f is not None else b for f, b in zip(first, fallback)]
            item = tokenizer_fields(encoding, i)
            item["first"] = first
            if tags is not None:
                labels = [IGNORE] * len(item["input_ids"])
                for word_index, word_start in enumerate(first):
                    if word_start is not None:
                        labels[word_start] = self.label_index[tags[i][word_index]]
                item["labels"] = labels
            items.append(item)
        return Features.of(items)

    def collate(self, items: list[dict], pad_id: int) -> dict:
        batch = pad_sequences(items, pad_id)
        if "labels" in items[0]:
            pad_labels(items, batch)
        return batch

    def loss(self, outputs, batch: dict):
        import torch.nn.functional as F

        logits = outputs.logits.float()
        labels = batch["labels"].to(logits.device)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE)

    def split_outputs(self, outputs, batch: dict) -> list[np.ndarray]:
        logits = outputs.logits.float().cpu().numpy()
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        return [logits[b, :n] for b, n in enumerate(lengths)]

    def decode(self, table, features: Features, outputs: list[np.ndarray], config):
        import pyarrow as pa

        names = [str(config.id2label[i]) for i in range(len(config.id2label))]
        columns: dict[str, list] = {"id": [], "sentence": [], "gold": [], "predicted": [], "probs": []}
        for i, (sentence, gold) in enumerate(zip(table.column("id").to_pylist(),
                                                 table.column("tags").to_pylist())):
            first = features.items[i]["first"]
            for word, position in enumerate(first):
                columns["id"].append(token_id(sentence, word))
                columns["sentence"].append(sentence)
                columns["gold"].append(gold[word])
                if position is None:
                    columns["predicted"].append("")
                    columns["probs"].append([])
                    continue
                probs = softmax(outputs[i][position].astype(np.float64))
                columns["predicted"].append(names[int(probs.argmax())])
                columns["probs"].append(probs.tolist())
        correct = [g == p for g, p in zip(columns["gold"], columns["predicted"])]
        return pa.table({
            "id": pa.array(columns["id"], pa.string()),
            "gold": pa.array(columns["gold"], pa.string()),
            "predicted": pa.array(columns["predicted"], pa.string()),
            "correct": pa.array(correct, pa.bool_()),
            "probs": pa.array(columns["probs"], pa.list_(pa.float64())),
            "sentence": pa.array(columns["sentence"], pa.string()),
        })

    def metric(self, predictions) -> float:
        scores = tagging_scores(predictions)
        return scores["entity_f1"] if "entity_f1" in scores else scores["accuracy"]

    def summary(self, predictions) -> dict:
        return tagging_scores(predictions)


def _blank_ids(tokenizer, input_ids) -> set[int]:
    """The ids among `input_ids` that stand for a word boundary alone: SentencePiece's bare `▁`
    (byte-level BPE's `Ġ`), recognised by piece or, through the tokenizer's decoder, as blank."""
    seen = sorted({token for ids in input_ids for token in ids})
    pieces = tokenizer.convert_ids_to_tokens(seen)
    return {token for token, piece in zip(seen, pieces)
            if not str(piece).strip("▁Ġ ") or not tokenizer.decode([token]).strip()}


TOKEN_CLASSIFICATION = TokenClassification()
