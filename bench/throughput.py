"""Throughput of our training and evaluation against Hugging Face `Trainer` on the same model
and data (512 MNLI pairs by default). Figures are printed, not asserted.

    python bench/throughput.py [--model packaged|tiny] [--pairs 512] [--threads 1] [--repeats 1]
                               [--device auto|cpu|cuda] [--data PATH|synthetic]

Targets: evaluation >= 1.5x `Trainer.predict`, training >= 1.0x `Trainer.train`. Both sides are
timed end to end: loading the model and tokenizer, tokenizing, the forward (and backward)
passes, and for training writing the final model. The same hyperparameters go to both (batch
32, lr 2e-5 with 10% warmup and linear decay, weight decay 0.01, clipping 1.0, max_len 128,
one epoch, no dev evaluation; for the packaged model the 250k x 384 word-embedding matrix is
frozen on both sides, as on CPU in practice). Each measurement is the best of `--repeats` runs
after a short warm-up on 64 pairs. Needs `accelerate` (Trainer's dependency; not one of xexp's).

On CUDA both sides run bf16 autocast with fp32 weights (Trainer's `bf16=True`); our evaluation
picks its batch from free memory (runtime/learning/device.py) while Trainer keeps batch 64, as a user
would leave it. bench/device_check.py calls `measure` for its summary (no `datasets` needed:
Trainer gets plain lists of tokenized rows).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("packaged", "tiny"), default="packaged",
                        help="tiny: random BERT 4x256 with a byte-level tokenizer; "
                             "packaged: multilingual-e5-small (12x384, XLM-R vocabulary)")
    parser.add_argument("--pairs", type=int, default=512)
    parser.add_argument("--data", default=str(DATA / "mnli" / "dev_matched.jsonl"),
                        help="an NLI JSONL file, or 'synthetic' (xexp's generator, English)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", choices=("training", "evaluation"), default=None)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = parser.parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch initialises CUDA

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("throughput: --device cuda, but torch sees no CUDA device")
    table = load_pairs(args.data, args.pairs)
    work = Path(tempfile.mkdtemp(prefix="xexp-bench-"))
    try:
        base_dir = prepare_model(args.model, work)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        print(f"model {args.model} ({base_dir}), {table.num_rows} pairs from {args.data}, "
              f"torch threads {torch.get_num_threads()}, device {device}")
        measure(base_dir, table, work, repeats=args.repeats, only=args.only,
                freeze_embeddings=args.model == "packaged")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_pairs(data: str, pairs: int):
    """`pairs` NLI rows: from a JSONL file, or from xexp's synthetic generator ('synthetic')."""
    from xexp.runtime.data.sources import load_rows

    if data == "synthetic":
        source = {"source": "synthetic", "task": "nli", "size": pairs, "seed": 0}
        return load_rows(source, task_type="nli", split="train", rows=None, language=None)
    return load_rows({"source": "local", "path": data}, task_type="nli", split=None,
                     rows=(0, pairs), language=None)


def prepare_model(kind: str, work: Path) -> Path:
    if kind == "packaged":
        from xexp.runtime.learning.models.packaged import prepare_packaged

        return prepare_packaged()
    from xexp.runtime.learning.models.tiny import build_tiny

    return build_tiny(work / "tiny", layers=4, hidden=256, heads=4, intermediate=1024)


HPARAMS = {"batch": 32, "epochs": 1, "lr": 2e-5, "warmup": 0.1, "weight_decay": 0.01, "clip": 1.0,
           "max_len": 128, "checkpoint_every": 10_000}
#: Evaluation's settings, both sides (Trainer.predict keeps its batch 64).
EVALUATION = {"max_len": 128}


def best_alternating(ours, theirs, repeats: int) -> tuple[float, float]:
    """Best time of each side, measured alternately so that a change in machine load during
    the benchmark hits both sides alike (this machine is shared)."""
    ours_times, their_times = [], []
    for _ in range(repeats):
        ours_times.append(ours())
        their_times.append(theirs())
    return min(ours_times), min(their_times)


def measure(base_dir: Path, table, work: Path, *, repeats: int = 1, only: str | None = None,
            freeze_embeddings: bool = True, train_max_len: int = 128, eval_max_len: int = 128) -> dict:
    """Examples/s of both sides (printed as they come), and the checkpoint ours trained.
    Training truncates pairs at `train_max_len`, evaluation at `eval_max_len` (both sides)."""
    HPARAMS["freeze_embeddings"] = freeze_embeddings
    HPARAMS["max_len"] = train_max_len
    EVALUATION["max_len"] = eval_max_len
    return run_benchmarks(base_dir, table, work, repeats, only)


def run_benchmarks(base_dir: Path, table, work: Path, repeats: int, only: str | None) -> dict:
    from xexp.compiler.graph.contracts import TrainSettings
    from xexp.runtime.learning.evaluation import evaluate
    from xexp.runtime.learning.training import train

    base = {"path_or_id": str(base_dir), "revision": None, "trust_remote_code": False}
    n = table.num_rows

    warm = table.slice(0, 64)
    runs = itertools.count()
    figures: dict = {}

    def ours_train(tag: str = "", rows=table) -> float:
        tag = tag or str(next(runs))  # a fresh scratch dir each time: nothing to resume from
        start = time.perf_counter()
        train(base=base, task_type="nli", train_table=rows, dev_table=None, hparams=TrainSettings(**HPARAMS),
              seed=0, out_dir=work / f"ours-{tag}", scratch_dir=work / f"scratch-{tag}")
        return time.perf_counter() - start

    def hf_train(tag: str = "", rows=table) -> float:
        start = time.perf_counter()
        trainer_train(base_dir, rows, work / f"hf-{tag}")
        return time.perf_counter() - start

    if only != "evaluation":
        ours_train("warmup", warm)
        hf_train("warmup", warm)
        ours_t, hf_t = best_alternating(ours_train, hf_train, repeats)
        report("training", n, ours_t, hf_t, target=1.0)
        figures.update(train_ex_per_s=n / ours_t, trainer_train_ex_per_s=n / hf_t)
        checkpoint = str(work / "ours-0" / "checkpoint")
    else:  # an untrained head scores as fast as a trained one
        ours_train("head", warm.slice(0, 8))
        checkpoint = str(work / "ours-head" / "checkpoint")
    figures["checkpoint"] = checkpoint
    if only == "training":
        return figures

    def ours_eval(rows=table) -> float:
        start = time.perf_counter()
        evaluate(model_dir=checkpoint, task_type="nli", table=rows, batch=64,
                 max_len=EVALUATION["max_len"])
        return time.perf_counter() - start

    def hf_eval(rows=table) -> float:
        start = time.perf_counter()
        trainer_predict(checkpoint, rows, work / "hf-predict")
        return time.perf_counter() - start

    ours_eval(warm)
    hf_eval(warm)
    ours_e, hf_e = best_alternating(ours_eval, hf_eval, repeats)
    report("evaluation", n, ours_e, hf_e, target=1.5)
    figures.update(eval_ex_per_s=n / ours_e, trainer_eval_ex_per_s=n / hf_e)
    return figures


def report(what: str, n: int, ours: float, theirs: float, *, target: float) -> None:
    ratio = theirs / ours
    print(f"{what:>10}: xexp {n / ours:8.1f} ex/s ({ours:6.2f} s)   Trainer {n / theirs:8.1f} ex/s "
          f"({theirs:6.2f} s)   speed-up {ratio:4.2f}x (target >= {target}x: "
          f"{'met' if ratio >= target else 'NOT met'})", flush=True)


def _hf_dataset(tokenizer, table, with_labels: bool, max_len: int) -> list[dict]:
    """Tokenized rows as a plain list (Trainer takes any sized dataset): no `datasets`, which
    the GPU machine does not have."""
    from xexp.runtime.data.formats import NLI_LABELS

    encoded = tokenizer(table.column("premise").to_pylist(), table.column("hypothesis").to_pylist(),
                        truncation=True, max_length=max_len)
    rows = [dict(zip(encoded.keys(), values)) for values in zip(*encoded.values())]
    if with_labels:
        for row, label in zip(rows, table.column("label").to_pylist()):
            row["labels"] = NLI_LABELS.index(label)
    return rows


def _trainer(model, tokenizer, out: Path, train_dataset=None):
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    cuda = torch.cuda.is_available()

    arguments = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=HPARAMS["batch"],
        per_device_eval_batch_size=64, learning_rate=HPARAMS["lr"],
        warmup_steps=HPARAMS["warmup"],  # transformers 5: a float below 1 is a ratio of the steps
        weight_decay=HPARAMS["weight_decay"], max_grad_norm=HPARAMS["clip"],
        num_train_epochs=HPARAMS["epochs"], lr_scheduler_type="linear", save_strategy="no",
        eval_strategy="no", logging_strategy="no", report_to="none", use_cpu=not cuda, bf16=cuda,
        disable_tqdm=True, seed=0, dataloader_num_workers=0,
    )
    return Trainer(model=model, args=arguments, train_dataset=train_dataset,
                   data_collator=DataCollatorWithPadding(tokenizer))


def trainer_train(base_dir: Path, table, out: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from xexp.runtime.learning.tasks.runner import quiet_loading

    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
        model = AutoModelForSequenceClassification.from_pretrained(str(base_dir), num_labels=3)
    if HPARAMS.get("freeze_embeddings"):
        model.get_input_embeddings().weight.requires_grad_(False)
    trainer = _trainer(model, tokenizer, out,
                       _hf_dataset(tokenizer, table, with_labels=True, max_len=HPARAMS["max_len"]))
    trainer.train()
    trainer.save_model(str(out / "final"))


def trainer_predict(checkpoint: str, table, out: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from xexp.runtime.learning.tasks.runner import quiet_loading

    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    _trainer(model, tokenizer, out).predict(
        _hf_dataset(tokenizer, table, with_labels=False, max_len=EVALUATION["max_len"]))


if __name__ == "__main__":
    main()
