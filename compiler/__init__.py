"""The xexp compiler: spec text -> validated Spec -> execution Graph.

Pure by design: nothing here imports torch, transformers, datasets or ray, so `xexp check`
and `xexp plan` start instantly.
"""

from __future__ import annotations

from pathlib import Path

from xexp.compiler.errors import SpecError, SpecErrors
from xexp.compiler.graph import Graph, Node
from xexp.compiler.lower import lower
from xexp.compiler.overrides import apply_overrides, is_setting, relabel
from xexp.compiler.parser import parse, parse_recovering
from xexp.compiler.spec import Spec
from xexp.compiler.validate import validate


def compile_spec(text: str, filename: str = "<spec>", variables: dict[str, str] | None = None, *,
                 spans: dict | None = None) -> Spec:
    """Parse and validate, reporting syntax and meaning errors of the whole file together.

    `variables` are the `--set NAME=VALUE` overrides: of a `var`, or of any setting (overrides.py).
    """
    module, syntax_errors = parse_recovering(text, filename)
    overrides = variables or {}
    settings = {name: value for name, value in overrides.items() if is_setting(name)}
    if not settings:
        return validate(module, overrides, syntax_errors=syntax_errors, spans=spans)
    module, override_errors, first_line = apply_overrides(module, settings)
    try:
        return validate(module, {n: v for n, v in overrides.items() if n not in settings},
                        syntax_errors=syntax_errors + override_errors, spans=spans)
    except SpecError as err:
        raise relabel(err, module, first_line) from None


def compile_text(text: str, filename: str = "<spec>", variables: dict[str, str] | None = None) -> tuple[Spec, Graph]:
    """Spec and graph; local paths in the spec resolve against `filename`'s folder."""
    spec = compile_spec(text, filename, variables)
    return spec, lower(spec, spec_folder(filename))


def spec_folder(filename: str) -> Path | None:
    """The folder relative paths of a spec mean: the spec file's own; None for `<spec>` text."""
    if filename.startswith("<"):
        return None
    return Path(filename).parent


def read_spec(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such spec file: {path}", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read spec file: {err}", file=str(path)) from None


def compile_file(path: str | Path, variables: dict[str, str] | None = None) -> Graph:
    """The graph of a spec file."""
    return compile_text(read_spec(path), str(path), variables)[1]


__all__ = ["Graph", "Node", "Spec", "SpecError", "SpecErrors", "compile_file", "compile_spec", "compile_text",
           "lower", "parse", "read_spec", "validate"]
