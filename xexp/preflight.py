"""`xexp check`'s compile: the spec, then a cheap look at its local inputs (compiler/input_check.py)
with the runtime's reader of first rows. No network: hub data and models are left to the run."""

from __future__ import annotations

from xexp.compiler import Graph, Spec, compile_spec, lower, spec_folder
from xexp.compiler.errors import ErrorSink
from xexp.compiler.input_check import check_local_inputs


def compile_checked(text: str, filename: str, variables: dict[str, str] | None = None, *,
                    inputs: bool = True) -> tuple[Spec, Graph]:
    """compile_text, plus (with `inputs`) every local input a run would fail to read as a
    SpecError with a caret."""
    from xexp.runtime.data.preview import preview_problem  # light: stdlib readers and the normalizer

    spans: dict = {}
    spec = compile_spec(text, filename, variables, spans=spans)
    base = spec_folder(filename)
    sink = ErrorSink(filename, text)
    if inputs:
        check_local_inputs(spec, spans, sink, preview_problem, base=base)
    sink.raise_if_any()
    return spec, lower(spec, base)
