"""`xexp runs [--store S | SPEC]`: the runs of a store, newest first, so a run id is found by
reading, not by listing folders (runtime/engine/runs.py `list_runs` reads the records)."""

from __future__ import annotations

import json
import sys

EXIT_OK, EXIT_FAILED = 0, 1


def wall(seconds: float) -> str:
    """`3:33`, `1:02:09`: a run's wall time as a person reads it."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def render(runs: list[dict], latest: str | None) -> str:
    headers = ("run", "experiment", "status", "nodes", "wall", "spec")
    rows = []
    for r in runs:
        nodes = f"{r['finished']}/{r['nodes']}" + (f", {r['failed']} failed" if r["failed"] else "")
        spec = (r["spec"] or "–") + (f" (only {','.join(r['only'])})" if r["only"] else "")
        mark = " *" if r["run_id"] == latest else ""
        rows.append((r["run_id"] + mark, str(r["experiment"]), r["status"], nodes, wall(r["wall_s"]), spec))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in (headers, *rows)]
    return "\n".join(lines + ["* latest: what `xexp status` and `xexp report` read without a run id"])


def runs_from_cli(args) -> int:
    from xexp.running import existing_store
    from xexp.runtime.engine.runs import latest_run_id, list_runs

    if args.spec and not args.spec.endswith(".xexp"):
        print(f"xexp runs: expected a spec file (SPEC.xexp), got `{args.spec}`; a store goes with --store",
              file=sys.stderr)
        return EXIT_FAILED
    found = existing_store("runs", args.store, args.spec)
    if found is None:
        return EXIT_FAILED
    store, _ = found
    runs = list_runs(store)
    if args.json:
        print(json.dumps(runs, indent=2, default=str))
    elif not runs:
        print(f"store {store.root} has no runs", file=sys.stderr)
    else:
        print(render(runs, latest_run_id(store)))
    return EXIT_OK
