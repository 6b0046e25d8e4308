"""Bytes a training leaves in the store: the demo's training (packaged multilingual-e5-small,
frozen word embeddings, lr 1e-4, batch 16, max_len 48) run for a few steps in a store layout.

Prints the size of the base model's folder, the training's artifact folder (its checkpoint) and
its scratch folder (the resume checkpoint a killed training restarts from). Run it with the
interpreter of the code to measure (e.g. main's and a branch's) to compare.

    python bench/checkpoint_size.py --data ../shared/data [--steps 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--keep", help="build the store here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    import torch

    import xexp.runtime.learning.training as training
    from xexp.compiler.graph.contracts import TrainSettings
    from xexp.runtime.data.sources import load_rows
    from xexp.runtime.learning.models.packaged import prepare_packaged

    torch.set_num_threads(max(1, torch.get_num_threads()))
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="xexp-ckpt-"))
    model_node = root / "model" / ("m" * 64)
    started = time.perf_counter()
    model_dir = prepare_packaged("multilingual-e5-small", model_node / "model")
    base = {"path_or_id": str(model_dir), "revision": None, "trust_remote_code": False,
            "origin": {"kind": "model", "key": "m" * 64, "dir": str(model_node)}}
    table = load_rows({"source": "local", "path": str(Path(args.data) / "mnli" / "dev_matched.jsonl")},
                      task_type="nli", split=None, rows=(0, 16 * args.steps), language=None)
    out, scratch = root / "train" / ("t" * 64), root / "scratch" / "train" / ("t" * 64)
    training.train(base=base, task_type="nli", train_table=table, dev_table=None, seed=1,
                   hparams=TrainSettings(lr=1e-4, batch=16, epochs=1, max_len=48, freeze_embeddings=True,
                                         max_steps=args.steps, checkpoint_every=1),
                   out_dir=out, scratch_dir=scratch)
    print(f"code: {Path(training.__file__).parent.parent}")
    print(f"base model folder      {mib(folder_size(model_node))}")
    print(f"training artifact      {mib(folder_size(out))}  (checkpoint/ and curve)")
    for path in sorted((out / "checkpoint").iterdir()):
        print(f"  {path.name:<22} {mib(path.stat().st_size)}")
    print(f"training scratch       {mib(folder_size(scratch))}  (resume state at step {args.steps - 1})")
    print(f"store total            {mib(folder_size(root))}  ({time.perf_counter() - started:.0f} s)")
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
