"""Spec text of a value, as `xexp fmt` prints it (compiler/fmt.py is the one printer)."""

from __future__ import annotations

from xexp.compiler import ast
from xexp.compiler.fmt import value_text


def call_text(value: ast.Value) -> str:
    return value_text(value)
