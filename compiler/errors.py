"""SpecError: the only exception the compiler lets out, rendered like a compiler's message.

    specs/demo.xexp:12:10: error: unknown perturbation `char_nose`
       |
    12 |   typo = char_nose(p=0.05)
       |          ^^^^^^^^^
       = hint: did you mean `char_noise`?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from xexp.compiler.ast import NO_SPAN, Span
from xexp.errors import Category, XexpError


class SpecError(XexpError):
    """A problem in a spec, located at file:line:column, with an optional hint.

    Raised by `xexp check`, `plan` and `run` before anything runs. What to do: fix the spec
    where the caret points; the hint names the closest valid word when there is one.
    """

    category = Category.SPEC

    def __init__(self, message: str, *, file: str = "<spec>", span: Span = NO_SPAN,
                 source_line: str = "", hint: str | None = None):
        self.message = message
        self.file = file
        self.span = span
        self.line = span.line
        self.column = span.column
        self.source_line = source_line
        self.hint = hint
        super().__init__(self.render())

    @property
    def errors(self) -> list["SpecError"]:
        return [self]

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        out = [f"{where}: error: {self.message}"]
        if self.line and self.source_line is not None:
            number = str(self.line)
            pad = " " * len(number)
            text = self.source_line.expandtabs(1)
            caret = " " * (self.column - 1) + "^" * min(self.span.width, max(1, len(text) - self.column + 1))
            out += [f"{pad} |", f"{number} | {text}", f"{pad} | {caret}"]
            if self.hint:
                out.append(f"{pad} = hint: {self.hint}")
        elif self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)


class SpecErrors(SpecError):
    """Several independent errors found in one pass; renders all of them, in source order."""

    def __init__(self, errors: Iterable[SpecError]):
        self._errors = sorted(errors, key=lambda e: (e.line, e.column))
        first = self._errors[0]
        super().__init__(first.message, file=first.file, span=first.span,
                         source_line=first.source_line, hint=first.hint)

    @property
    def errors(self) -> list[SpecError]:
        return list(self._errors)

    def render(self) -> str:
        errors = getattr(self, "_errors", None)
        if not errors:
            return super().render()
        body = "\n\n".join(e.render() for e in errors)
        return f"{body}\n\n{len(errors)} error{'s' if len(errors) > 1 else ''} found"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate(s), or None when nothing is close."""
    options = sorted(set(candidates))
    close = difflib.get_close_matches(word, options, n=2, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    if not close:
        return None
    return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"


class ErrorSink:
    """Collects errors for one file so validation can report every independent problem at once."""

    def __init__(self, filename: str, source: str):
        self.filename = filename
        # lines as the lexer counts them: only "\n" ends a line (not form feeds or U+2028)
        self.lines = [line.removesuffix("\r") for line in source.split("\n")]
        self.errors: list[SpecError] = []

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def error(self, message: str, span: Span = NO_SPAN, hint: str | None = None) -> SpecError:
        for earlier in self.errors:  # a block validated once per phase must not report its problems twice
            if (earlier.message, earlier.span) == (message, span):
                return earlier
        err = SpecError(message, file=self.filename, span=span, source_line=self.line_text(span.line), hint=hint)
        self.errors.append(err)
        return err

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpecErrors(self.errors)
