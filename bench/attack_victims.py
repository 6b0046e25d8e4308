"""The two victims bench/attack.py and bench/word_attack.py attack, ours and TextAttack alike:
a character n-gram model (`ngram`) and a word-level transformer in plain torch (`transformer`),
trained here on XNLI-en pairs; their inference is importable from either environment (the
project's venv and TextAttack's)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

LABELS = ("entailment", "neutral", "contradiction")

#: NLTK's English stopword list (nltk_data corpora/stopwords/english, 179 words), needed only
#: because TextAttack builds a StopwordModification from it at import time.
NLTK_ENGLISH_STOPWORDS = """i me my myself we our ours ourselves you you're you've you'll you'd
your yours yourself yourselves he him his himself she she's her hers herself it it's its itself
they them their theirs themselves what which who whom this that that'll these those am is are
was were be been being have has had having do does did doing a an the and but if or because as
until while of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why how
all any both each few more most other some such no nor not only own same so than too very s t can
will just don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn
didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn
mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn
wouldn't""".split()


# --- the shared models: inference importable from either environment ---------------------

def ngrams(text: str, prefix: str) -> list[str]:
    padded = f" {text.lower()} "
    return [prefix + padded[i:i + n] for n in (1, 2, 3) for i in range(len(padded) - n + 1)]


class NgramModel:
    """Mean of premise/hypothesis n-gram embeddings -> [p*h, h] -> linear -> softmax."""

    def __init__(self, folder: Path):
        weights = np.load(folder / "weights.npz")
        self.embedding, self.weight, self.bias = weights["embedding"], weights["weight"], weights["bias"]
        self.vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))

    def describe(self) -> str:
        return f"char 1-3-gram bag, {len(self.vocab)} n-grams"

    def _pool(self, text: str, prefix: str) -> np.ndarray:
        ids = [i for i in (self.vocab.get(g, 0) for g in ngrams(text, prefix)) if i]
        return self.embedding[ids].mean(axis=0) if ids else np.zeros(self.embedding.shape[1])

    def predict_proba(self, pairs) -> np.ndarray:
        p = np.stack([self._pool(a, "p") for a, _ in pairs])
        h = np.stack([self._pool(b, "h") for _, b in pairs])
        logits = np.concatenate([p * h, h], axis=1) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


#: word-level transformer: ids 0-3 are padding, unknown word, classification and separator
PAD, UNK, CLS, SEP = 0, 1, 2, 3
WORD = re.compile(r"\w+|[^\w\s]")


def word_tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def encode_pair(premise: str, hypothesis: str, vocab: dict[str, int], max_len: int) -> tuple[list[int], list[int]]:
    """[CLS] premise [SEP] hypothesis [SEP] as word ids (unknown words: UNK) and segment ids;
    the premise is cut first when the pair is too long."""
    p = [vocab.get(w, UNK) for w in word_tokens(premise)]
    h = [vocab.get(w, UNK) for w in word_tokens(hypothesis)]
    room = max_len - 3
    h = h[: max(room // 2, room - len(p))]
    p = p[: room - len(h)]
    return [CLS, *p, SEP, *h, SEP], [0] * (len(p) + 2) + [1] * (len(h) + 1)


def word_network(vocab_size: int, dim: int, layers: int, heads: int, max_len: int):
    """The transformer encoder classifier (pre-norm layers, first-position readout)."""
    import torch

    class WordNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = torch.nn.Embedding(vocab_size, dim, padding_idx=PAD)
            self.positions = torch.nn.Embedding(max_len, dim)
            self.segments = torch.nn.Embedding(2, dim)
            layer = torch.nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.1,
                                                     batch_first=True, norm_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = torch.nn.LayerNorm(dim)
            self.head = torch.nn.Linear(dim, len(LABELS))

        def forward(self, ids, segments):
            positions = torch.arange(ids.shape[1], device=ids.device)
            x = self.tokens(ids) + self.positions(positions)[None] + self.segments(segments)
            x = self.encoder(x, src_key_padding_mask=ids.eq(PAD))
            return self.head(self.norm(x[:, 0]))

    return WordNet()


def word_batch(pairs, vocab: dict[str, int], max_len: int):
    import torch

    encoded = [encode_pair(a, b, vocab, max_len) for a, b in pairs]
    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), PAD, dtype=torch.long)
    segments = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (token_ids, segment_ids) in enumerate(encoded):
        ids[row, : len(token_ids)] = torch.tensor(token_ids)
        segments[row, : len(segment_ids)] = torch.tensor(segment_ids)
    return ids, segments


class WordTransformer:
    """The saved word transformer. A misspelt word is an unknown word to it, as to the word-level
    models DeepWordBug was written against. `predict_proba` sorts pairs by length and runs
    chunks of `CHUNK`, so whoever calls it, with whatever batch size, gets the same policy."""

    CHUNK = 64

    def __init__(self, folder: Path):
        import torch

        self.config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        self.net = word_network(**self.config)
        self.net.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
        self.net.eval()

    def describe(self) -> str:
        c = self.config
        size = sum(p.numel() for p in self.net.parameters())
        return (f"word-level transformer, {c['layers']} layers, width {c['dim']}, {c['heads']} heads, "
                f"{c['vocab_size']} words, {size / 1e6:.2f} M parameters")

    def predict_proba(self, pairs) -> np.ndarray:
        import torch

        pairs = list(pairs)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = np.empty((len(pairs), len(LABELS)))
        with torch.inference_mode():
            for start in range(0, len(order), self.CHUNK):
                chunk = order[start:start + self.CHUNK]
                ids, segments = word_batch([pairs[i] for i in chunk], self.vocab, self.config["max_len"])
                out[chunk] = torch.softmax(self.net(ids, segments), dim=-1).double().numpy()
        return out


MODELS = {"ngram": NgramModel, "transformer": WordTransformer}


def train_ngram(rows: list[dict], folder: Path, epochs: int = 10, dim: int = 32) -> None:
    """Train the n-gram model with torch and save it for `NgramModel`."""
    import torch

    torch.manual_seed(0)
    vocab: dict[str, int] = {}
    for row in rows:
        for gram in ngrams(row["premise"], "p") + ngrams(row["hypothesis"], "h"):
            vocab.setdefault(gram, len(vocab) + 1)
    bag = torch.nn.EmbeddingBag(len(vocab) + 1, dim, mode="mean", padding_idx=0)
    out = torch.nn.Linear(2 * dim, len(LABELS))
    encode = lambda text, prefix: torch.tensor([vocab[g] for g in ngrams(text, prefix)] or [0])  # noqa: E731
    premises = [encode(r["premise"], "p") for r in rows]
    hypotheses = [encode(r["hypothesis"], "h") for r in rows]
    gold = torch.tensor([LABELS.index(r["label"]) for r in rows])
    optimizer = torch.optim.Adam([*bag.parameters(), *out.parameters()], lr=1e-2)

    def pooled(bags):
        offsets = torch.tensor([0] + [len(b) for b in bags[:-1]]).cumsum(0)
        return bag(torch.cat(bags), offsets)

    for _ in range(epochs):
        for batch in torch.randperm(len(rows)).split(64):
            index = batch.tolist()
            p, h = pooled([premises[i] for i in index]), pooled([hypotheses[i] for i in index])
            loss = torch.nn.functional.cross_entropy(out(torch.cat([p * h, h], 1)), gold[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    np.savez(folder / "weights.npz", embedding=bag.weight.detach().numpy(),
             weight=out.weight.detach().numpy(), bias=out.bias.detach().numpy())
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")


def train_transformer(rows: list[dict], folder: Path, epochs: int = 4, batch: int = 32,
                      lr: float = 5e-4) -> None:
    """Train the word transformer (AdamW, linear decay) and save it for `WordTransformer`."""
    import torch

    torch.manual_seed(0)
    counts: dict[str, int] = {}
    for row in rows:
        for word in word_tokens(row["premise"]) + word_tokens(row["hypothesis"]):
            counts[word] = counts.get(word, 0) + 1
    vocab = {word: SEP + 1 + i for i, word in enumerate(sorted(w for w, c in counts.items() if c >= 2))}
    config = {"vocab_size": SEP + 1 + len(vocab), "dim": 128, "layers": 2, "heads": 4, "max_len": 128}
    net = word_network(**config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * -(-len(rows) // batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    gold = torch.tensor([LABELS.index(r["label"]) for r in rows])
    net.train()
    for _ in range(epochs):
        for index in torch.randperm(len(rows)).split(batch):
            pairs = [(rows[i]["premise"], rows[i]["hypothesis"]) for i in index.tolist()]
            ids, segments = word_batch(pairs, vocab, config["max_len"])
            loss = torch.nn.functional.cross_entropy(net(ids, segments), gold[index])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    torch.save(net.state_dict(), folder / "model.pt")
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")


TRAIN = {"ngram": train_ngram, "transformer": train_transformer}
DEFAULT_TRAIN_ROWS = {"ngram": 2000, "transformer": 8000}
