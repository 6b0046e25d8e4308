"""The typed syntax tree of a spec. Every node keeps its source span for error messages.

This is the stage between lark's parse tree and the validated `Spec`: it says what was
*written* (and where), not yet what it *means*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int  # exclusive, 1-based like lark's

    @property
    def width(self) -> int:
        return max(1, self.end_column - self.column) if self.end_line == self.line else 1


NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True)
class Str:
    value: str
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Num:
    value: int | float
    text: str = field(compare=False, default="")
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Name:
    name: str
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class ListValue:
    items: tuple["Value", ...]
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Argument:
    key: str | None
    value: "Value"
    key_span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Argument, ...]
    name_span: Span = field(compare=False, default=NO_SPAN)
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class MapValue:
    entries: tuple["Entry", ...]
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Sweep:
    items: ListValue
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class TrainedOn:
    """`TARGET trained_on SOURCE [in [...]]`, or `TARGET in [...]` (source None): a target
    without training of its own (retrieval), or one trained on itself."""

    target: Name
    source: Name | None
    span: Span = field(compare=False, default=NO_SPAN)
    languages: "ListValue | None" = None  # `… in [de fr]`: this target's languages


Value = Union[Str, Num, Name, ListValue, Call, MapValue, Sweep, TrainedOn]


@dataclass(frozen=True)
class Entry:
    key: str  # dotted, e.g. "train.gpus"
    value: Value
    on: Name | None = None
    languages: ListValue | None = None
    key_span: Span = field(compare=False, default=NO_SPAN)
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Header:
    keyword: Name
    name: Name
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Declaration:
    keyword: Name
    name: Name
    value: Value
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Assignment:
    name: Name
    value: Value
    span: Span = field(compare=False, default=NO_SPAN)


@dataclass(frozen=True)
class Block:
    keyword: Name
    label: Name | None
    entries: tuple[Entry, ...]
    span: Span = field(compare=False, default=NO_SPAN)


Statement = Union[Header, Declaration, Assignment, Block]


@dataclass(frozen=True)
class Comment:
    text: str  # including the leading '#'
    line: int
    column: int


@dataclass(frozen=True)
class Module:
    statements: tuple[Statement, ...]
    filename: str = field(compare=False, default="<spec>")
    source: str = field(compare=False, default="")
    comments: tuple[Comment, ...] = field(compare=False, default=())


def span_of(value) -> Span:
    return getattr(value, "span", NO_SPAN)
