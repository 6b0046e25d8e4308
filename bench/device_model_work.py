"""The model work of the device check (bench/device_check.py): random encoders in real shapes,
throughput and MFU of training and evaluation against `Trainer`, the evaluation batch from free
memory, peak GPU memory. Split from the driver to keep each file about one thing."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Dense bf16 tensor-core peaks from NVIDIA's data sheets (FLOP/s), by a name fragment.
BF16_PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "GH200": 989e12, "A100": 312e12,
                   "L40S": 362e12, "L4": 121e12, "A10": 125e12}


#: Encoder shapes of the model work: (layers, hidden, heads, intermediate, embedding rows).
#: XLM-R's from its configs (Conneau et al. 2020); "small" keeps the CPU profiles short.
SHAPES = {"xlmr-large": (24, 1024, 16, 4096, 250_002), "xlmr-base": (12, 768, 12, 3072, 250_002),
          "small": (2, 128, 2, 512, None)}


def build_model(shape: str, work: Path) -> Path:
    """A random encoder of a SHAPES shape with the byte-level tokenizer, built here (no download)."""
    from xexp.runtime.learning.models.tiny import build_tiny

    layers, hidden, heads, intermediate, vocab = SHAPES[shape]
    return build_tiny(work / f"model-{shape}", layers=layers, hidden=hidden, heads=heads,
                      intermediate=intermediate, vocab_size=vocab)


def throughput(profile, out: Path, device: str) -> dict:
    """Step 2 of the check for a `device_check.Profile`: the figures, and the checkpoint ours trained."""
    sys.path.insert(0, str(REPO / "bench"))
    import throughput as bench
    import torch

    work = out / "throughput"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    table = bench.load_pairs("synthetic", profile.bench_pairs)
    base = build_model(profile.bench_shape, work)
    cuda = device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    figures = bench.measure(base, table, work, freeze_embeddings=False,
                            train_max_len=profile.train_max_len, eval_max_len=profile.eval_max_len)
    if cuda:
        figures["throughput_peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    figures["bench_model"] = profile.bench_shape
    figures.update(forward_flops(figures["checkpoint"], table, profile.eval_max_len))
    figures.update(training_mfu(figures, base, table, profile.train_max_len))
    return figures


def pass_flops(model, lengths) -> float:
    """FLOPs of one forward pass over sequences of these (real) lengths: 2 per weight of every
    linear layer per token, plus attention's 4·n²·width per layer (scores and mixing)."""
    import torch

    config = model.config
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    lengths = lengths.astype("float64")
    return float((2 * linear * lengths + 4 * config.num_hidden_layers * config.hidden_size * lengths ** 2).sum())


def card_peak() -> float | None:
    """The card's dense bf16 peak (FLOP/s) from `BF16_PEAK_FLOPS`; None on CPU or another card."""
    import torch

    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(0)
    return next((value for fragment, value in BF16_PEAK_FLOPS.items() if fragment in name), None)


def forward_flops(checkpoint: str, table, max_len: int) -> dict:
    """The evaluation forward pass alone (model loaded, text tokenized): examples/s, TFLOP/s of
    useful work (real tokens, `pass_flops`) and, on a card in `BF16_PEAK_FLOPS`, its MFU."""
    import torch

    from xexp.runtime.learning.device import inference_batch_size
    from xexp.runtime.learning.evaluation import load_for_inference
    from xexp.runtime.learning.tasks.runner import forward_features, pad_id_of

    task, tokenizer, model, device = load_for_inference(checkpoint, "nli")
    features = task.featurize(table, tokenizer, max_len, training=False)
    batch = inference_batch_size(model, 64, max_len, device)
    cuda = device.type == "cuda"
    forward_features(model, task, features, batch_size=batch, pad_id=pad_id_of(tokenizer), device=device)
    if cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    forward_features(model, task, features, batch_size=batch, pad_id=pad_id_of(tokenizer), device=device)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    flops = pass_flops(model, features.lengths)
    peak = card_peak()
    return {"eval_forward_ex_per_s": round(len(features) / seconds, 1), "eval_batch": batch,
            "eval_mean_tokens": round(float(features.lengths.mean()), 1),
            "eval_forward_tflops": float(f"{flops / seconds / 1e12:.4g}"),
            "eval_bf16_mfu": round(flops / seconds / peak, 4) if peak else None}


def training_mfu(figures: dict, base: Path, table, max_len: int) -> dict:
    """Training MFU of both sides from their end-to-end examples/s (loading, tokenizing and
    saving included, so a lower bound): a training step is ~3 forward passes (backward ~2)."""
    if "train_ex_per_s" not in figures:
        return {}
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from xexp.runtime.learning.tasks.runner import quiet_loading

    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(str(base))
        model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=3)
    encoded = tokenizer(table.column("premise").to_pylist(), table.column("hypothesis").to_pylist(),
                        truncation=True, max_length=max_len)
    import numpy as np

    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    per_example = 3 * pass_flops(model, lengths) / len(lengths)
    peak = card_peak()
    out: dict = {"train_mean_tokens": round(float(lengths.mean()), 1)}
    for side in ("train", "trainer_train"):
        rate = figures[f"{side}_ex_per_s"] * per_example
        out[f"{side}_tflops"] = float(f"{rate / 1e12:.4g}")
        out[f"{side}_bf16_mfu"] = round(rate / peak, 4) if peak else None
    return out
