"""Binding a call `name(args…)` to a registry entry and validating its parameters.

Pydantic does the checking; this module turns each pydantic error into a SpecError that
points at the offending argument, so users never see a pydantic traceback.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from xexp.compiler import ast
from xexp.compiler.errors import ErrorSink, did_you_mean
from xexp.compiler.registry import REGISTRY, Entry
from xexp.compiler.values import Unconvertible, describe_value, plain

CATEGORY_WORDS = {
    "task_type": "task type", "data_source": "data source", "model_source": "model source",
    "perturbation": "perturbation", "attack": "attack", "lexicon": "lexicon",
}


def lookup(call: ast.Call, categories: tuple[str, ...], sink: ErrorSink) -> Entry | None:
    for category in categories:
        entry = REGISTRY.get(category, call.name)
        if entry is not None:
            return entry
    known = [n for c in categories for n in REGISTRY.names(c)]
    what = " or ".join(CATEGORY_WORDS[c] for c in categories)
    hint = did_you_mean(call.name, known) or ("known: " + ", ".join(sorted(set(known))) if known else None)
    sink.error(f"unknown {what} `{call.name}`", call.name_span, hint)
    return None


def arguments(call: ast.Call, entry: Entry, sink: ErrorSink) -> dict[str, ast.Argument] | None:
    """Map positional and keyword arguments to parameter names; report misuse."""
    named: dict[str, ast.Argument] = {}
    positional_seen = 0
    keyword_seen = False
    ok = True
    for arg in call.args:
        if arg.key is None:
            if keyword_seen:
                sink.error("a positional argument cannot follow a keyword argument", ast.span_of(arg.value))
                ok = False
                continue
            if positional_seen >= len(entry.positional):
                allowed = len(entry.positional)
                sink.error(f"`{call.name}` takes {allowed} positional argument{'s' if allowed != 1 else ''}",
                           ast.span_of(arg.value), _signature_hint(entry))
                ok = False
                continue
            name = entry.positional[positional_seen]
            positional_seen += 1
        else:
            name = arg.key
            keyword_seen = True
        if name in named:
            sink.error(f"parameter `{name}` given twice", arg.key_span if arg.key else ast.span_of(arg.value))
            ok = False
            continue
        named[name] = arg
    return named if ok else None


def _signature_hint(entry: Entry) -> str:
    parts = []
    for name, field in entry.params.model_fields.items():
        parts.append(name if field.is_required() else f"{name}={_spec_literal(field.get_default())}")
    return f"usage: {entry.name}({', '.join(parts)})"


def _spec_literal(value: Any) -> str:
    """A default value as a spec would write it (`[insert delete]`, `"own"`, `null`), not Python's repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        separator = " " if all(isinstance(v, (int, float)) for v in value) else ", "
        return "[" + separator.join(_spec_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + " ".join(f"{k}={_spec_literal(v)}" for k, v in value.items()) + "}"
    return str(value)


def validate_params(entry: Entry, raw: dict[str, Any], args: dict[str, ast.Argument], call: ast.Call,
                    sink: ErrorSink, context: str = "") -> dict[str, Any] | None:
    """Validate raw values against the entry's pydantic schema; errors point at arguments."""
    try:
        model = entry.params(**raw)
    except ValidationError as err:
        for problem in err.errors():
            loc = problem.get("loc") or ()
            param = str(loc[0]) if loc else ""
            arg = args.get(param)
            span = (arg.key_span if arg is not None and arg.key else ast.span_of(arg.value)) if arg else call.name_span
            kind = problem.get("type", "")
            if not loc:  # a rule across parameters (a model validator)
                message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
                sink.error(f"`{entry.name}`{context}: {message}", call.name_span, _signature_hint(entry))
            elif kind == "extra_forbidden":
                fields = list(entry.params.model_fields)
                sink.error(f"`{entry.name}` has no parameter `{param}`", span,
                           did_you_mean(param, fields) or _signature_hint(entry))
            elif kind == "missing":
                sink.error(f"`{entry.name}` needs parameter `{param}`", call.name_span, _signature_hint(entry))
            else:
                shown = describe_value(arg.value) if arg else "value"
                value_span = ast.span_of(arg.value) if arg else call.name_span
                where = ".".join(str(p) for p in loc)
                sink.error(f"parameter `{where}` of `{entry.name}`{context}: {problem.get('msg', 'invalid')}"
                           f" (got {shown} {_short(problem.get('input'))})", value_span, _signature_hint(entry))
        return None
    return model.as_params()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def bind(call: ast.Call, categories: tuple[str, ...], variables: dict[str, str], sink: ErrorSink,
         *, skip: tuple[str, ...] = ()) -> tuple[Entry, dict[str, Any], dict[str, ast.Argument]] | None:
    """Resolve and validate a call. Parameters named in `skip` are returned unconverted."""
    entry = lookup(call, categories, sink)
    if entry is None:
        return None
    args = arguments(call, entry, sink)
    if args is None:
        return None
    raw: dict[str, Any] = {}
    failed = False
    for name, arg in args.items():
        if name in skip:
            continue
        try:
            raw[name] = plain(arg.value, variables, sink, calls=lambda c: bind_lexicon(c, variables, sink))
        except Unconvertible:
            failed = True
    if failed:
        return None
    params = validate_params(entry, raw, {k: v for k, v in args.items() if k not in skip}, call, sink)
    if params is None:
        return None
    return entry, params, args


def bind_lexicon(call: ast.Call, variables: dict[str, str], sink: ErrorSink) -> dict[str, Any]:
    """A call inside a perturbation's parameters is a lexicon reference: {"kind": name, …}."""
    bound = bind(call, ("lexicon",), variables, sink)
    if bound is None:
        raise Unconvertible
    entry, params, _ = bound
    return {"kind": entry.name, **params}
