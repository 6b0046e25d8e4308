"""The `xexp` command line: check, plan, fmt, run, status, runs, report, gc, perturb, models.

Spec problems exit with status 2 and a compiler-style message; nothing here prints a lark or
pydantic traceback. Only `run`, `report`, `perturb` and `models` import the heavy runtime.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Callable

import xexp
from xexp.compiler import SpecError, read_spec
from xexp.errors import XexpError
from xexp.spec_loading import compile_for_command, default_store

EXIT_OK, EXIT_FAILED, EXIT_SPEC = 0, 1, 2


def _elsewhere(target: str) -> Callable[[argparse.Namespace], int]:
    """A command whose work is `"module:function"` of its own module, imported only when the
    command runs: `run` imports the runtime, and `check` must not pay for that."""
    module, _, name = target.partition(":")

    def command(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), name)(args)

    return command


def _points(value: str) -> float:
    """`--detect 1.0`: a positive effect in points."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--detect takes a number of points, got {value!r}") from None
    if not 0 < number <= 100:
        raise argparse.ArgumentTypeError(f"--detect takes points in (0, 100], got {value!r}")
    return number


def cmd_check(args) -> int:
    status = EXIT_OK
    from xexp.power_plan import study_power

    for path in args.files:
        try:
            spec, graph = compile_for_command(path, args.set, inputs=not args.no_inputs)
        except SpecError as err:
            print(err.render(), file=sys.stderr)
            status = EXIT_SPEC
            continue
        counts = graph.counts()
        print(f"{path}: ok — experiment {spec.experiment}: {len(graph.nodes)} nodes "
              f"({counts.get('train', 0)} trainings, {counts.get('evaluate', 0) + counts.get('attack', 0)} evaluations)")
        for found in study_power(spec):  # a study that cannot find anything says so now
            print(f"  power, {found.target}: {found.text}")
    return status


def cmd_plan(args) -> int:
    from xexp.planning import plan_notes, plan_rows, plan_targets, render_dot, render_mermaid, render_table
    from xexp.power_plan import power_lines, study_power

    spec, graph = compile_for_command(args.file, args.set, inputs=not args.no_inputs)
    store = args.store or default_store(args.file)
    rows = plan_rows(graph, store, force=args.force or ())
    from xexp.costs import cost_lines, plan_cost

    cost = plan_cost(graph, store, rows, gpus=args.gpus, cpus=args.cpus)
    if args.format == "json":
        print(json.dumps({"experiment": graph.experiment, "targets": plan_targets(spec), "nodes": rows,
                          "notes": plan_notes(graph), "cost": cost.to_json(),
                          "power": [p.as_dict() for p in study_power(spec, args.detect)]},
                         indent=2, ensure_ascii=False))
    elif args.format == "dot":
        print(render_dot(graph, rows))
    elif args.format == "mermaid":
        print(render_mermaid(graph, rows))
    else:
        print(render_table(graph, rows, plan_targets(spec)))
        print("\n".join(cost_lines(cost)))
        print("\n" + "\n".join(power_lines(spec, args.detect)))
    return EXIT_OK


def cmd_fmt(args) -> int:
    from xexp.compiler.fmt import format_text

    status = EXIT_OK
    changed = 0
    for path in args.files:
        text = read_spec(path)
        formatted = format_text(text, path)
        if formatted == text:
            continue
        changed += 1
        if args.check:
            print(f"{path}: would be reformatted", file=sys.stderr)
            status = EXIT_FAILED
        else:
            Path(path).write_text(formatted, encoding="utf-8")
            print(f"{path}: reformatted", file=sys.stderr)
    files = len(args.files)
    if args.check and not changed:  # success says so: silence reads like nothing was checked
        print(f"{'the file is' if files == 1 else f'all {files} files are'} formatted", file=sys.stderr)
    elif not changed:
        print(f"{'the file was' if files == 1 else f'all {files} files were'} already formatted", file=sys.stderr)
    return status


def cmd_gc(args) -> int:
    from xexp.running import existing_store
    from xexp.runtime.engine.store import StoreError
    from xexp.runtime.engine.store_gc import GcRefused, collect, delete, describe

    if args.keep_last is not None and args.keep_last < 1:
        print("xexp gc: --keep-last must be at least 1", file=sys.stderr)
        return EXIT_SPEC
    if args.spec and not (args.spec.endswith(".xexp") and Path(args.spec).is_file()):
        print(f"xexp gc: `{args.spec}` is not a spec file; a store goes with --store", file=sys.stderr)
        return EXIT_SPEC
    found = existing_store("gc", args.store, args.spec)  # a missing store is one line, not "0 B"
    if found is None:
        return EXIT_FAILED
    try:
        store = found[0]
        garbage = collect(store, keep_last=args.keep_last)
        if args.apply:
            delete(store, garbage)
    except (StoreError, GcRefused, OSError) as error:
        print(f"xexp gc: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(describe(store, garbage, applied=args.apply))
    return EXIT_OK


def cmd_lsp(args) -> int:
    from xexp.lsp import missing_dependency

    missing = missing_dependency()
    if missing:
        print(missing, file=sys.stderr)
        return EXIT_FAILED
    from xexp.lsp.server import main as serve

    serve()
    return EXIT_OK


def cmd_models(args) -> int:
    from xexp.runtime.learning.models.packaged import prepare_packaged

    out = prepare_packaged(args.name, Path(args.out) if args.out else None)
    print(out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xexp",
        description="Compile and run cross-lingual robustness experiments written in the xexp spec language.",
        epilog="Start with `xexp check spec.xexp`, look at `xexp plan spec.xexp`, then `xexp run spec.xexp`.",
    )
    parser.add_argument("--version", action="version", version=f"xexp {xexp.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_sets(p):
        p.add_argument("--set", action="append", metavar="NAME=VALUE",
                       help="override a `var` or any setting (repeatable), e.g. --set data=/path/to/data, "
                            "--set seeds=[1,2,3], --set train.target.lr=2e-5; a relative path that exists here is taken from the current directory")
        return p

    def no_inputs(p):
        p.add_argument("--no-inputs", action="store_true",
                       help="check the text only, not the local input files (e.g. where the data is not mounted)")

    p = with_sets(sub.add_parser("check", help="parse and validate specs; errors point at line:column",
                                 description="Parse and validate specs. Exit 0 when valid, 2 on spec errors."))
    p.add_argument("files", nargs="+", metavar="FILE")
    no_inputs(p)
    p.set_defaults(func=cmd_check)

    p = with_sets(sub.add_parser("plan", help="show the execution graph: every node, cached or to run and why",
                                 description="Show the execution graph before anything runs: node counts per kind, "
                                             "each node's short key, name, resources, inputs, and whether it is "
                                             "cached in the store or would run (and why)."))
    p.add_argument("file", metavar="FILE")
    p.add_argument("--store", help="artifact store (default: $XEXP_STORE, else .xexp/ beside the spec)")
    p.add_argument("--force", action="append", metavar="KIND|KEY", help="plan as if these were forced to rerun")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--dot", dest="format", action="store_const", const="dot", help="Graphviz output")
    fmt.add_argument("--mermaid", dest="format", action="store_const", const="mermaid", help="Mermaid output")
    fmt.add_argument("--json", dest="format", action="store_const", const="json", help="JSON output")
    p.add_argument("--gpus", type=float, metavar="N", help="estimate the makespan on N GPUs (default: this machine's)")
    p.add_argument("--cpus", type=float, metavar="M", help="estimate the makespan on M CPUs (default: this machine's)")
    p.add_argument("--detect", type=_points, metavar="POINTS",
                   help="also say how many seeds the primary test needs to detect this Δ flip (points)")
    no_inputs(p)
    p.set_defaults(func=cmd_plan, format="table")

    p = with_sets(sub.add_parser("profile", help="measure a spec's model on this machine, for `xexp plan`'s estimates",
                                 description="Time a few training and evaluation steps of the spec's model(s) at the "
                                             "spec's lengths and keep the rates in the user cache, where `xexp plan` "
                                             "finds them for a model or device the store has no history of."))
    p.add_argument("file", metavar="FILE")
    p.add_argument("--model", help="only this model of the spec (default: every model)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    p.set_defaults(func=_elsewhere("xexp.costs:profile_from_cli"))

    p = sub.add_parser("fmt", help="rewrite specs canonically (comments kept)",
                       description="Rewrite specs in canonical form without changing their meaning.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--check", action="store_true", help="only report files that would change (exit 1)")
    p.set_defaults(func=cmd_fmt)

    p = with_sets(sub.add_parser("run", help="execute a spec on Ray or in-process; resumes, never redoes finished nodes",
                                 description="Execute a spec on Ray: embedded local Ray by default, a cluster with "
                                             "--address or RAY_ADDRESS; or, with --executor local, in this process "
                                             "one node at a time, without Ray. Finished nodes are never redone."))
    p.add_argument("file", metavar="FILE")
    p.add_argument("--store", help="artifact store: a path or file:// URL (default: $XEXP_STORE, else .xexp/ beside the spec)")
    p.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--executor", choices=["ray", "local"], default="ray",
                   help="ray (default): nodes as Ray tasks, many at once; local: every node in this "
                        "process, one at a time, no Ray (a debugger, a machine without Ray, CI)")
    p.add_argument("--keep-going", action="store_true", help="finish every node that does not depend on a failure")
    p.add_argument("--force", action="append", metavar="KIND|KEY", help="redo nodes of this kind or key (prefix)")
    p.add_argument("--dry-run", action="store_true", help="say what would run and why, run nothing")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--dashboard", action="store_true", help="start the local Ray dashboard on 127.0.0.1")
    p.add_argument("--only", action="append", metavar="KIND[,KIND]",
                   help="run only these kinds of nodes and what they need, e.g. --only model,load")
    p.add_argument("--track", action="append", choices=["mlflow", "tensorboard"],
                   help="log the run to MLflow (<store>/mlflow.db) and/or Tune sweeps to TensorBoard")
    p.add_argument("--max-retries", type=int, default=3, help="retries of a node after a system failure")
    p.add_argument("--num-cpus", type=float, help="CPUs of the local Ray (default: all)")
    p.add_argument("--num-gpus", type=float, help="GPUs of the local Ray (default: detected)")
    no_inputs(p)
    p.set_defaults(func=_elsewhere("xexp.running:run_from_cli"))

    p = with_sets(sub.add_parser("fetch", help="download hub models and datasets into the store, for offline runs",
                                 description="Download the spec's hub models into <store>/hub and run its model and "
                                             "load nodes, so a later run (e.g. HF_HUB_OFFLINE=1) needs no network."))
    p.add_argument("file", metavar="FILE")
    p.add_argument("--store", help="artifact store (default: $XEXP_STORE, else .xexp/ beside the spec)")
    p.set_defaults(func=_elsewhere("xexp.fetch_cli:fetch_from_cli"))

    p = sub.add_parser("status", help="progress of a run, read from the store (also while it runs)")
    p.add_argument("run", nargs="?", help="run id (default: the latest), or the spec file whose store to read")
    p.add_argument("--store", default=None,
                   help="artifact store (default: the spec's, else $XEXP_STORE, else ./.xexp)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_elsewhere("xexp.running:status_from_cli"))

    p = sub.add_parser("report", help="(re)build the robustness report of a run")
    p.add_argument("run", nargs="?", help="run id (default: the latest), or the spec file whose store to read")
    p.add_argument("--store", default=None,
                   help="artifact store (default: the spec's, else $XEXP_STORE, else ./.xexp)")
    p.set_defaults(func=_elsewhere("xexp.running:report_from_cli"))

    p = sub.add_parser("runs", help="the runs of a store, newest first: spec, status, nodes, wall time")
    p.add_argument("spec", nargs="?", metavar="SPEC", help="the spec file whose store to read")
    p.add_argument("--store", default=None,
                   help="artifact store (default: the spec's, else $XEXP_STORE, else ./.xexp)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_elsewhere("xexp.runs_cli:runs_from_cli"))

    p = sub.add_parser("gc", help="remove store artifacts that no kept run references (dry run by default)",
                       description="Find node folders, scratch folders and run records that no kept run "
                                   "references and print what deleting them would free; --apply deletes.")
    p.add_argument("spec", nargs="?", metavar="SPEC", help="the spec file whose store to clean")
    p.add_argument("--store", default=None,
                   help="artifact store (default: the spec's, else $XEXP_STORE, else ./.xexp)")
    p.add_argument("--keep-last", type=int, metavar="N",
                   help="keep only the N latest runs (and running ones); default: every run")
    p.add_argument("--apply", "--yes", dest="apply", action="store_true", help="delete (default: dry run)")
    p.add_argument("--dry-run", dest="apply", action="store_false", help="only print (the default)")
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser("perturb", help="try a perturbation on a text or a JSONL file",
                       description="Apply a model-agnostic perturbation, as a run would.")
    p.add_argument("name", nargs="?", help="perturbation name, e.g. char_noise")
    p.add_argument("text", nargs="?", help="the text to perturb")
    p.add_argument("--lang", help="language code of the text")
    p.add_argument("--param", action="append", metavar="K=V", help="a parameter (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--field", default=None, help="the field of each example to perturb (files only): premise|hypothesis|both, question|context|both (QA), context|endings|both (multiple choice)")
    p.add_argument("--input", help="JSONL file of examples (premise, hypothesis, …)")
    p.add_argument("--output", help="where to write the perturbed JSONL")
    p.add_argument("--list", action="store_true", help="list every perturbation and attack")
    p.set_defaults(func=_elsewhere("xexp.perturb_cli:perturb_from_cli"))

    p = sub.add_parser("lsp", help="language server for editors (stdio): diagnostics, hover, completion",
                       description="Serve the Language Server Protocol over stdio: the compiler's errors as "
                                   "diagnostics, hover, completion, definitions, formatting (`xexp fmt`) and "
                                   "node counts. Needs the `lsp` extra: pip install \"xexp[lsp]\".")
    p.set_defaults(func=cmd_lsp)

    p = sub.add_parser("models", help="prepare packaged models")
    models = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    prep = models.add_parser("prepare", help="convert a packaged model and print its directory")
    prep.add_argument("name", choices=["multilingual-e5-small"])
    prep.add_argument("--out", help="target directory (default: the xexp cache)")
    prep.set_defaults(func=cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "perturb" and args.text is None and not any(
            e.startswith("-") for e in extra):
        args.text = " ".join(extra)  # the TEXT after options: argparse leaves it over
    elif extra:
        parser.error("unrecognized arguments: " + " ".join(extra))
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_SPEC
    try:
        return args.func(args)
    except SpecError as err:
        print(err.render(), file=sys.stderr)
        return EXIT_SPEC
    except XexpError as err:  # an unusable store, bad data, a model that does not load, …: one line
        print(f"xexp {args.command}: {err}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:  # `xexp plan … | head`
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted: finished nodes are kept in the store; run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
