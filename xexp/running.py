"""`xexp run`, `xexp status` and `xexp report`: the driver side of a run.

The run is a thin shell over the runtime: compile, open the store, start or join Ray, hand the
graph to the scheduler with a live progress display, then publish the report of this run under
`<store>/runs/<run>/report/`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xexp.compiler import read_spec
from xexp.errors import SpecValueError
from xexp.preflight import compile_checked
from xexp.spec_loading import STORE_ENV, default_store, spec_variables

EXIT_OK, EXIT_FAILED = 0, 1


def _store(root: str | Path | None, spec_path: Path):
    """The run's store; ``root`` as the user typed it (``Path()`` would mangle a URL)."""
    from xexp.runtime.engine.store import Store

    return Store(root if root else default_store(spec_path))


def publish_report(store, run_id: str, graph, states: Mapping[str, str]) -> Path | None:
    """Copy the report node's files to runs/<run>/report/ (the place users look).

    Only when this run executed or reused the report (``states``: the run's node states): a
    record left by an earlier run is not this run's report when this one failed before it.
    """
    report = next((n for n in graph.nodes if n.kind == "report"), None)
    if (report is None or states.get(report.key) not in ("done", "cached")
            or not store.is_done("report", report.key)):
        return None
    from xexp.runtime.engine.faults import fault_message, store_fault
    from xexp.runtime.engine.store import StoreFault

    from xexp.runtime.engine.publish import publish_dir

    source = store.artifact_dir("report", report.key)
    target = report_dir(store, run_id)
    try:  # built aside and swapped in: never half a report, never through a planted link
        publish_dir(target, lambda fresh: shutil.copytree(
            source, fresh, ignore=shutil.ignore_patterns("_*", "log.txt"), dirs_exist_ok=True))
    except OSError as error:
        fault = store_fault(error, store.root)
        if fault is None:
            raise
        raise StoreFault(fault_message(store.root, fault) + "; the report stays at " + str(source)) from None
    return target


def report_dir(store, run_id: str) -> Path:
    """Where a run's report is published: runs/<run>/report/."""
    from xexp.runtime.engine.runs import run_dir

    return run_dir(store, run_id) / "report"


def terminal_summary(published: Path | None) -> str:
    from xexp.runtime.ops.report_op import SUMMARY_FILE

    if published is None:
        return ""
    summary = published / SUMMARY_FILE
    return summary.read_text(encoding="utf-8") if summary.exists() else ""


def _cluster_capacity(executor: str = "ray") -> dict[str, float]:
    """What the time left is replayed on: the connected Ray cluster's CPUs and GPUs, or one node
    at a time for the local executor."""
    if executor == "local":
        return {"CPU": 1.0, "GPU": 0.0}
    import ray

    totals = ray.cluster_resources()
    return {"CPU": float(totals.get("CPU", 1.0)), "GPU": float(totals.get("GPU", 0.0))}


def run_spec(spec_path: Path, *, store: str | Path | None = None, address: str | None = None,
             keep_going: bool = False, force=(), dry_run: bool = False, dashboard: bool = False,
             max_retries: int = 3, variables: dict[str, str] | None = None, num_cpus: float | None = None,
             num_gpus: float | None = None, show_progress: bool = True, stream=None,
             summary_stream=None, track: tuple[str, ...] = (), only: tuple[str, ...] = (),
             inputs: bool = True, executor: str = "ray", latest: bool = True) -> dict[str, Any]:
    """Run a spec and return the JSON summary that `xexp run --json` prints. Progress goes to
    `stream` (stderr), the report's summary to `summary_stream` (stdout: the result is output).
    With `inputs`, local inputs are looked at as `xexp check` does, before Ray starts: a missing
    file or a bad first row is a SpecError with a caret now, not a failed load node later.
    `executor="local"` runs every node in this process without Ray (`ray_options` refused).
    A run cut to some kinds (`only`) records the nodes it runs, not the whole spec's; `latest`
    off (`xexp fetch`) keeps its record out of `runs/latest`, which names the user's last run."""
    from xexp.runtime.ops.report_op import HTML_FILE
    from xexp.progress import ProgressDisplay
    from xexp.runtime.engine.runs import create_run
    from xexp.runtime.engine.plan import plan_status
    from xexp.runtime.engine.scheduler import execute_graph
    from xexp.runtime.engine.prefetch import only_kinds, use_store_hub_cache
    from xexp.runtime.engine.tracking import after_run, check_trackers, with_tune_loggers

    stream = stream or sys.stderr
    if executor == "local":
        refused = ray_only_options(address, dashboard, num_cpus, num_gpus)
        if refused:
            raise SpecValueError(refused)
    text = read_spec(spec_path)
    _spec, graph = compile_checked(text, str(spec_path), variables, inputs=inputs)
    trackers = check_trackers(track)
    graph = with_tune_loggers(graph, trackers)
    st = _store(store, spec_path)
    use_store_hub_cache(st.root)  # models prefetched by `xexp fetch`, before Ray starts workers
    work = only_kinds(graph, list(only)) if only else graph
    if dry_run:
        from xexp.planning import changed_inputs

        states = plan_status(work, st, force=force or ())
        states.update(changed_inputs(work, st, states))
        for node in work.nodes:
            state, reason = states[node.key]
            print(f"{node.short_key}  {node.name:<50}  {state:<6}  {reason}", file=stream)
        run = sum(s == "run" for s, _ in states.values())
        return {"run_id": None, "nodes": len(work.nodes), "executed": 0, "cached": len(work.nodes) - run,
                "failed": 0, "would_run": run, "store": str(st.root), "report": None}
    st.check_writable()  # a read-only or foreign store fails here, in one line, before Ray starts
    info = {}
    if executor == "ray":
        from xexp.runtime.engine.ray_session import connect

        info = connect(address, num_cpus=num_cpus, num_gpus=num_gpus, dashboard=dashboard)
    if dashboard:
        url = info.get("dashboard_url")
        print(f"Ray dashboard: {url} (log in with the token in ~/.ray/auth_token)" if url
              else "Ray dashboard: not available (is ray[default] installed?)", file=stream)
    run_id = create_run(st, work, spec_path=str(spec_path), spec_text=text, latest=latest, only=tuple(only))
    print(f"run {run_id}: {len(work.nodes)} nodes, store {st.root}", file=stream)
    from xexp.runtime.engine.estimate.live import estimated_seconds

    estimates = estimated_seconds(work, st.root)  # learned from the store's history, before this run
    display = ProgressDisplay(work, stream=stream, store=st, estimates=estimates,
                              capacity=_cluster_capacity(executor)) if show_progress else None
    try:
        result = execute_graph(work, st, run_id=run_id, keep_going=keep_going, force=force or (),
                               max_retries=max_retries, progress=display, executor=executor,
                               estimates=estimates)
    finally:
        if display is not None:
            display.close()
    published = publish_report(st, run_id, graph, result.states)
    after_run(trackers, st, run_id, graph, published, result.failed, stream)
    summary = terminal_summary(published)
    if summary:
        print(summary, file=summary_stream or sys.stdout)
    by_key = graph.by_key()
    for key in result.keys("failed"):
        node = by_key[key]
        failure = st.read_failure(node.kind, key)
        said = f"{failure.error_type}: {failure.message}" if failure else result.errors.get(key, "")
        print(f"FAILED {node.name}: {said}\n  traceback and log: {st.artifact_dir(node.kind, key)}", file=stream)
    print(result.summary_line(), file=stream)
    if published is not None:
        print(f"report: {published / HTML_FILE}", file=stream)
    return {"run_id": run_id, "nodes": len(work.nodes), "executed": result.executed, "cached": result.cached,
            "failed": result.failed, "store": str(st.root), "report": str(published) if published else None}


def ray_only_options(address, dashboard, num_cpus, num_gpus) -> str | None:
    """The line refusing options that only configure Ray, given with the local executor."""
    given = [name for name, value in (("--address", address), ("--dashboard", dashboard),
                                      ("--num-cpus", num_cpus), ("--num-gpus", num_gpus))
             if value not in (None, False)]
    if not given:
        return None
    return f"{', '.join(given)} configure{'s' if len(given) == 1 else ''} Ray; --executor local runs without Ray"


def run_from_cli(args) -> int:
    from xexp.runtime.engine.tracking import TrackingError, check_trackers

    if args.executor == "local":
        refused = ray_only_options(args.address, args.dashboard, args.num_cpus, args.num_gpus)
        if refused:
            print(f"xexp run: {refused}", file=sys.stderr)
            return EXIT_FAILED

    try:
        check_trackers(args.track or ())
    except TrackingError as err:
        print(f"xexp run: {err}", file=sys.stderr)
        return EXIT_FAILED
    summary = run_spec(Path(args.file), store=args.store, address=args.address, keep_going=args.keep_going,
                       force=args.force or (), dry_run=args.dry_run, dashboard=args.dashboard,
                       max_retries=args.max_retries, variables=spec_variables(args.set), num_cpus=args.num_cpus,
                       num_gpus=args.num_gpus, summary_stream=sys.stderr if args.json else sys.stdout,
                       track=tuple(args.track or ()), only=tuple(k for o in args.only or () for k in o.split(",") if k),
                       inputs=not args.no_inputs, executor=args.executor)
    if args.json:
        print(json.dumps(summary))
    return EXIT_OK if summary["failed"] == 0 else EXIT_FAILED


def existing_store(command: str, store_arg: str | None, run_arg: str | None):
    """(store, run id) for `status` and `report`, or None after one line on stderr.

    The run argument may be a spec file: its store is the one `xexp run SPEC` used (beside the
    spec, or $XEXP_STORE). Without --store, ./.xexp is tried; when it does not exist the line
    names the stores found one folder down (a run of specs/demo.xexp keeps specs/.xexp)."""
    from xexp.runtime.engine.store import Store, StoreError, local_store_path

    run_id = run_arg
    if run_arg and run_arg.endswith(".xexp") and Path(run_arg).is_file():
        run_id = None
        store_arg = store_arg or str(default_store(Path(run_arg)))
    root = store_arg or os.environ.get(STORE_ENV) or ".xexp"
    try:
        path = local_store_path(root)
    except StoreError as err:
        print(f"xexp {command}: {err}", file=sys.stderr)
        return None
    if not path.is_dir():
        nearby = sorted(str(p) for p in Path.cwd().glob("*/.xexp") if p.is_dir())
        hint = f"; try --store {nearby[0]}" if nearby else "; pass --store or the spec file"
        print(f"xexp {command}: no store at {path}{hint}", file=sys.stderr)
        return None
    return Store(path), run_id


def status_from_cli(args) -> int:
    from xexp.runtime.engine.runs import status

    found = existing_store("status", args.store, args.run)
    if found is None:
        return EXIT_FAILED
    try:
        info = status(*found)
    except FileNotFoundError as err:
        print(f"xexp status: {err}", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, KeyError, TypeError) as err:  # a torn or foreign run record
        print(f"xexp status: a run record in {found[0].root} is unusable "
              f"({type(err).__name__}: {(str(err).splitlines() or [''])[0]})", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return EXIT_OK
    totals = info["totals"]
    print(f"run {info['run_id']} ({info['experiment']}): {info['status']}, {info['elapsed_s']:.0f}s, "
          f"{info['nodes']} nodes")
    states = [s for s in totals if totals[s]]
    widths = [max(10, len(s) + 2) for s in states]  # "interrupted" is wider than the numbers
    print(f"  {'kind':<10}" + "".join(f"{s:>{w}}" for s, w in zip(states, widths)))
    for kind, counts in info["kinds"].items():
        print(f"  {kind:<10}" + "".join(f"{counts[s]:>{w}}" for s, w in zip(states, widths)))
    for failure in info["failures"]:
        print(f"  failed: {failure['name']}: {failure['error']}")
    return EXIT_OK


def report_from_cli(args) -> int:
    """Rebuild the report of a finished run from its stored predictions; nothing is re-run."""
    from xexp.compiler.graph import Graph
    from xexp.runtime.ops.report_op import HTML_FILE, build_from_store
    from xexp.runtime.engine.runs import latest_run_id, read_run

    found = existing_store("report", args.store, args.run)
    if found is None:
        return EXIT_FAILED
    st, run_id = found
    run_id = run_id or latest_run_id(st)
    if run_id is None:
        print(f"xexp report: store {st.root} has no runs", file=sys.stderr)
        return EXIT_FAILED
    try:
        record = read_run(st, run_id)
        graph = Graph.model_validate(record["graph"])
        report = next(n for n in graph.nodes if n.kind == "report")
    except FileNotFoundError as err:
        print(f"xexp report: {err}", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, KeyError, TypeError, StopIteration) as err:  # torn or foreign run.json
        print(f"xexp report: the record of run {run_id!r} in {st.root} is unusable "
              f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no report node'})",
              file=sys.stderr)
        return EXIT_FAILED
    by_key = graph.by_key()
    missing = [k for k in report.inputs.values() if not st.is_done(by_key[k].kind, k)]
    if missing:
        print(f"xexp report: {len(missing)} inputs of the report are not in the store; run the spec first",
              file=sys.stderr)
        return EXIT_FAILED
    from xexp.runtime.engine.completion import ManifestError
    from xexp.runtime.engine.faults import fault_message, store_fault
    from xexp.runtime.engine.publish import publish_dir

    target = report_dir(st, run_id)
    try:  # built aside and swapped in: a full or read-only store keeps the report it had
        summary = publish_dir(target, lambda fresh: build_from_store(report, graph, st, fresh))
    except ManifestError as error:  # an input's record was altered or broken since the run
        print(f"xexp report: {error}; `xexp run` redoes that node", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # a library may wrap the OSError of a full disk in its own type
        fault = store_fault(error, st.root)
        if fault is None:
            raise
        print(f"xexp report: {fault_message(st.root, fault)}; nothing was written", file=sys.stderr)
        return EXIT_FAILED
    print(summary)
    print(f"report: {target / HTML_FILE}", file=sys.stderr)
    return EXIT_OK
