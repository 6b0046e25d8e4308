"""Benchmark of word_attack against TextAttack's BAE transformation on the same victim, the
same English XNLI pairs, the same masked LM and the same query budget; then word_attack's
success per language on XNLI dev.

Both sides attack the hypothesis (premise fixed), rank words by deletion (BAE's and TextAttack's
`GreedyWordSwapWIR(wir_method="delete")`), try the MLM's `--candidates` best fillers of a masked
word (BAE-R), change at most `--max-words` words and stop at `--max-queries` model queries. The
victim is bench/attack.py's word-level transformer, trained here on MNLI; the MLM is a one-layer
word-level BERT trained here for a few seconds on XNLI English dev text (rows not attacked), so
neither side downloads anything. TextAttack's BAE recipe also filters by part of speech (an NLTK
tagger) and the Universal Sentence Encoder (TF Hub): both need downloads, so neither side uses a
similarity filter here; TextAttack keeps its StopwordModification (it never swaps stop words).

TextAttack (0.3.11, transformers < 5) runs in its own environment, `--textattack-python` or
$XEXP_TEXTATTACK_PYTHON, as a worker subprocess of this file; without it, our half alone is
printed. The per-language half attacks `--lang-n` XNLI dev pairs in each listed language with the
MLM given by `--mlm` (a local masked LM, e.g. a saved xlm-roberta-base); without one it is skipped.

    python bench/word_attack.py [--n 100] [--max-queries 100] [--textattack-python PATH]
                                [--mlm DIR --langs en de fr hi zh]

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import attack as shared  # noqa: E402  bench/attack.py: the victims, rows, timing and the printout

LABELS = shared.LABELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from word_mlm import train_word_mlm  # noqa: E402  (the tests' tiny MLM, shared)


# --- TextAttack side (runs in the separate environment) --------------------------------------

def textattack_worker(args) -> None:
    started = time.perf_counter()
    import textattack
    import torch
    from textattack import Attack
    from textattack.constraints.overlap import MaxWordsPerturbed
    from textattack.constraints.pre_transformation import (
        InputColumnModification, RepeatModification, StopwordModification)
    from textattack.datasets import Dataset
    from textattack.goal_functions import UntargetedClassification
    from textattack.models.wrappers import ModelWrapper
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapMaskedLM
    from transformers import BertForMaskedLM, PreTrainedTokenizerFast

    imported = time.perf_counter()
    torch.set_num_threads(shared.THREADS)
    victim = shared.MODELS[args.model](args.model_dir)
    mlm = BertForMaskedLM.from_pretrained(args.mlm_dir).eval()
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(args.mlm_dir / "tokenizer.json"), pad_token="[PAD]",
                                        unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")

    class Wrapper(ModelWrapper):
        def __init__(self, counted):
            self.model = counted

        def __call__(self, text_input_list):
            return self.model([tuple(x) for x in text_input_list])

    rows = json.loads(args.rows.read_text(encoding="utf-8"))[:args.n]
    dataset = Dataset([((r["premise"], r["hypothesis"]), LABELS.index(r["label"])) for r in rows],
                      input_columns=("premise", "hypothesis"))

    def run() -> dict:
        counted = shared.Counted(victim)
        goal = UntargetedClassification(Wrapper(counted), query_budget=args.max_queries)
        transformation = WordSwapMaskedLM(method="bae", masked_language_model=mlm, tokenizer=tokenizer,
                                          max_candidates=args.candidates, max_length=64)
        constraints = [RepeatModification(), StopwordModification(),
                       InputColumnModification(["premise", "hypothesis"], {"premise"}),
                       MaxWordsPerturbed(max_num_words=args.max_words)]
        attack = Attack(goal, constraints, transformation, GreedyWordSwapWIR(wir_method="delete"))
        return shared.textattack_measured(attack, dataset, len(rows), args.seed, counted)

    print(json.dumps({"textattack_version": getattr(textattack, "__version__", "0.3.11"),
                      "import_s": imported - started, "result": shared.median_run(run, args.repeats)}))


def run_textattack(args, model_dir: Path, mlm_dir: Path, rows: list[dict], work: Path) -> dict | str:
    python = args.textattack_python
    if not python:
        return "no TextAttack environment given (--textattack-python or $XEXP_TEXTATTACK_PYTHON)"
    check = subprocess.run([python, "-c", "import textattack"], capture_output=True, text=True,
                           env=_textattack_env(work), timeout=600)
    if check.returncode != 0:
        return f"textattack does not import in {python}: {check.stderr.strip().splitlines()[-1:]}"
    data_file = work / "rows.json"
    data_file.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    command = [python, str(Path(__file__).resolve()), "--textattack-worker", "--model", args.model,
               "--model-dir", str(model_dir), "--mlm-dir", str(mlm_dir), "--rows", str(data_file),
               "--n", str(args.n), "--seed", str(args.seed), "--repeats", str(args.repeats),
               "--max-queries", str(args.max_queries), "--max-words", str(args.max_words),
               "--candidates", str(args.candidates)]
    done = subprocess.run(command, env=_textattack_env(work), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        return f"TextAttack worker failed (exit {done.returncode}):\n" + "\n".join(done.stderr.strip().splitlines()[-6:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _textattack_env(work: Path) -> dict:
    stopwords = work / "nltk_data" / "corpora" / "stopwords"
    stopwords.mkdir(parents=True, exist_ok=True)
    (stopwords / "english").write_text("\n".join(shared.NLTK_ENGLISH_STOPWORDS) + "\n", encoding="utf-8")
    return dict(os.environ, NLTK_DATA=str(work / "nltk_data"), HF_HUB_OFFLINE="1",
                TOKENIZERS_PARALLELISM="false", TA_CACHE_DIR=str(work / "ta_cache"))


# --- our side ---------------------------------------------------------------------------------

def run_ours(victim, rows: list[dict], lang: str, mlm_dir: Path, params: dict, seed: int) -> dict:
    from xexp.runtime.robustness.attacks import run_attack, summarize
    from xexp.runtime.robustness.attacks import word

    word._mlm.cache_clear()  # each run loads its MLM, as a fresh attack node does
    counted = shared.Counted(victim)
    started = time.perf_counter()
    records = run_attack("word_attack", {"mlm": "mlm", **params}, rows, lang=lang, field="hypothesis",
                         predict_proba=counted, label_names=LABELS, seed=seed, models={"mlm": str(mlm_dir)})
    elapsed = time.perf_counter() - started
    return {**summarize(records), "attack_s": elapsed, "model_s": counted.seconds,
            "model_calls": counted.calls, "pairs_scored": counted.pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=list(shared.MODELS), default="transformer")
    parser.add_argument("--n", type=int, default=100, help="XNLI dev pairs attacked (English)")
    parser.add_argument("--max-queries", type=int, default=100)
    parser.add_argument("--max-words", type=int, default=4)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--data", type=Path, default=shared.DEFAULT_DATA)
    parser.add_argument("--textattack-python", default=os.environ.get("XEXP_TEXTATTACK_PYTHON", ""))
    parser.add_argument("--mlm", type=Path, help="a local masked LM for the per-language half")
    parser.add_argument("--langs", nargs="*", default=["en", "de", "fr", "hi", "zh"])
    parser.add_argument("--lang-n", type=int, default=100)
    parser.add_argument("--textattack-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mlm-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.textattack_worker:
        textattack_worker(args)
        return
    import torch

    torch.set_num_threads(shared.THREADS)
    xnli = args.data / "xnli" / "dev.en.jsonl"
    if not xnli.exists():
        sys.exit(f"bench/word_attack.py: {xnli} not found (pass --data)")
    with tempfile.TemporaryDirectory(prefix="xexp-word-bench-") as tmp:
        work = Path(tmp)
        rows = shared.load_rows(xnli, 0, args.n)
        text = [r[k] for r in shared.load_rows(xnli, 300, 1200) for k in ("premise", "hypothesis")]
        started = time.perf_counter()
        mlm_dir = train_word_mlm(text, work / "mlm")
        model_dir = work / args.model
        model_dir.mkdir()
        shared.TRAIN[args.model](shared.load_rows(args.data / "mnli" / "dev_matched.jsonl", 0,
                                                  shared.DEFAULT_TRAIN_ROWS[args.model]), model_dir)
        victim = shared.MODELS[args.model](model_dir)
        print(f"victim: {victim.describe()}; MLM: word-level BERT, 1 layer, width 64, trained on "
              f"{len(text)} XNLI-en sentences; both in {time.perf_counter() - started:.1f} s")
        print(f"budget: max_queries {args.max_queries}, max words {args.max_words}, {args.candidates} "
              f"candidates per word; {len(rows)} XNLI-en dev pairs, hypothesis attacked")
        print(shared.HEADER)
        params = {"max_queries": args.max_queries, "max_words": args.max_words, "candidates": args.candidates,
                  "score": "delete"}
        ours = shared.median_run(lambda: run_ours(victim, rows, "en", mlm_dir, params, args.seed), args.repeats)
        print(shared._line("xexp word_attack", ours))
        theirs = run_textattack(args, model_dir, mlm_dir, rows, work)
        if isinstance(theirs, str):
            print(f"TextAttack BAE: not run: {theirs}")
        else:
            other = theirs["result"]
            print(shared._line(f"TextAttack {theirs['textattack_version']} BAE-R transformation", other))
            verdict = ("equal or higher success" if ours["attack_success_rate"] >= other["attack_success_rate"]
                       else "LOWER success")
            print(f"  word_attack vs TextAttack BAE: {other['attack_s'] / ours['attack_s']:.1f}x faster, {verdict} "
                  f"({100 * ours['attack_success_rate']:.1f}% vs {100 * other['attack_success_rate']:.1f}%); "
                  f"TextAttack's import {theirs['import_s']:.1f} s not counted")
        if args.mlm is not None:
            print(f"\nper language: word_attack with {args.mlm}, {args.lang_n} XNLI dev pairs each, same budget")
            for lang in args.langs:
                lang_rows = shared.load_rows(args.data / "xnli" / f"dev.{lang}.jsonl", 0, args.lang_n)
                print(shared._line(f"word_attack {lang}", run_ours(victim, lang_rows, lang, args.mlm, params,
                                                                   args.seed)))


if __name__ == "__main__":
    main()
