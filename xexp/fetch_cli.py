"""`xexp fetch SPEC`: prefetch hub models and datasets into the store (runtime/engine/prefetch.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from xexp.compiler import compile_text, read_spec
from xexp.spec_loading import default_store, spec_variables

EXIT_OK, EXIT_FAILED = 0, 1


def fetch_from_cli(args) -> int:
    from xexp.runtime.engine.prefetch import download_models, hub_cache
    from xexp.runtime.engine.store import Store
    from xexp.running import run_spec

    spec_path = Path(args.file)
    variables = spec_variables(args.set)
    _spec, graph = compile_text(read_spec(spec_path), str(spec_path), variables)
    store = args.store or default_store(spec_path)
    root = Store(str(store)).root
    try:
        models = download_models(graph, root, sys.stderr)
    except Exception as err:  # no network, no such repo, no permission: one line, nothing lost
        print(f"xexp fetch: cannot download the spec's hub models into {hub_cache(root)}: "
              f"{type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_FAILED
    summary = run_spec(spec_path, store=store, variables=variables, only=("model", "load"), latest=False)
    if summary["failed"]:
        return EXIT_FAILED
    print(f"fetched {len(models)} hub models into {hub_cache(root)} and {summary['nodes']} model and load "
          f"nodes into {root}; offline: HF_HUB_OFFLINE=1 xexp run {spec_path} --store {root}")
    return EXIT_OK
