"""Benchmark of the model-aware attacks: char_attack's time and TextAttack-style figures on 100
XNLI pairs, and TextAttack's own DeepWordBug recipe on the same model and pairs when TextAttack
can be run.

The model is a small real classifier both sides can call: a bag of character n-grams trained
here with torch on MNLI (or, for another language, on XNLI dev rows not attacked), saved to disk
and evaluated by the numpy code below, which has no xexp dependency. TextAttack 0.3.11 pins
transformers < 5 (through flair), so it cannot share the project's environment: it runs in a
separate virtual environment, given by `--textattack-python` (or $XEXP_TEXTATTACK_PYTHON), as a
subprocess of this same file in worker mode. Without it, the bench prints our figures alone and
says why. One way to make that environment (CPU torch is reused from the project's venv through
a .pth file; the pins spare pip's resolver a long backtrack):

    python3 -m venv /tmp/ta-venv
    mkdir /tmp/ta-shim && for p in torch torch-2.13.0+cpu.dist-info torchgen functorch; do
        ln -s "$VIRTUAL_ENV/lib/python3.11/site-packages/$p" /tmp/ta-shim/; done
    echo /tmp/ta-shim > /tmp/ta-venv/lib/python3.11/site-packages/torch_shim.pth
    /tmp/ta-venv/bin/pip install textattack==0.3.11 transformers==4.46.3 datasets==2.21.0 \\
        "huggingface-hub<1.0" "tokenizers<0.21" flair==0.15.0 "numpy>=2,<2.3"

TextAttack downloads NLTK's stopword list on first import, which fails offline: the worker
points NLTK_DATA at a folder holding NLTK's English stopword list (written out below), so the
recipe's StopwordModification sees the list it would have downloaded.

    python bench/attack.py [--lang en] [--n 100] [--textattack-python PATH]

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LABELS = ("entailment", "neutral", "contradiction")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

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


# --- the shared model: numpy inference only, importable from either environment -------------

def ngrams(text: str, prefix: str) -> list[str]:
    padded = f" {text.lower()} "
    return [prefix + padded[i:i + n] for n in (1, 2, 3) for i in range(len(padded) - n + 1)]


class NgramModel:
    """Mean of premise/hypothesis n-gram embeddings -> [p*h, h] -> linear -> softmax."""

    def __init__(self, folder: Path):
        weights = np.load(folder / "weights.npz")
        self.embedding, self.weight, self.bias = weights["embedding"], weights["weight"], weights["bias"]
        self.vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))

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


def load_rows(path: Path, start: int, count: int) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number >= start + count:
                break
            if number >= start:
                row = json.loads(line)
                rows.append({"id": str(number), "premise": row["premise"],
                             "hypothesis": row["hypothesis"], "label": row["label"]})
    return rows


# --- TextAttack side (runs in the separate environment) --------------------------------------

def textattack_worker(model_dir: Path, data_file: Path, n: int, seed: int) -> None:
    started = time.perf_counter()
    import textattack
    from textattack import AttackArgs, Attacker
    from textattack.attack_recipes import DeepWordBugGao2018
    from textattack.datasets import Dataset
    from textattack.metrics.attack_metrics import AttackQueries, AttackSuccessRate, WordsPerturbed
    from textattack.models.wrappers import ModelWrapper

    imported = time.perf_counter()
    model = NgramModel(model_dir)

    calls: list[int] = []

    class Wrapper(ModelWrapper):
        def __init__(self, inner):
            self.model = inner

        def __call__(self, text_input_list):
            calls.append(len(text_input_list))
            return self.model.predict_proba([tuple(x) for x in text_input_list])

    rows = json.loads(data_file.read_text(encoding="utf-8"))[:n]
    dataset = Dataset([((r["premise"], r["hypothesis"]), LABELS.index(r["label"])) for r in rows],
                      input_columns=("premise", "hypothesis"))
    attack = DeepWordBugGao2018.build(Wrapper(model))
    args = AttackArgs(num_examples=len(rows), random_seed=seed, disable_stdout=True, silent=True)
    results = Attacker(attack, dataset, args).attack_dataset()
    finished = time.perf_counter()
    success = AttackSuccessRate().calculate(results)
    words = WordsPerturbed().calculate(results)
    queries = AttackQueries().calculate(results)
    print(json.dumps({
        "textattack_version": getattr(textattack, "__version__", "0.3.11"),
        "import_s": imported - started, "attack_s": finished - imported,
        "total": len(results),
        "original_accuracy": success["original_accuracy"] / 100,
        "accuracy_under_attack": success["attack_accuracy_perc"] / 100,
        "attack_success_rate": success["attack_success_rate"] / 100,
        "avg_words_perturbed_pct": words["avg_word_perturbed_perc"],
        "avg_queries": queries["avg_num_queries"],
        "model_calls": len(calls), "pairs_scored": sum(calls),
    }))


# --- our side ---------------------------------------------------------------------------------

def train_and_save(rows: list[dict], folder: Path, epochs: int = 10, dim: int = 32) -> None:
    """Train the n-gram model with torch and save it for `NgramModel`."""
    import torch

    torch.set_num_threads(1)  # tiny ops; threads only add contention on a shared machine
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


def run_ours(model: NgramModel, rows: list[dict], lang: str, field: str, params: dict, seed: int) -> dict:
    from xexp.runtime.attacks import run_attack, summarize

    calls: list[int] = []

    def predict(pairs):
        calls.append(len(pairs))
        return model.predict_proba(pairs)

    started = time.perf_counter()
    records = run_attack("char_attack", params, rows, lang=lang, field=field, predict_proba=predict,
                         label_names=LABELS, seed=seed)
    elapsed = time.perf_counter() - started
    return {**summarize(records), "attack_s": elapsed, "model_calls": len(calls),
            "pairs_scored": sum(calls)}


def _line(name: str, s: dict) -> str:
    def pct(value):
        return "  n/a" if value is None else f"{100 * value:5.1f}"
    words = "  n/a" if s["avg_words_perturbed_pct"] is None else f"{s['avg_words_perturbed_pct']:5.1f}"
    queries = "  n/a" if s["avg_queries"] is None else f"{s['avg_queries']:6.1f}"
    return (f"{name:<44} {pct(s['original_accuracy'])} {pct(s['accuracy_under_attack'])} "
            f"{pct(s['attack_success_rate'])} {words} {queries} {s['attack_s']:8.2f}")


def run_textattack(python: str, model_dir: Path, rows: list[dict], n: int, seed: int, work: Path) -> dict | str:
    """TextAttack's figures, or the reason there are none."""
    if not python:
        return "no TextAttack environment given (--textattack-python or $XEXP_TEXTATTACK_PYTHON)"
    if not Path(python).exists():
        return f"TextAttack python {python} does not exist"
    nltk_dir = work / "nltk_data" / "corpora" / "stopwords"
    nltk_dir.mkdir(parents=True, exist_ok=True)
    (nltk_dir / "english").write_text("\n".join(NLTK_ENGLISH_STOPWORDS) + "\n", encoding="utf-8")
    data_file = work / "rows.json"
    data_file.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, NLTK_DATA=str(work / "nltk_data"), HF_HUB_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", TA_CACHE_DIR=str(work / "ta_cache"))
    command = [python, str(Path(__file__).resolve()), "--textattack-worker", "--model-dir",
               str(model_dir), "--rows", str(data_file), "--n", str(n), "--seed", str(seed)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        return f"TextAttack worker failed (exit {done.returncode}):\n{tail}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="en")
    parser.add_argument("--n", type=int, default=100, help="XNLI dev pairs attacked")
    parser.add_argument("--train", type=int, default=2000, help="training pairs for the model")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--textattack-python", default=os.environ.get("XEXP_TEXTATTACK_PYTHON", ""))
    parser.add_argument("--textattack-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.textattack_worker:
        textattack_worker(args.model_dir, args.rows, args.n, args.seed)
        return

    xnli = args.data / "xnli" / f"dev.{args.lang}.jsonl"
    if not xnli.exists():
        sys.exit(f"bench/attack.py: {xnli} not found (pass --data)")
    # attacked: XNLI dev rows 0..n-1; training: MNLI for English, later XNLI dev rows otherwise
    train_rows = (load_rows(args.data / "mnli" / "dev_matched.jsonl", 0, args.train) if args.lang == "en"
                  else load_rows(xnli, 500, args.train))
    rows = load_rows(xnli, 0, args.n)
    with tempfile.TemporaryDirectory(prefix="xexp-attack-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        train_and_save(train_rows, work)
        model = NgramModel(work)
        print(f"model: char 1-3-gram bag, {len(model.vocab)} n-grams, trained on {len(train_rows)} "
              f"pairs in {time.perf_counter() - started:.1f} s; attacking {len(rows)} XNLI dev "
              f"pairs ({args.lang})")
        print(f"{'attack':<44} {'orig%':>5} {'adv%':>5} {'succ%':>5} {'words%':>5} {'queries':>6} {'time s':>8}")
        configurations = [
            ("xexp char_attack, defaults (hypothesis)", "hypothesis", {}),
            ("xexp char_attack, both fields", "both", {}),
            ("xexp char_attack, both, ~unbounded budget", "both", {"max_edits": 30, "max_queries": 100_000}),
        ]
        for name, field, params in configurations:
            ours = run_ours(model, rows, args.lang, field, params, args.seed)
            print(_line(name, ours) + f"   ({ours['model_calls']} model calls, "
                  f"{ours['pairs_scored']} pairs)")
        theirs = run_textattack(args.textattack_python, work, rows, args.n, args.seed, work)
        if isinstance(theirs, str):
            print(f"TextAttack DeepWordBug: not run: {theirs}")
        else:
            print(_line(f"TextAttack {theirs['textattack_version']} DeepWordBug (both fields)", theirs)
                  + f"   ({theirs['model_calls']} model calls, {theirs['pairs_scored']} pairs; "
                  f"+{theirs['import_s']:.1f} s import)")
    print("orig% = original accuracy, adv% = accuracy under attack, succ% = attack success rate, "
          "words% = mean share of words perturbed over successful attacks, queries = mean model "
          "queries per attacked example (TextAttack's definitions)")


if __name__ == "__main__":
    main()
