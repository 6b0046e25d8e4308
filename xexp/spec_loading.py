"""What every command does with a spec before its own work: read the `--set` variables, compile
the spec as `xexp check` sees it, and find its store.

Kept apart from the commands so that each command (cli.py, running.py, costs.py, fetch_cli.py)
and the public API in `xexp/__init__` share these rules without importing one another. Light at
import: the compiler loads only when a spec is compiled.
"""

from __future__ import annotations

import os
from pathlib import Path

STORE_ENV = "XEXP_STORE"


def default_store(spec_path: str | Path) -> str | Path:
    """Where artifacts live unless --store says otherwise: $XEXP_STORE (a path or URL, so one
    store can serve every spec and command), else `.xexp/` beside the spec."""
    return os.environ.get(STORE_ENV) or Path(spec_path).resolve().parent / ".xexp"


def spec_variables(pairs: list[str] | None) -> dict[str, str]:
    """The `--set NAME=VALUE` pairs of a command line as the compiler's variables."""
    from xexp.compiler import SpecError

    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SpecError(f"--set expects NAME=VALUE, got `{pair}`", file="--set",
                            hint=f"e.g. --set {pair}=VALUE" if pair else None)
        name, value = pair.split("=", 1)
        out[name.strip()] = path_from_here(value)
    return out


def path_from_here(value: str) -> str:
    """A relative path typed on the command line means the current directory (paths written in
    the spec mean the spec's folder): `--set data=../data` is made absolute when it
    exists here. Values that do not look like an existing path are left alone."""
    looks_like_path = value.startswith((".", "~")) or os.sep in value
    expanded = os.path.expanduser(value)
    if looks_like_path and not os.path.isabs(expanded) and os.path.exists(expanded):
        return os.path.abspath(expanded)
    return value


def compile_for_command(path: str | Path, sets: list[str] | None, *, inputs: bool = True):
    """(Spec, Graph) of a spec file as `xexp check` sees it, with the command line's `--set`
    pairs; its local inputs are looked at unless `inputs` is off."""
    from xexp.compiler import read_spec
    from xexp.preflight import compile_checked

    return compile_checked(read_spec(path), str(path), spec_variables(sets), inputs=inputs)
