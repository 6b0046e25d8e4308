"""xexp: a declarative experiment spec compiler for cross-lingual robustness research.

The small public Python API. Importing `xexp` stays light (no torch, no ray): the heavy parts
load only when `run` or `perturb` is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xexp.spec_loading import default_store  # light: the compiler loads only when a spec compiles


def __getattr__(name: str) -> Any:
    """`xexp.__version__`, read lazily: importlib.metadata costs tens of ms at start-up."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("xexp")
        except PackageNotFoundError:  # running from a source tree
            return "0.0.0+local"
    raise AttributeError(name)


def compile(path: str | Path, variables: dict[str, str] | None = None):  # noqa: A001 (the verb users expect)
    """Parse, validate and lower a spec file: returns (Spec, Graph)."""
    from xexp.compiler import compile_text, read_spec

    return compile_text(read_spec(path), str(path), variables)


def plan(path: str | Path, store: str | Path | None = None, variables: dict[str, str] | None = None) -> list[dict]:
    """Every node of a spec's graph with whether it would run, and why."""
    from xexp.planning import plan_rows

    _spec, graph = compile(path, variables)
    return plan_rows(graph, store if store is not None else default_store(path))


def run(path: str | Path, **options: Any):
    """Execute a spec on Ray (local unless `address=` names a cluster); returns the run result."""
    from xexp.running import run_spec

    return run_spec(Path(path), **options)


def perturb(name: str, text: str, *, lang: str, seed: int = 0, **params: Any) -> str:
    """Apply one model-agnostic perturbation to a text, as a `perturb` node would."""
    from xexp.runtime.robustness.perturbations import apply

    return apply(name, text, lang=lang, seed=seed, **params)


__all__ = ["__version__", "compile", "default_store", "perturb", "plan", "run"]
