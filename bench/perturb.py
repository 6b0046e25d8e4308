"""Throughput of every perturbation family on real XNLI dev sentences, all 15 languages.

    python bench/perturb.py [--data ../shared/data] [--sentences 200] [--only NAME ...]

Prints sentences/second per (perturbation, language) and per perturbation overall. One-off
costs (loading the Thai dictionary, a MUSE lexicon) are paid in a warm-up call and reported
separately, since a `perturb` node pays them once per process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from xexp.compiler.languages import XNLI_LANGUAGES
from xexp.compiler.registry.base import REGISTRY
from xexp.runtime.robustness import perturbations as P

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

PARAMS = {
    "char_noise": {"p": 0.05},
    "keyboard_typo": {"p": 0.05},
    "homoglyph": {"p": 0.1},
    "strip_diacritics": {},
    "case_noise": {"p": 0.1},
    "space_noise": {"p": 0.1},
    "word_shuffle": {"window": 3},
    "word_drop": {"p": 0.1},
    "word_repeat": {"p": 0.1},
    "stress": {"test": "length_mismatch"},
    "code_switch": {"p": 0.3},
}


def load_sentences(data: Path, lang: str, n: int) -> list[str]:
    path = data / "xnli" / f"dev.{lang}.jsonl"
    if not path.exists():
        sys.exit(f"missing {path}: pass --data pointing at the shared data folder")
    unique: dict[str, None] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            unique.setdefault(row["premise"], None)
            unique.setdefault(row["hypothesis"], None)
            if len(unique) >= n:
                break
    return list(unique)[:n]


def params_for(name: str, lang: str, data: Path) -> dict | None:
    params = dict(PARAMS[name])
    if name == "code_switch":
        target = "de" if lang == "en" else lang
        path = data / "muse" / f"en-{target}.txt"
        if not path.exists():
            return None  # no MUSE dictionary for sw, ur
        params["lexicon"] = {"kind": "muse", "path": str(path)}
        if lang == "en":
            params["to"] = "de"
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()

    texts = {lang: load_sentences(args.data, lang, args.sentences) for lang in XNLI_LANGUAGES}
    print(f"{'perturbation':18s} {'sent/s':>8s} {'slowest':>14s} {'fastest':>14s} {'warm-up s':>9s}  changed")
    for name in PARAMS:
        if args.only and name not in args.only:
            continue
        entry = REGISTRY.get("perturbation", name)
        total_time = total_count = warmup = changed = 0.0
        per_lang: dict[str, float] = {}
        for lang in XNLI_LANGUAGES:
            if entry.languages is not None and lang not in entry.languages:
                continue
            params = params_for(name, lang, args.data)
            if params is None:
                continue
            perturbation = P.get(name, params)
            start = time.perf_counter()
            perturbation(texts[lang][0], lang, 0)  # warm-up: dictionaries, lexicons
            warmup += time.perf_counter() - start
            start = time.perf_counter()
            outputs = [perturbation(text, lang, 0) for text in texts[lang]]
            elapsed = time.perf_counter() - start
            per_lang[lang] = len(texts[lang]) / elapsed
            total_time += elapsed
            total_count += len(texts[lang])
            changed += sum(out != text for out, text in zip(outputs, texts[lang]))
        slowest = min(per_lang, key=per_lang.get)
        fastest = max(per_lang, key=per_lang.get)
        print(
            f"{name:18s} {total_count / total_time:8.0f} "
            f"{slowest:>3s} {per_lang[slowest]:8.0f}/s {fastest:>3s} {per_lang[fastest]:8.0f}/s "
            f"{warmup:9.2f}  {changed / total_count:.0%} of {int(total_count)} "
            f"({len(per_lang)} languages)"
        )


if __name__ == "__main__":
    main()
