"""What the editor shows about a registry entry or a setting: its signature, its documentation
(the `Params` docstring, the one user documentation of an entry) and its snippet.

Everything is read from the registry and the settings contracts, so a new perturbation or
setting appears in hover and completion without an edit here.
"""

from __future__ import annotations

import inspect
import types as pytypes
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from xexp.compiler.binding import CATEGORY_WORDS, _spec_literal
from xexp.compiler.graph.contracts import INTERMEDIATE_DEFAULTS, TARGET_DEFAULTS, TRAIN_BOUNDS
from xexp.compiler.registry import Entry
from xexp.compiler.registry.sources import SPLIT_ARGUMENTS
from xexp.compiler.spec import EvaluateSettings, ReportSettings, TrainSettings
from xexp.compiler.validate_blocks import RESOURCE_KEYS
from xexp.compiler.graph.node import NODE_KINDS

SETTINGS: dict[str, type[BaseModel]] = {"train": TrainSettings, "evaluate": EvaluateSettings,
                                        "report": ReportSettings}
RESOURCE_WORDS = {"cpus": "CPU cores", "gpus": "GPUs (fractions share one)", "memory": "memory, e.g. \"16GB\""}
BOUND_WORDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def type_text(annotation: Any) -> str:
    """A parameter's type as a spec writer reads it: `float`, `"a"|"b"`, `[int …]`, `… or null`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(f'"{a}"' if isinstance(a, str) else str(a) for a in args)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin in (typing.Union, pytypes.UnionType):
        kinds = [type_text(a) for a in args if a is not type(None)]
        return " or ".join(kinds) + (" or null" if type(None) in args else "")
    if origin in (list, tuple):
        inner = [a for a in args if a is not Ellipsis]
        return f"[{type_text(inner[0]) if inner else 'value'} …]"
    if origin is dict:
        return "{name=value …}"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return annotation.__name__.removesuffix("Ref").lower()
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def bounds_text(info: FieldInfo) -> str:
    parts = []
    for item in info.metadata:
        for attr, word in BOUND_WORDS.items():
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{word} {value:g}" if isinstance(value, (int, float)) else f"{word} {value}")
    return ", ".join(parts)


def parameter_text(name: str, info: FieldInfo) -> str:
    text = f"{name}: {type_text(info.annotation)}"
    if not info.is_required():
        text += f" = {_spec_literal(info.get_default(call_default_factory=True))}"
    return text


def signature(entry: Entry) -> str:
    params = [parameter_text(n, f) for n, f in entry.params.model_fields.items()]
    if entry.category == "task_type":
        params = [f"{entry.positional[0] if entry.positional else 'source'}: data source",
                  *(f'{s}: "split[:rows]" or data source' for s in SPLIT_ARGUMENTS), *params]
    return f"{entry.name}({', '.join(params)})"


def entry_markdown(entry: Entry) -> str:
    lines = [f"**{entry.name}** — {CATEGORY_WORDS[entry.category]}", "", "```xexp", signature(entry), "```", "",
             inspect.cleandoc(entry.doc)]
    facts = []
    if entry.positional:
        facts.append("positional: " + ", ".join(f"`{p}`" for p in entry.positional))
    if entry.category in ("perturbation", "attack", "data_source"):
        facts.append("languages: " + (" ".join(sorted(entry.languages)) if entry.languages is not None else "all"))
    if entry.category in ("perturbation", "attack"):
        facts.append("fields: " + ", ".join(entry.fields) + f" (default {entry.default_field})")
        facts.append("task types: " + (", ".join(entry.task_types) if entry.task_types is not None else "all"))
    if entry.labels:
        facts.append("labels: " + ", ".join(entry.labels))
    if entry.family:
        facts.append(f"family: {entry.family}")
    if facts:
        lines += ["", *(f"- {fact}" for fact in facts)]
    return "\n".join(lines)


def parameter_markdown(entry: Entry, name: str) -> str | None:
    info = entry.params.model_fields.get(name)
    if info is None:
        return None
    bounds = bounds_text(info)
    lines = [f"**{name}** — parameter of `{entry.name}`", "", "```xexp", parameter_text(name, info), "```"]
    if bounds:
        lines += ["", f"bounds: {bounds}"]
    if info.is_required():
        lines += ["", "required"]
    return "\n".join(lines + ["", inspect.cleandoc(entry.doc)])


def snippet(entry: Entry) -> str:
    """A call with its required parameters (and the first positional one) as tab stops."""
    if entry.category == "task_type":
        return f'{entry.name}(${{1:local("${{2:path}}")}}, train="${{3:train}}", test="${{4:test}}")'
    stops: list[str] = []
    for name, info in entry.params.model_fields.items():
        first_positional = bool(entry.positional) and name == entry.positional[0]
        if not (info.is_required() or first_positional):
            continue
        default = "" if info.is_required() else _spec_literal(info.get_default(call_default_factory=True))
        choices = typing.get_args(info.annotation) if typing.get_origin(info.annotation) is typing.Literal else ()
        placeholder = f"${{{len(stops) + 1}:{default or name}}}"
        if first_positional and info.is_required() and (info.annotation is str or choices):
            stops.append(f'"${{{len(stops) + 1}:{choices[0] if choices else name}}}"')
        elif first_positional:
            stops.append(placeholder)
        else:
            stops.append(f"{name}={placeholder}")
    return f"{entry.name}({', '.join(stops)})"


def setting_default(block: str, label: str | None, key: str) -> Any:
    model = SETTINGS[block]
    if block == "train" and label == "intermediate" and key in INTERMEDIATE_DEFAULTS:
        return INTERMEDIATE_DEFAULTS[key]
    if block == "train" and label == "target" and key in TARGET_DEFAULTS:
        return TARGET_DEFAULTS[key]
    return model.model_fields[key].get_default(call_default_factory=True)


def setting_markdown(block: str, label: str | None, key: str) -> str | None:
    if block == "resources":
        kind, _, what = key.partition(".")
        if kind not in NODE_KINDS or what not in RESOURCE_KEYS:
            return None
        return f"**{key}** — resources of every `{kind}` node: {RESOURCE_WORDS[what]}"
    model = SETTINGS.get(block)
    if model is None or key not in model.model_fields:
        return None
    info = model.model_fields[key]
    title = f"{block} {label}" if label else block
    text = f"{key}: {type_text(info.annotation)} = {_spec_literal(setting_default(block, label, key))}"
    lines = [f"**{key}** — setting of `{title} {{…}}`", "", "```xexp", text, "```"]
    bound = TRAIN_BOUNDS.get(key) if block == "train" else None
    if bound is not None:
        low, low_ok, high, high_ok = bound
        lines += ["", f"bounds: {'≥' if low_ok else '>'} {low:g}" + (
            f", {'≤' if high_ok else '<'} {high:g}" if high is not None else "")]
    elif bounds_text(info):
        lines += ["", f"bounds: {bounds_text(info)}"]
    return "\n".join(lines + ["", inspect.cleandoc(model.__doc__ or "")])


def setting_keys(block: str) -> list[str]:
    if block == "resources":
        return [f"{kind}.{what}" for kind in NODE_KINDS for what in RESOURCE_KEYS]
    model = SETTINGS.get(block)
    return list(model.model_fields) if model is not None else []
