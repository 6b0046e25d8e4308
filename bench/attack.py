"""Benchmark of the model-aware attacks: char_attack's time and TextAttack-style figures on 100
XNLI pairs, and TextAttack's own DeepWordBug recipe on the same model and pairs when TextAttack
can be run.

Two small real classifiers, both trained here on MNLI (or, for another language, on XNLI dev rows
not attacked) and saved to disk, are each attacked by both sides through the same
`predict_proba` function defined in this file:

* `ngram`: a bag of character 1-3-grams, evaluated in numpy (model time is small, so the
  figures mostly compare the attack code itself);
* `transformer`: a word-level transformer encoder in plain torch (2 layers, width 128, words
  seen twice in training form its vocabulary, so a misspelt word is an unknown word, as for the
  models DeepWordBug was written against), where the model's time is most of the cost and the
  number of pairs scored decides.

Each side is timed `--repeats` times (median reported, success figures are deterministic) and the
time spent inside the model is reported apart, so "attack s" minus "model s" is the attack's own
overhead. Last, for "equal or higher success", the bench looks for the smallest `max_queries`
at which char_attack matches each TextAttack configuration's success rate and times that too. TextAttack runs two ways: its DeepWordBug recipe as published (both fields), and the
same recipe with TextAttack's own `InputColumnModification` keeping the premise fixed, which is
the like-for-like partner of char_attack's default (hypothesis only).

TextAttack 0.3.11 pins transformers < 5 (through flair), so it cannot share the project's
environment: it runs in a separate virtual environment, given by `--textattack-python` (or
$XEXP_TEXTATTACK_PYTHON), as a subprocess of this same file in worker mode. Without it, the bench
prints our figures alone and says why. One way to make that environment (CPU torch is reused
from the project's venv through a .pth file; the pins spare pip's resolver a long backtrack):

    python3 -m venv /tmp/ta-venv
    mkdir /tmp/ta-shim && for p in torch torch-2.13.0+cpu.dist-info torchgen functorch; do
        ln -s "$VIRTUAL_ENV/lib/python3.11/site-packages/$p" /tmp/ta-shim/; done
    echo /tmp/ta-shim > /tmp/ta-venv/lib/python3.11/site-packages/torch_shim.pth
    /tmp/ta-venv/bin/pip install textattack==0.3.11 transformers==4.46.3 datasets==2.21.0 \\
        "huggingface-hub<1.0" "tokenizers<0.21" flair==0.15.0 "numpy>=2,<2.3"

TextAttack downloads NLTK's stopword list on first import, which fails offline: the worker
points NLTK_DATA at a folder holding NLTK's English stopword list (written out below), so the
recipe's StopwordModification sees the list it would have downloaded.

    python bench/attack.py [--model ngram|transformer|all] [--lang en] [--n 100] [--repeats 3]
                           [--textattack-python PATH]

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attack_victims import (  # noqa: E402  (bench/attack_victims.py: the models attacked)
    DEFAULT_TRAIN_ROWS, LABELS, MODELS, NLTK_ENGLISH_STOPWORDS, TRAIN,
)

#: torch threads on both sides (the TextAttack worker inherits the environment)
THREADS = int(os.environ.get("XEXP_BENCH_THREADS", "2"))
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class Counted:
    """A model's `predict_proba` that counts calls and pairs and times itself."""

    def __init__(self, model):
        self.model, self.calls, self.pairs, self.seconds = model, 0, 0, 0.0

    def __call__(self, pairs) -> np.ndarray:
        started = time.perf_counter()
        probs = self.model.predict_proba(pairs)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.pairs += len(pairs)
        return probs


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


def median_run(run, repeats: int) -> dict:
    """`run()` `repeats` times; its figures with the median time (they must not vary)."""
    runs = [run() for _ in range(repeats)]
    for other in runs[1:]:
        if other["attack_success_rate"] != runs[0]["attack_success_rate"]:
            raise RuntimeError("attack results differ between repeats: the bench is not deterministic")
    middle = sorted(runs, key=lambda r: r["attack_s"])[len(runs) // 2]
    return {**middle, "times": [r["attack_s"] for r in runs]}


# --- TextAttack side (runs in the separate environment) --------------------------------------

TEXTATTACK_CONFIGURATIONS = {
    "published": "DeepWordBug (both fields)",
    "hypothesis": "DeepWordBug, premise fixed",
}


def textattack_worker(model_kind: str, model_dir: Path, data_file: Path, n: int, seed: int,
                      repeats: int) -> None:
    started = time.perf_counter()
    import textattack
    from textattack import Attack
    from textattack.attack_recipes import DeepWordBugGao2018
    from textattack.constraints.pre_transformation import InputColumnModification
    from textattack.datasets import Dataset
    from textattack.models.wrappers import ModelWrapper

    imported = time.perf_counter()
    import torch

    torch.set_num_threads(THREADS)
    model = MODELS[model_kind](model_dir)

    class Wrapper(ModelWrapper):
        def __init__(self, counted):
            self.model = counted

        def __call__(self, text_input_list):
            return self.model([tuple(x) for x in text_input_list])

    rows = json.loads(data_file.read_text(encoding="utf-8"))[:n]
    dataset = Dataset([((r["premise"], r["hypothesis"]), LABELS.index(r["label"])) for r in rows],
                      input_columns=("premise", "hypothesis"))

    def build(configuration: str, wrapper) -> Attack:
        recipe = DeepWordBugGao2018.build(wrapper)  # a fresh goal function: an empty query cache
        if configuration == "published":
            return recipe
        fixed_premise = InputColumnModification(["premise", "hypothesis"], {"premise"})
        return Attack(recipe.goal_function,
                      recipe.pre_transformation_constraints + recipe.constraints + [fixed_premise],
                      recipe.transformation, recipe.search_method)

    def run(configuration: str) -> dict:
        counted = Counted(model)
        return textattack_measured(build(configuration, Wrapper(counted)), dataset, len(rows), seed, counted)

    print(json.dumps({
        "textattack_version": getattr(textattack, "__version__", "0.3.11"),
        "import_s": imported - started,
        "results": {c: median_run(lambda c=c: run(c), repeats) for c in TEXTATTACK_CONFIGURATIONS},
    }))


# --- our side ---------------------------------------------------------------------------------

def textattack_measured(attack, dataset, n: int, seed: int, counted) -> dict:
    """One TextAttack run of `attack` over `dataset`, in the figures ours prints (its own
    metrics: success rate, words perturbed, queries; wall time and the victim's share of it)."""
    from textattack import AttackArgs, Attacker
    from textattack.metrics.attack_metrics import AttackQueries, AttackSuccessRate, WordsPerturbed

    args = AttackArgs(num_examples=n, random_seed=seed, disable_stdout=True, silent=True)
    began = time.perf_counter()
    results = Attacker(attack, dataset, args).attack_dataset()
    elapsed = time.perf_counter() - began
    success = AttackSuccessRate().calculate(results)
    words = WordsPerturbed().calculate(results)
    queries = AttackQueries().calculate(results)
    return {
        "total": len(results),
        "original_accuracy": success["original_accuracy"] / 100,
        "accuracy_under_attack": success["attack_accuracy_perc"] / 100,
        "attack_success_rate": success["attack_success_rate"] / 100,
        "avg_words_perturbed_pct": words["avg_word_perturbed_perc"],
        "avg_queries": queries["avg_num_queries"],
        "attack_s": elapsed, "model_s": counted.seconds,
        "model_calls": counted.calls, "pairs_scored": counted.pairs,
    }


def run_ours(model, rows: list[dict], lang: str, field: str, params: dict, seed: int) -> dict:
    from xexp.runtime.robustness.attacks import run_attack, summarize
    from xexp.runtime.robustness.perturbations.text import _tokenize

    _tokenize.cache_clear()  # each run pays for its own word segmentation, as the first one did
    counted = Counted(model)
    started = time.perf_counter()
    records = run_attack("char_attack", params, rows, lang=lang, field=field, predict_proba=counted,
                         label_names=LABELS, seed=seed)
    elapsed = time.perf_counter() - started
    return {**summarize(records), "attack_s": elapsed, "model_s": counted.seconds,
            "model_calls": counted.calls, "pairs_scored": counted.pairs}


HEADER = (f"{'attack':<46} {'orig%':>5} {'adv%':>5} {'succ%':>5} {'words%':>6} {'queries':>7} "
          f"{'pairs':>6} {'calls':>5} {'attack s':>8} {'model s':>7}")


def _line(name: str, s: dict) -> str:
    def pct(value):
        return "  n/a" if value is None else f"{100 * value:5.1f}"
    words = "   n/a" if s["avg_words_perturbed_pct"] is None else f"{s['avg_words_perturbed_pct']:6.1f}"
    queries = "    n/a" if s["avg_queries"] is None else f"{s['avg_queries']:7.1f}"
    return (f"{name:<46} {pct(s['original_accuracy'])} {pct(s['accuracy_under_attack'])} "
            f"{pct(s['attack_success_rate'])} {words} {queries} {s['pairs_scored']:6d} "
            f"{s['model_calls']:5d} {s['attack_s']:8.2f} {s['model_s']:7.2f}")


def run_textattack(python: str, model_kind: str, model_dir: Path, rows: list[dict], n: int, seed: int,
                   repeats: int, work: Path) -> dict | str:
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
    command = [python, str(Path(__file__).resolve()), "--textattack-worker", "--model", model_kind,
               "--model-dir", str(model_dir), "--rows", str(data_file), "--n", str(n),
               "--seed", str(seed), "--repeats", str(repeats)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        return f"TextAttack worker failed (exit {done.returncode}):\n{tail}"
    return json.loads(done.stdout.strip().splitlines()[-1])


#: our configurations: (name, field, params, the TextAttack configuration it is compared with)
OUR_CONFIGURATIONS = [
    ("xexp char_attack, defaults (hypothesis)", "hypothesis", {}, "hypothesis"),
    ("xexp char_attack, both fields", "both", {}, "published"),
    ("xexp char_attack, both, TextAttack's budget", "both", {"max_edits": 30, "max_queries": 1_000_000},
     "published"),
]


def bench_model(kind: str, args, work: Path) -> None:
    xnli = args.data / "xnli" / f"dev.{args.lang}.jsonl"
    # attacked: XNLI dev rows 0..n-1; training: MNLI for English, later XNLI dev rows otherwise
    count = args.train or DEFAULT_TRAIN_ROWS[kind]
    train_rows = (load_rows(args.data / "mnli" / "dev_matched.jsonl", 0, count) if args.lang == "en"
                  else load_rows(xnli, 500, count))
    rows = load_rows(xnli, 0, args.n)
    folder = work / kind
    folder.mkdir()
    started = time.perf_counter()
    TRAIN[kind](train_rows, folder)
    model = MODELS[kind](folder)
    print(f"\nmodel: {model.describe()}; trained on {len(train_rows)} pairs in "
          f"{time.perf_counter() - started:.1f} s; attacking {len(rows)} XNLI dev pairs ({args.lang}); "
          f"median of {args.repeats} runs")
    print(HEADER)
    ours = {}
    for name, field, params, _ in OUR_CONFIGURATIONS:
        ours[name] = median_run(lambda: run_ours(model, rows, args.lang, field, params, args.seed), args.repeats)
        print(_line(name, ours[name]))
    theirs = run_textattack(args.textattack_python, kind, folder, rows, args.n, args.seed, args.repeats, work)
    if isinstance(theirs, str):
        print(f"TextAttack DeepWordBug: not run: {theirs}")
        return
    version = theirs["textattack_version"]
    for configuration, label in TEXTATTACK_CONFIGURATIONS.items():
        print(_line(f"TextAttack {version} {label}", theirs["results"][configuration]))
    print(f"(TextAttack's import: {theirs['import_s']:.1f} s, not counted)")
    for name, _, _, partner in OUR_CONFIGURATIONS:
        print("  " + _comparison(name, ours[name], partner, theirs["results"][partner]))
    # equal success: the smallest query budget at which char_attack (TextAttack's word budget)
    # matches the TextAttack configuration's success rate
    print("equal success: char_attack's smallest max_queries (max_edits 30) reaching TextAttack's success rate")
    for field, partner in (("hypothesis", "hypothesis"), ("both", "published")):
        target = theirs["results"][partner]["attack_success_rate"]
        for budget in EQUAL_SUCCESS_BUDGETS:
            params = {"max_edits": 30, "max_queries": budget}
            if run_ours(model, rows, args.lang, field, params, args.seed)["attack_success_rate"] >= target:
                break
        name = f"xexp char_attack, {field}, max_queries={budget}"
        mine = median_run(lambda: run_ours(model, rows, args.lang, field, params, args.seed), args.repeats)
        print(_line(name, mine))
        print("  " + _comparison(name, mine, partner, theirs["results"][partner]))


#: query budgets tried, cheapest first, when looking for the budget that matches TextAttack
EQUAL_SUCCESS_BUDGETS = (4, 6, 8, 10, 12, 14, 16, 20, 25, 30, 40, 60, 100, 200, 1_000_000)


def _comparison(name: str, mine: dict, partner: str, other: dict) -> str:
    verdict = ("equal or higher success" if mine["attack_success_rate"] >= other["attack_success_rate"]
               else "LOWER success")
    return (f"{name} vs TextAttack {TEXTATTACK_CONFIGURATIONS[partner]}: "
            f"{other['attack_s'] / mine['attack_s']:.1f}x faster, {verdict} "
            f"({100 * mine['attack_success_rate']:.1f}% vs {100 * other['attack_success_rate']:.1f}%), "
            f"{other['pairs_scored'] / max(mine['pairs_scored'], 1):.2f}x fewer pairs scored")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=[*MODELS, "all"], default="all")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--n", type=int, default=100, help="XNLI dev pairs attacked")
    parser.add_argument("--train", type=int, default=0, help="training pairs for the model (0: per model)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--textattack-python", default=os.environ.get("XEXP_TEXTATTACK_PYTHON", ""))
    parser.add_argument("--textattack-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.textattack_worker:
        textattack_worker(args.model, args.model_dir, args.rows, args.n, args.seed, args.repeats)
        return
    xnli = args.data / "xnli" / f"dev.{args.lang}.jsonl"
    if not xnli.exists():
        sys.exit(f"bench/attack.py: {xnli} not found (pass --data)")
    import torch

    torch.set_num_threads(THREADS)
    with tempfile.TemporaryDirectory(prefix="xexp-attack-bench-") as tmp:
        for kind in (MODELS if args.model == "all" else [args.model]):
            bench_model(kind, args, Path(tmp))
    print("\norig% = original accuracy, adv% = accuracy under attack, succ% = attack success rate, "
          "words% = mean share of words perturbed over successful attacks, queries = mean model "
          "queries per attacked example (TextAttack's definitions); pairs = pairs the model scored, "
          "calls = calls to predict_proba; attack s = wall time of the attack, model s = the part "
          "spent inside predict_proba")


if __name__ == "__main__":
    main()
