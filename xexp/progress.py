"""The live terminal view of a run, fed by the scheduler's events.

It lives in the CLI package: the runtime only emits events (``execute_graph(progress=...)``),
and what a terminal shows of them, with rich, is the command line's business.

Writes to stderr only, so ``--json`` output on stdout stays clean: a rich table that redraws in
place when stderr is a terminal, otherwise one plain line whenever the counts change (at most
every ``interval_s`` seconds) and a final line on close.

The run's ETA is the scheduler replayed over the nodes left, on each node's estimated time
(runtime/engine/estimate/: learned from the store's history) corrected by what this run has measured so
far (runtime/engine/estimate/live.py), so it does not jump as each kind finishes its first node. Without
estimates it falls back to each kind's mean duration x its remaining nodes / the most nodes of that
kind seen running at once, summed over kinds (also the per-kind column of the live table), a kind with no finished node in
this run taking its measured times from the store's earlier records.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from collections.abc import Sequence
from typing import IO, Any

from xexp.compiler.graph.node import Graph
from xexp.runtime.engine.states import EVENT_STATES, FINAL_STATES
from xexp.runtime.engine.store import PROGRESS_FILE

COLUMNS = ("done", "running", "cached", "failed", "blocked", "pending")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


#: completion records read per kind for its measured times: enough for a mean, cheap at any size
MEASURED_SAMPLE = 20


def measured_times(store: Any, kinds: Sequence[str]) -> dict[str, list[float]]:
    """Per kind, how long its nodes already in the store took (their completion records), the
    newest first; a record that does not read is skipped."""
    import json

    out: dict[str, list[float]] = {}
    for kind in kinds:
        records = sorted(Path(store.root, kind).glob("*/_complete.json"), key=_mtime, reverse=True)
        times = []
        for path in records[:MEASURED_SAMPLE]:
            try:
                times.append(float(json.loads(path.read_text(encoding="utf-8"))["timings"]["seconds"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        if times:
            out[kind] = times
    return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class ProgressDisplay:
    """Callable taking scheduler events; use as a context manager around execute_graph."""

    def __init__(self, graph: Graph, *, stream: IO[str] | None = None, interval_s: float = 5.0,
                 live: bool | None = None, store: Any = None, quiet_s: float = 30.0,
                 estimates: dict[str, float] | None = None, capacity: dict[str, float] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.kind_of = {n.key: n.kind for n in graph.nodes}
        self.name_of = {n.key: n.name for n in graph.nodes}
        self.store = store  # where running nodes' _progress.json files are (optional)
        self.quiet_s = quiet_s
        self.kinds = list(dict.fromkeys(n.kind for n in graph.nodes))
        self.total = graph.counts()
        self.state: dict[str, str] = {}
        self.durations: dict[str, list[float]] = {k: [] for k in self.kinds}
        self.measured = measured_times(store, self.kinds) if store is not None else {}
        self.peak_running: dict[str, int] = {k: 0 for k in self.kinds}
        self.started = time.time()
        self.live_mode = self.stream.isatty() if live is None else live
        self._live: Any = None
        self._last_line = ""
        self._last_print = 0.0
        self.started_at: dict[str, float] = {}
        self.time_left: Any = None
        if estimates:
            from xexp.runtime.engine.estimate.live import TimeLeft

            self.time_left = TimeLeft(graph, estimates, capacity or {"CPU": 1.0})
        self._eta_cache: tuple[float, float] | None = None  # (when, seconds)

    # --- state ------------------------------------------------------------------------------
    def __call__(self, event: dict) -> None:
        key, name = event.get("key"), event.get("event")
        if name == "tick":  # the scheduler's loop, about once a second
            self.tick()
            return
        if key not in self.kind_of:
            return
        kind = self.kind_of[key]
        state = EVENT_STATES.get(str(name))
        if state is None or (name == "started" and self.state.get(key) in FINAL_STATES):
            return
        self.state[key] = state
        if name == "started":
            self.started_at[key] = float(event.get("time") or time.time())
        if name == "finished" and event.get("seconds") is not None:
            self.durations[kind].append(float(event["seconds"]))
            if self.time_left is not None:
                self.time_left.finished(key, float(event["seconds"]))
        self._eta_cache = None
        running = sum(1 for k, s in self.state.items() if s == "running" and self.kind_of[k] == kind)
        self.peak_running[kind] = max(self.peak_running[kind], running)
        self.refresh()

    def counts(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {k: {c: 0 for c in COLUMNS} for k in self.kinds}
        for key, state in self.state.items():
            if state in COLUMNS:  # a queued node is shown as pending
                table[self.kind_of[key]][state] += 1
        for kind in self.kinds:
            table[kind]["pending"] = self.total[kind] - sum(
                table[kind][c] for c in COLUMNS if c != "pending")
        return table

    def eta_seconds(self, kind: str | None = None) -> float | None:
        """Seconds left: for the run, the replay of what is left on the estimates (when the run has
        them); else, as for a kind: for a kind, None until one of its nodes finished (here, or
        measured in the store before); for the run, the sum over the kinds with times to learn
        from (None before any)."""
        if kind is None and self.time_left is not None:
            now = time.time()
            if self._eta_cache is None or now - self._eta_cache[0] >= 1.0:
                self._eta_cache = (now, self.time_left.seconds(self.state, self.started_at, now))
            return max(0.0, self._eta_cache[1] - (now - self._eta_cache[0]))
        counts = self.counts()
        total = 0.0
        for k in [kind] if kind else self.kinds:
            remaining = counts[k]["pending"] + counts[k]["running"]
            if remaining == 0:
                continue
            times = self.durations[k] or self.measured.get(k, [])
            if not times:
                if kind is not None or not any(self.durations[c] or self.measured.get(c) for c in self.kinds):
                    return None
                continue  # a kind not seen finishing yet (the report, say): no guess for it
            mean = sum(times) / len(times)
            total += mean * remaining / max(1, self.peak_running[k])
        return total

    def running_progress(self) -> list[str]:
        """'name: step 120/900, loss 0.71' for running nodes that report progress (training)."""
        if self.store is None:
            return []
        import json

        out = []
        for key, state in self.state.items():
            if state != "running":
                continue
            path = self.store.artifact_dir(self.kind_of[key], key) / PROGRESS_FILE
            try:
                info = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if "step" in info and "total" in info:
                loss = f", loss {info['loss']:.3f}" if isinstance(info.get("loss"), (int, float)) else ""
                resumed = (f" (resumed from step {info['resumed_from']} of {info['total']})"
                           if isinstance(info.get("resumed_from"), int) else "")
                out.append(f"{self.name_of[key]}: step {info['step']}/{info['total']}{loss}{resumed}")
        return out

    def tick(self) -> None:
        """Long nodes change no counts for minutes: say what they are doing now and then."""
        if self.live_mode:
            if self._live is not None:
                self._live.update(self.table())
            return
        now = time.time()
        if now - self._last_print >= self.quiet_s:
            print(self.line(), file=self.stream, flush=True)
            for text in self.running_progress():
                print(f"  {text}", file=self.stream, flush=True)
            self._last_print = now

    def eta_text(self) -> str:
        """'4:10', or '≥1:20' while some kind with work left has no finished node yet."""
        seconds = self.eta_seconds()
        if self.time_left is not None and seconds is not None:
            return _duration(seconds)
        counts = self.counts()
        unknown = any(counts[k]["pending"] + counts[k]["running"] and not (self.durations[k] or self.measured.get(k))
                      for k in self.kinds)
        if seconds is None or (unknown and seconds < 1):
            return "?"
        return ("≥" if unknown else "") + _duration(seconds)

    # --- rendering --------------------------------------------------------------------------
    def line(self) -> str:
        counts = self.counts()
        parts = []
        for kind in self.kinds:
            c = counts[kind]
            text = f"{kind} {c['done'] + c['cached']}/{self.total[kind]}"
            extra = [f"{c[s]} {s}" for s in ("running", "failed", "blocked") if c[s]]
            parts.append(text + (f" ({', '.join(extra)})" if extra else ""))
        elapsed = _duration(time.time() - self.started)
        return f"[xexp] {elapsed} elapsed, ETA {self.eta_text()} | " + " | ".join(parts)

    def table(self) -> Any:
        from rich.table import Table

        counts = self.counts()
        table = Table(title=f"xexp — {_duration(time.time() - self.started)} elapsed, "
                            f"ETA {self.eta_text()}", title_justify="left")
        table.add_column("kind")
        for column in COLUMNS:
            table.add_column(column, justify="right")
        table.add_column("ETA", justify="right")
        for kind in self.kinds:
            table.add_row(kind, *(str(counts[kind][c]) for c in COLUMNS),
                          _duration(self.eta_seconds(kind)))
        for text in self.running_progress():
            table.add_row(f"  {text}", *([""] * (len(COLUMNS) + 1)))
        return table

    def refresh(self, final: bool = False) -> None:
        if self.live_mode:
            if self._live is None:
                from rich.console import Console
                from rich.live import Live

                self._live = Live(self.table(), console=Console(file=self.stream),
                                  refresh_per_second=2, transient=False)
                self._live.start()
            else:
                self._live.update(self.table())
            return
        line = self.line()
        counts_part = line.split("|", 1)[1]
        now = time.time()
        changed = counts_part != self._last_line.split("|", 1)[-1]
        if final or (changed and now - self._last_print >= self.interval_s):
            print(line, file=self.stream, flush=True)
            self._last_line, self._last_print = line, now

    def close(self) -> None:
        if self._live is not None:
            self._live.update(self.table())
            self._live.stop()
            self._live = None
        else:
            self.refresh(final=True)

    def __enter__(self) -> "ProgressDisplay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
