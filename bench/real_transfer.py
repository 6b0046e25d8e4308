"""Real zero-shot transfer through xexp (not run in CI; ~15 minutes on 2 CPU cores).

The packaged multilingual-e5-small is fine-tuned through `xexp run` on 3,000 English MNLI pairs
for one epoch and evaluated zero-shot on 300 XNLI dev pairs in each of the 15 languages. Prints
the accuracy table and the wall time. Every language should be clearly above chance (33.3%).

    python bench/real_transfer.py --data ../shared/data [--train 3000 --eval 300 --store DIR]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

SPEC = """\
experiment real_transfer
var data = "data"

model e5 = packaged("multilingual-e5-small")

task mnli = nli(local("{data}/mnli/dev_matched.jsonl"), train="train[:@TRAIN@]", dev="train[9000:9300]")
task xnli = nli(local("{data}/xnli/dev.{lang}.jsonl"), test="test[:@EVAL@]")

intermediate = [none]
target       = xnli trained_on mnli
languages    = [ar bg de el en es fr hi ru sw th tr ur vi zh]

train target { lr=5e-5 batch=32 epochs=1 max_len=128 freeze_embeddings=true }
evaluate     { batch=64 max_len=128 }
report       { bootstrap=1000 }
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder with mnli/dev_matched.jsonl and xnli/dev.<lang>.jsonl")
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--eval", type=int, default=300)
    parser.add_argument("--store", help="artifact store (default: a temporary folder, so nothing is cached)")
    args = parser.parse_args()

    from xexp.running import run_spec

    folder = Path(tempfile.mkdtemp(prefix="xexp-real-transfer-"))
    spec = folder / "real_transfer.xexp"
    spec.write_text(SPEC.replace("@TRAIN@", str(args.train)).replace("@EVAL@", str(args.eval)))
    started = time.perf_counter()
    summary = run_spec(spec, store=args.store, variables={"data": str(Path(args.data).resolve())})
    wall = time.perf_counter() - started
    with open(Path(summary["report"]) / "results.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["perturbation"] == "clean" and r["seed"] == "all"]
    print(f"\nmultilingual-e5-small, {args.train} English MNLI pairs, 1 epoch; zero-shot XNLI dev, "
          f"{args.eval} pairs per language")
    print(f"{'language':<9}{'accuracy':>10}{'95% CI':>18}")
    for r in rows:
        ci = f"[{float(r['clean_ci_low']):.1f}, {float(r['clean_ci_high']):.1f}]"
        print(f"{r['language']:<9}{float(r['clean_acc']):>10.1f}{ci:>18}")
    print(f"wall time {wall / 60:.1f} min ({summary['executed']} nodes executed, {summary['cached']} cached)")


if __name__ == "__main__":
    main()
