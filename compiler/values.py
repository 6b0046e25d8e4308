"""AST values -> plain Python values, with `{variable}` substitution in strings.

`{lang}` is left in place: it is filled per language when the graph is lowered; `{split}`
too: a local path fills it with the split's name when the data is read
(runtime/data/local.py).
"""

from __future__ import annotations

import re
from typing import Any

from xexp.compiler import ast
from xexp.compiler.errors import ErrorSink, did_you_mean

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: A `{` that starts a placeholder name and is never closed: `"{data/x.jsonl"`.
UNCLOSED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_}])")
RUNTIME_PLACEHOLDERS = ("lang", "split")
KEYWORD_VALUES = {"true": True, "false": False, "null": None}


class Unconvertible(Exception):
    """Raised for a value that has no plain form here (the error is already in the sink)."""


def substitute(text: str, variables: dict[str, str], sink: ErrorSink, span: ast.Span) -> str:
    unclosed = UNCLOSED.search(text)
    if unclosed:
        sink.error(f"placeholder `{unclosed.group(0)}` is never closed", span,
                   f"write `{unclosed.group(0)}}}`, or remove the `{{`")

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in RUNTIME_PLACEHOLDERS:
            return match.group(0)
        if name in variables:
            return variables[name]
        sink.error(f"unknown variable `{{{name}}}` in string", span,
                   did_you_mean(name, list(variables) + list(RUNTIME_PLACEHOLDERS))
                   or "declare it with `var NAME = \"value\"` or pass `--set NAME=value`")
        return match.group(0)

    return PLACEHOLDER.sub(replace, text)


def plain(value: ast.Value, variables: dict[str, str], sink: ErrorSink, *, calls=None) -> Any:
    """Convert a value. `calls(call) -> Any` handles nested calls; without it they're errors."""
    if isinstance(value, ast.Str):
        return substitute(value.value, variables, sink, value.span)
    if isinstance(value, ast.Num):
        return value.value
    if isinstance(value, ast.Name):
        return KEYWORD_VALUES.get(value.name, value.name)
    if isinstance(value, ast.ListValue):
        return [plain(v, variables, sink, calls=calls) for v in value.items]
    if isinstance(value, ast.MapValue):
        out = {}
        for entry in value.entries:
            if entry.on is not None:
                sink.error("`on` is not allowed inside `{…}`", entry.on.span)
            out[entry.key] = plain(entry.value, variables, sink, calls=calls)
        return out
    if isinstance(value, ast.Call):
        if calls is None:
            sink.error(f"a call `{value.name}(…)` is not allowed here", value.name_span)
            raise Unconvertible
        return calls(value)
    if isinstance(value, ast.Sweep):
        sink.error("`sweep[…]` is only allowed for hyperparameters in `train` blocks", value.span)
        raise Unconvertible
    if isinstance(value, ast.TrainedOn):
        if value.source is None:  # `NAME in [...]` where a value was expected
            sink.error(f"`{value.target.name} in [...]` only belongs in `target = [...]`", value.span,
                       f"a perturbation is a call: `{value.target.name}(…) in [...]`")
        else:
            sink.error("`trained_on` only belongs in `target = TASK trained_on TASK`", value.span)
        raise Unconvertible
    raise Unconvertible


def describe_value(value: ast.Value) -> str:
    kinds = {ast.Str: "a string", ast.Num: "a number", ast.Name: "a name", ast.ListValue: "a list",
             ast.Call: "a call", ast.MapValue: "a map", ast.Sweep: "a sweep", ast.TrainedOn: "`trained_on`"}
    return kinds.get(type(value), "a value")
