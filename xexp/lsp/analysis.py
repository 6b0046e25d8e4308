"""One pass of the compiler over an open document: what `xexp check` would say, plus what the
editor features read (the AST, the names, the validated Spec when there is one).

The pass is the compiler's own: `parse_recovering` then `validate` (what `compile_spec` does
without `--set`), and on save the look at local inputs that `xexp check` makes without
`--no-inputs` (compiler/input_check.py with the runtime's first-rows reader). Nothing here
parses spec text a second way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xexp.compiler import ast, spec_folder
from xexp.compiler.errors import ErrorSink, SpecError
from xexp.compiler.parser import parse_recovering
from xexp.compiler.spec import Spec
from xexp.compiler.validate import validate
from xexp.lsp.pieces import PieceParser
from xexp.lsp.positions import lines_of
from xexp.lsp.symbols import SymbolIndex, index


@dataclass
class Analysis:
    text: str
    filename: str
    module: ast.Module
    errors: list[SpecError]
    spec: Spec | None
    names: SymbolIndex
    lines: list[str] = field(default_factory=list)
    inputs_checked: bool = False


def analyse(text: str, filename: str, *, inputs: bool = False, pieces: PieceParser | None = None) -> Analysis:
    """Parse and validate `text` as the file `filename` (its folder is where relative paths
    point). `inputs`: also look at the local files a run would read, as `xexp check` does.
    `pieces`: parse through this statement cache (pieces.py; the same result, faster while typing)."""
    module, syntax_errors = pieces.parse(text, filename) if pieces is not None else parse_recovering(text, filename)
    spans: dict = {}
    spec: Spec | None = None
    try:
        spec = validate(module, {}, syntax_errors=syntax_errors, spans=spans)
        errors: list[SpecError] = []
    except SpecError as err:
        errors = err.errors
    if spec is not None and inputs:
        errors = _input_errors(spec, spans, text, filename)
    return Analysis(text, filename, module, errors, spec, index(module), lines_of(text), inputs)


def _input_errors(spec: Spec, spans: dict, text: str, filename: str) -> list[SpecError]:
    from xexp.compiler.input_check import check_local_inputs
    from xexp.runtime.data.preview import preview_problem  # light: stdlib readers and the normalizer

    sink = ErrorSink(filename, text)
    check_local_inputs(spec, spans, sink, preview_problem, base=spec_folder(filename))
    return list(sink.errors)


def filename_of(uri: str) -> str:
    """The path a `file:` URI names (relative paths in the spec mean its folder), else a
    `<name>` the compiler reads as "no folder"."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return str(Path(unquote(parsed.path)))
    return f"<{uri}>"
