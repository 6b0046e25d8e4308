"""Cross-lingual retrieval (Tatoeba, BUCC): sentence vectors from a hidden layer, nearest
neighbour by cosine, and per-query correctness so the report's paired statistics apply.

Nothing is trained: the model is the encoder as the variant left it. Each sentence is encoded
on its own; its vector pools one hidden layer (mean over its tokens by default, as XTREME's
`pool_type=mean`). The query side is the non-English sentence, the side a perturbation changes.

* `metric="accuracy"` (Tatoeba): a query is right when its nearest English sentence is its
  translation.
* `metric="f1"` (BUCC): XTREME's mining (its utils_retrieve.py, from LASER): every pair scores
  by the ratio margin cos(x, y) / mean(the mean similarity of x to its k nearest English
  sentences, that of y to its k nearest queries), k = 4; each query's best-scoring pair among its
  k nearest, and each English sentence's, are pooled, best first, each sentence kept in at most
  one pair; the threshold is the one that maximises F1 against the gold pairs (the midpoint
  between the last kept pair's score and the next). A query is right when what it mined (or
  that it mined nothing) agrees with the gold, so precision, recall and F1 follow from the
  predictions table alone (`bucc_scores`).
"""

from __future__ import annotations

import numpy as np

from xexp.compiler.registry.sources import RETRIEVAL_DEPTH, RETRIEVAL_LAYER
from xexp.errors import DataError, SpecValueError
from xexp.runtime.learning.tasks.base import Features, Task, pad_sequences, tokenizer_fields

#: Neighbours of the margin's mean similarity (XTREME's mine_bitext `neighborhood`).
MARGIN_NEIGHBOURS = 4


def default_layer(depth: int) -> int:
    """XTREME's layer 14 of 24 at the same relative depth: round(14 * depth / 24), at least 1."""
    return min(depth, max(1, round(RETRIEVAL_LAYER * depth / RETRIEVAL_DEPTH)))


class Retrieval(Task):
    name = "retrieval"
    auto_class_name = "AutoModel"  # the encoder alone: whatever head a training left is unused

    def __init__(self, pooling: str = "mean", layer: int | None = None, metric: str = "accuracy") -> None:
        self.pooling, self.layer, self.metric_kind = pooling, layer, metric

    @property
    def metric_name(self) -> str:
        return "f1" if self.metric_kind == "f1" else "accuracy"

    def configured(self, params: dict) -> "Retrieval":
        return Retrieval(params.get("pooling", "mean"), params.get("layer"), params.get("metric", "accuracy"))

    def inference_kwargs(self) -> dict:
        return {"output_hidden_states": True}

    def check_model(self, config) -> None:
        depth = int(getattr(config, "num_hidden_layers", 0))
        if self.layer is not None and self.layer > depth:
            raise SpecValueError(f"retrieval layer={self.layer}, but the encoder has {depth} layers")

    def featurize(self, table, tokenizer, max_len: int, *, training: bool, **options) -> Features:
        """One feature per non-empty query, then one per non-empty English sentence."""
        queries, candidates = _sides(table)
        texts = [q for q in table.column("query").to_pylist() if q] + \
                [c for c in table.column("candidate").to_pylist() if c]
        assert len(texts) == len(queries) + len(candidates)
        encoding = tokenizer(texts, truncation=True, max_length=max_len)
        return Features.of([tokenizer_fields(encoding, i) for i in range(len(texts))])

    def collate(self, items: list[dict], pad_id: int) -> dict:
        return pad_sequences(items, pad_id)

    def split_outputs(self, outputs, batch: dict) -> list[np.ndarray]:
        states = outputs.hidden_states  # embeddings, then one per layer
        layer = self.layer if self.layer is not None else default_layer(len(states) - 1)
        hidden = states[layer].float()
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"].to(hidden.device).unsqueeze(-1).float()
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return list(pooled.cpu().numpy())

    def decode(self, table, features: Features, outputs: list[np.ndarray], config):
        import pyarrow as pa

        queries, candidates = _sides(table)
        vectors = _unit(np.stack(outputs).astype(np.float64)) if outputs else np.zeros((0, 1))
        x, y = vectors[:len(queries)], vectors[len(queries):]
        ids = np.array(table.column("id").to_pylist(), dtype=object)
        pool = ids[candidates]
        if len(pool) == 0:
            raise DataError("the retrieval set", "it needs at least one English sentence to retrieve")
        gold = [str(ids[i]) if i in set(candidates) else "" for i in queries]
        if self.metric_kind == "f1":
            match, score = mine(x, y)
            mined = match >= 0
            right = np.array([m >= 0 and str(pool[m]) == g for m, g in zip(match, gold)], dtype=bool)
            threshold = f1_threshold(score[mined], right[mined], sum(1 for g in gold if g))
            match = np.where(mined & (score >= threshold), match, -1)
            predicted = [str(pool[j]) if j >= 0 else "" for j in match]
        else:
            similarity = x @ y.T
            best = similarity.argmax(axis=1) if len(queries) else np.zeros(0, dtype=int)
            predicted = [str(pool[j]) for j in best]
            score = similarity[np.arange(len(queries)), best] if len(queries) else np.zeros(0)
        return pa.table({
            "id": pa.array([str(ids[i]) for i in queries], pa.string()),
            "gold": pa.array(gold, pa.string()),
            "predicted": pa.array(predicted, pa.string()),
            "correct": pa.array([g == p for g, p in zip(gold, predicted)], pa.bool_()),
            "probs": pa.array([[float(s)] for s in score], pa.list_(pa.float64())),
        })

    def summary(self, predictions) -> dict:
        return bucc_scores(predictions) if self.metric_kind == "f1" else {}

    def metric(self, predictions) -> float:
        return bucc_scores(predictions)["f1"] if self.metric_kind == "f1" else super().metric(predictions)


def _sides(table) -> tuple[list[int], list[int]]:
    """Row indices of the non-empty queries and of the non-empty English sentences."""
    queries = [i for i, q in enumerate(table.column("query").to_pylist()) if q]
    candidates = [i for i, c in enumerate(table.column("candidate").to_pylist()) if c]
    return queries, candidates


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _top_mean(similarity: np.ndarray, k: int) -> np.ndarray:
    """Per row, the mean of its k largest similarities (all of them when fewer)."""
    k = min(k, similarity.shape[1])
    return np.sort(similarity, axis=1)[:, -k:].mean(axis=1) if k else np.zeros(similarity.shape[0])


def mine(x: np.ndarray, y: np.ndarray, k: int = MARGIN_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """BUCC mining of unit vectors `x` (queries) against `y` (English), before any threshold:
    per query, the index of the English sentence the greedy pooling pairs it with (-1: none)
    and the pair's margin score. `f1_threshold` then cuts the pairs with the gold."""
    if len(x) == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    similarity = x @ y.T
    forward_mean, backward_mean = _top_mean(similarity, k), _top_mean(similarity.T, k)
    margin = similarity / ((forward_mean[:, None] + backward_mean[None, :]) / 2)
    kx, ky = min(k, len(y)), min(k, len(x))
    near_y = np.argsort(-similarity, axis=1)[:, :kx]          # each query's k nearest English
    near_x = np.argsort(-similarity.T, axis=1)[:, :ky]        # each English sentence's k nearest queries
    rows = np.arange(len(x))
    fwd = near_y[rows, margin[rows[:, None], near_y].argmax(axis=1)]
    cols = np.arange(len(y))
    bwd = near_x[cols, margin.T[cols[:, None], near_x].argmax(axis=1)]
    pairs = [(int(i), int(fwd[i])) for i in rows] + [(int(bwd[j]), int(j)) for j in cols]
    scores = np.array([margin[i, j] for i, j in pairs])
    match, score = np.full(len(x), -1), np.zeros(len(x))
    taken: set[int] = set()
    for p in np.argsort(-scores, kind="stable"):
        i, j = pairs[p]
        if match[i] < 0 and j not in taken:
            match[i], score[i] = j, scores[p]
            taken.add(j)
    return match, score


def f1_threshold(scores: np.ndarray, right: np.ndarray, n_gold: int) -> float:
    """XTREME's rule (bucc_optimize): rank the mined pairs by score, find the prefix with the
    best F1 against the gold (the first, on ties), and cut halfway between its last score and
    the next one (its last score when it is every pair). With no right pair at all, every pair
    is kept (threshold 0), as there."""
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(right[order])
    if len(ranked) == 0 or hits[-1] == 0 or n_gold == 0:
        return 0.0
    extracted = np.arange(1, len(ranked) + 1)
    f1 = 2 * hits / (extracted + n_gold)  # 2PR/(P+R) with P = hits/extracted, R = hits/n_gold
    m = int(np.argmax(f1))  # argmax keeps the first of equal F1s, as the strict `>` there
    return float((ranked[m] + ranked[m + 1]) / 2) if m + 1 < len(ranked) else float(ranked[m])


def bucc_scores(predictions) -> dict:
    """Precision, recall and F1 of the mined pairs (in [0, 1]), from a predictions table: a
    gold pair is a row with a gold id, a mined pair a row with a predicted id."""
    gold = predictions.column("gold").to_pylist()
    predicted = predictions.column("predicted").to_pylist()
    n_gold, n_mined = sum(1 for g in gold if g), sum(1 for p in predicted if p)
    hits = sum(1 for g, p in zip(gold, predicted) if g and g == p)
    precision = hits / n_mined if n_mined else 0.0
    recall = hits / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


#: The task as a spec names it before its parameters (`Task.configured` gives the others).
RETRIEVAL = Retrieval()
