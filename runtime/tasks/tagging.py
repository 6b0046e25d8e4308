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

Predictions are per token (ids `<sentence id>:<word index>`), because the per-example
statistics of the report then measure what taggers are judged by: token accuracy. Metrics:
token accuracy, macro and micro F1 over tags, and, when the tags are BIO (NER), entity-level
micro F1 (conlleval chunking). The dev metric that picks checkpoints is accuracy, or entity F1
for BIO tags.
"""

from __future__ import annotations

import hashlib

import numpy as np

from xexp.errors import ModelError
from xexp.runtime.tasks.base import CHARS_PER_TOKEN, IGNORE, Features, clip_chars, Task, pad_labels, pad_sequences, softmax, tokenizer_fields


def token_id(sentence_id: str, position: int) -> str:
    """The id of one word's prediction row; unique because the suffix is always `:<int>`."""
    return f"{sentence_id}:{position}"


def is_bio(labels) -> bool:
    labels = list(labels)
    return bool(labels) and any(l.startswith("B-") for l in labels) and all(
        l == "O" or l[:2] in ("B-", "I-") for l in labels)


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


# --- metrics ----------------------------------------------------------------------------------


def tagging_scores(predictions) -> dict[str, float]:
    """accuracy, macro_f1 and micro_f1 over tags (per token), entity_f1 when the gold tags are BIO.

    Micro F1 over tags counts every token once on each side, so for single-label tagging it
    equals accuracy; it is reported for completeness, entity F1 is the NER headline.
    """
    gold = predictions.column("gold").to_pylist()
    predicted = predictions.column("predicted").to_pylist()
    if not gold:
        return {"accuracy": 0.0, "macro_f1": 0.0, "micro_f1": 0.0}
    scores = {"accuracy": float(np.mean([g == p for g, p in zip(gold, predicted)]))}
    g, p = np.array(gold, dtype=object), np.array(predicted, dtype=object)
    f1s, tp_all, fp_all, fn_all = [], 0, 0, 0
    for label in sorted(set(gold)):  # macro: the mean over the gold tag set
        tp = int(np.sum((g == label) & (p == label)))
        fp = int(np.sum((g != label) & (p == label)))
        fn = int(np.sum((g == label) & (p != label)))
        f1s.append(_f1(tp, fp, fn))
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    fp_all += int(np.sum(~np.isin(p, list(set(gold)))))  # predictions of tags absent from gold
    scores["macro_f1"] = float(np.mean(f1s))
    scores["micro_f1"] = _f1(tp_all, fp_all, fn_all)
    if is_bio(set(gold)):
        sentences = predictions.column("sentence").to_pylist()
        found = correct = expected = 0
        for g_spans, p_spans in _spans_by_sentence(sentences, gold, predicted):
            found, expected, correct = found + len(p_spans), expected + len(g_spans), correct + len(g_spans & p_spans)
        scores["entity_f1"] = _f1(correct, found - correct, expected - correct)
    return scores


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _spans_by_sentence(sentences, gold, predicted):
    start = 0
    for end in range(1, len(sentences) + 1):
        if end == len(sentences) or sentences[end] != sentences[start]:
            yield entity_spans(gold[start:end]), entity_spans(predicted[start:end])
            start = end


def entity_spans(tags) -> set[tuple[int, int, str]]:
    """(start, end, type) chunks of a BIO sequence, conlleval style: an I- tag whose type differs
    from the previous tag's starts a new chunk, like a B- tag does."""
    spans: set[tuple[int, int, str]] = set()
    start = 0
    kind: str | None = None  # the type of the chunk that is open, if any
    for k, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-") if tag[:2] in ("B-", "I-") else ("O", "", "")
        if kind is not None and (prefix != "I" or label != kind):
            spans.add((start, k, kind))
            kind = None
        if prefix == "B" or (prefix == "I" and kind is None):
            start, kind = k, label
    return spans


# --- perturbations that keep the tags aligned -------------------------------------------------


def perturb_tagged_table(name: str, params: dict, table, lang: str, seed: int):
    """A perturbed copy of a tagged table: each token is perturbed on its own, so the token count
    and the tag sequence stay as they are. Adds `changed` (the sentence changed) and
    `changed_tokens` (per token). Only perturbations declared `keeps_tokens` qualify (the
    compiler checks this; see compiler/registry/perturbations.py)."""
    import pyarrow as pa

    from xexp.runtime.perturbations import get
    from xexp.runtime.perturbations.base import registry_entry

    if not registry_entry(name).extra.get("keeps_tokens"):
        raise ValueError(f"perturbation {name!r} adds, removes or reorders tokens: the tags of a "
                         "token_classification table would no longer line up")
    perturbation = get(name, params)
    sentences, flags, changed = [], [], []
    for tokens in table.column("tokens").to_pylist():
        context = "\x1f".join(tokens)
        new = [perturbation(token, lang, _token_seed(seed, context, k)) for k, token in enumerate(tokens)]
        for k, token in enumerate(new):
            if not token.strip() or any(ch.isspace() for ch in token):
                raise ValueError(f"{name} turned token {tokens[k]!r} into {token!r}: not one token")
        sentences.append(new)
        flags.append([a != b for a, b in zip(tokens, new)])
        changed.append(any(flags[-1]))
    out = table.set_column(table.column_names.index("tokens"), "tokens", pa.array(sentences, pa.list_(pa.string())))
    for column, values, kind in (("changed", changed, pa.bool_()), ("changed_tokens", flags, pa.list_(pa.bool_()))):
        if column in out.column_names:
            out = out.drop_columns([column])
        out = out.append_column(column, pa.array(values, kind))
    return out


def _token_seed(seed: int, context: str, position: int) -> int:
    """A seed per token from the sentence and position, so a frequent word is not perturbed the
    same way (or spared) in every sentence, and the result depends on nothing else."""
    digest = hashlib.sha256(f"{seed}|{context}|{position}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def token_changed_flags(table) -> tuple[np.ndarray, np.ndarray]:
    """(token ids, changed flags) of a perturbed tagged table, for pairing with predictions."""
    ids: list[str] = []
    flags: list[bool] = []
    for sentence, changed in zip(table.column("id").to_pylist(), table.column("changed_tokens").to_pylist()):
        ids.extend(token_id(sentence, k) for k in range(len(changed)))
        flags.extend(changed)
    return np.array(ids, dtype=object), np.array(flags, dtype=bool)


TOKEN_CLASSIFICATION = TokenClassification()
