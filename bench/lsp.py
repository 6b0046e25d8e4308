"""Benchmark of `xexp lsp`: how long one diagnostic pass takes, and how long an editor waits for
its diagnostics after a keystroke.

Two figures per spec, printed, not asserted (docs/architecture.md, "Performance"); the budget is
a 100 ms median pass:
- the pass in-process (`xexp.lsp.analysis.analyse`: parse_recovering + validate), median and best
  of several runs: of the whole text, and after a one-line edit through the server's statement
  cache (xexp/lsp/pieces.py: only the edited statement is parsed again), what it runs while typing;
- the round trip over real stdio with pygls's client: a didChange (one character edited) until
  its publishDiagnostics arrives, which includes the server's debounce (DEBOUNCE_S).
Specs: specs/phang2020.xexp (the paper's whole grid, 181 lines) and a generated 2,000-line spec.

    python bench/lsp.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "specs" / "phang2020.xexp"
BUDGET_S = 0.100


def large_spec(lines_wanted: int = 2000) -> str:
    """A valid spec of about `lines_wanted` lines: commented tasks, a perturbation per line."""
    lines = ["experiment big", 'var data = "data"', 'model enc = hf("FacebookAI/xlm-roberta-base")']
    tasks = (lines_wanted - 20) // 3
    for i in range(tasks):
        lines += [f"# intermediate task {i}", f'task t{i} = nli(local("{{data}}/t{i}.jsonl"), train="train")']
    lines += ['task xnli = nli(local("{data}/xnli/{lang}.jsonl"), test="test")', "intermediate = [none t1 t2]",
              "target = xnli trained_on t0", "languages = [en de fr]", "perturbations {"]
    perturbations = max(0, lines_wanted - len(lines) - 1)
    lines += [f"  noise{i} = char_noise(p=0.0{i % 9 + 1})" for i in range(perturbations)] + ["}"]
    return "\n".join(lines) + "\n"


def edit(text: str, run: int) -> str:
    """The text with its `experiment` line edited (a character added or not, by turns)."""
    return text.replace("experiment ", f"experiment {'x' if run % 2 == 0 else ''}", 1)


def in_process(text: str, filename: str, runs: int, cached: bool) -> list[float]:
    from xexp.lsp.analysis import analyse
    from xexp.lsp.pieces import PieceParser

    pieces = PieceParser() if cached else None
    analyse(text, filename, pieces=pieces)  # the parser is built once per server
    walls = []
    for run in range(runs):
        start = time.perf_counter()
        result = analyse(edit(text, run), filename, pieces=pieces)
        walls.append(time.perf_counter() - start)
    assert not result.errors, result.errors[0].render()
    return walls


def round_trips(text: str, uri: str, runs: int) -> list[float]:
    sys.path.insert(0, str(REPO / "tests"))
    from lsp_session import LspSession

    session = LspSession(REPO)
    try:
        session.open(uri, text)
        session.wait_diagnostics(uri)
        walls = []
        for run in range(runs):
            edited = edit(text, run)
            count = session.published(uri)
            start = time.perf_counter()
            session.change(uri, edited)
            session.wait_diagnostics(uri, count + 1)
            walls.append(time.perf_counter() - start)
        return walls
    finally:
        session.close()


def report(label: str, walls: list[float], budget: float | None) -> None:
    median = statistics.median(walls)
    verdict = "" if budget is None else f" ({'within' if median < budget else 'OVER'} the {budget * 1000:g} ms budget)"
    print(f"{label}: median {median * 1000:.1f} ms, best {min(walls) * 1000:.1f} ms, {len(walls)} runs{verdict}")


def main() -> None:
    from xexp.lsp.server import DEBOUNCE_S

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; "
          f"server debounce {DEBOUNCE_S * 1000:g} ms")
    specs = [(PAPER.name, PAPER.read_text(encoding="utf-8"), str(PAPER)),
             ("generated 2,000-line spec", large_spec(), str(REPO / "specs" / "big.xexp"))]
    for name, text, filename in specs:
        lines = text.count("\n")
        report(f"{name} ({lines} lines): diagnostic pass in-process, whole text",
               in_process(text, filename, args.runs, cached=False), BUDGET_S)
        report(f"{name} ({lines} lines): diagnostic pass in-process, one line edited (statement cache)",
               in_process(text, filename, args.runs, cached=True), BUDGET_S)
        report(f"{name} ({lines} lines): keystroke to diagnostics over stdio (debounce included)",
               round_trips(text, Path(filename).as_uri(), max(3, args.runs // 3)), None)


if __name__ == "__main__":
    main()
