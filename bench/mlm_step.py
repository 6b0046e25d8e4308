"""What a masked-LM training step costs next to a classification step, on the same encoder.

    python bench/mlm_step.py [--model packaged|tiny] [--batch 8] [--max-len 128] [--steps 3]

An MLM head scores every position against the whole vocabulary (250k for XLM-R and
multilingual-e5-small), so its logits, batch x length x vocabulary floats, and their gradient
dominate a step; a classification head scores three labels per example. Each task runs in its
own process (so each peak resident memory is its own), on XNLI English premises (MLM) or pairs
(NLI), through the runtime's own build_model, featurize, collate and loss. Prints seconds per
optimisation step (mean of `--steps` after one warm-up step) and peak RSS. Figures only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "xnli" / "dev.en.jsonl"


def measure(task_type: str, model: str, batch: int, max_len: int, steps: int, out: dict) -> None:
    import pyarrow as pa
    import torch

    from xexp.runtime.learning.models.sources import load_tokenizer, materialize_model
    from xexp.runtime.learning.tasks import get_task
    from xexp.runtime.learning.tasks.base import model_inputs
    from xexp.compiler.graph.contracts import TrainSettings
    from xexp.runtime.learning.training_setup import build_model, make_optimizer

    torch.set_num_threads(1)
    rows = [json.loads(line) for line, _ in zip(DATA.open(encoding="utf-8"), range(batch * (steps + 1)))]
    if task_type == "masked_lm":
        table = pa.table({"id": [str(i) for i in range(len(rows))], "text": [r["premise"] for r in rows],
                          "language": ["en"] * len(rows)})
    else:
        table = pa.table({"id": [str(i) for i in range(len(rows))], "premise": [r["premise"] for r in rows],
                          "hypothesis": [r["hypothesis"] for r in rows], "label": [r["label"] for r in rows]})
    with tempfile.TemporaryDirectory() as folder:
        source = {"source": "packaged", "name": "multilingual-e5-small"} if model == "packaged" else {"source": "tiny"}
        manifest = materialize_model(source, Path(folder) / "model")
        task = get_task(task_type)
        network = build_model(manifest, task, seed=0)
        tokenizer = load_tokenizer(manifest)
        features = task.featurize(table, tokenizer, max_len, training=True, seed=0)
        hp = TrainSettings(batch=batch, max_len=max_len)
        optimizer, scheduler = make_optimizer(network, hp, steps + 1)
        network.train()
        timings = []
        for step in range(steps + 1):
            items = features.items[step * batch:(step + 1) * batch]
            started = time.perf_counter()
            batch_tensors = task.collate(items, tokenizer.pad_token_id or 0)
            loss = task.loss(network(**model_inputs(batch_tensors, torch.device("cpu"))), batch_tensors)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if step:  # the first step warms up the allocator and kernels
                timings.append(time.perf_counter() - started)
        tokens = int(sum(len(item["input_ids"]) for item in features.items) / len(features.items))
    out.update(seconds=sum(timings) / len(timings), peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               mean_tokens=tokens, vocabulary=len(tokenizer))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("packaged", "tiny"), default="packaged")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        for task_type in ("nli", "masked_lm"):
            out = manager.dict()
            process = context.Process(target=measure, args=(task_type, args.model, args.batch, args.max_len,
                                                            args.steps, out))
            process.start()
            process.join()
            if process.exitcode:
                raise SystemExit(f"{task_type}: the measuring process failed (exit {process.exitcode})")
            print(f"{task_type:>10}: {out['seconds']:.2f} s/step, peak RSS {out['peak_mib']:.0f} MiB "
                  f"(batch {args.batch}, {out['mean_tokens']} tokens per example on average, "
                  f"vocabulary {out['vocabulary']})")


if __name__ == "__main__":
    main()
