"""`xexp perturb`: try a perturbation on a text or a JSONL file, or list them all."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from xexp.compiler.errors import did_you_mean


def _value(text: str):
    """A --param value: JSON when it parses (numbers, lists, true/false), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _params(pairs: list[str] | None) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"xexp perturb: --param expects K=V, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key] = _value(value)
    return out


def _fields(entry) -> str:
    """The `on` fields of each task family the entry works on, with the default (registry/base.py)."""
    from xexp.compiler.registry import REGISTRY
    from xexp.compiler.registry.base import FAMILY_FIELDS

    families = dict.fromkeys(t.extra.get("family") for t in REGISTRY.of("task_type")
                             if entry.task_types is None or t.name in entry.task_types)
    parts = [f"{family} {'/'.join(f for f in FAMILY_FIELDS[family] if f in entry.fields)} "
             f"(default {entry.default_field_for({}, family)})" for family in families if family in FAMILY_FIELDS]
    return ", ".join(parts)


def describe_entry(entry) -> list[str]:
    """One entry: its signature, where it applies, and its whole documentation."""
    import textwrap

    params = ", ".join(
        name if f.is_required() else f"{name}={f.get_default()!r}"
        for name, f in entry.params.model_fields.items())
    langs = "all languages" if entry.languages is None else " ".join(sorted(entry.languages))
    tasks = "every task type" if entry.task_types is None else " ".join(entry.task_types)
    lines = [f"  {entry.name}({params})",
             f"      fields: {_fields(entry)}; languages: {langs}; targets: {tasks}"]
    doc = " ".join(entry.doc.split())
    lines += textwrap.wrap(doc, width=100, initial_indent="      ", subsequent_indent="      ")
    return lines


def list_all(name: str | None = None) -> str:
    """Every perturbation and attack, or only `name` (ValueError when no entry has that name)."""
    from xexp.compiler.registry import REGISTRY

    lines = []
    for category in ("perturbation", "attack"):
        entries = [e for e in REGISTRY.of(category) if name in (None, e.name)]
        if entries:
            lines.append(f"{category}s:")
        for entry in entries:
            lines += describe_entry(entry)
    if not lines:
        known = REGISTRY.names("perturbation") + REGISTRY.names("attack")
        hint = did_you_mean(name or "", known)
        raise ValueError(f"no perturbation or attack named `{name}`" + (f"; {hint}" if hint else ""))
    return "\n".join(lines)


def perturb_from_cli(args) -> int:
    from xexp.compiler.registry import REGISTRY

    if args.list:  # `--list NAME` shows one entry
        try:
            print(list_all(args.name))
        except ValueError as err:
            print(f"xexp perturb: {err}", file=sys.stderr)
            return 2
        return 0
    if not args.name:
        print("xexp perturb: name a perturbation (see `xexp perturb --list`)", file=sys.stderr)
        return 2
    entry = REGISTRY.get("perturbation", args.name)
    if entry is None and REGISTRY.get("attack", args.name) is not None:
        print(f"xexp perturb: `{args.name}` is an attack: it searches against a trained model's predictions, so "
              "it runs in `xexp run` (list it under `perturbations { … }` in a spec)", file=sys.stderr)
        return 2
    if entry is None:
        hint = did_you_mean(args.name, REGISTRY.names("perturbation"))
        print(f"xexp perturb: unknown perturbation `{args.name}`" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return 2
    if not args.lang:
        print("xexp perturb: --lang is required (the language of the text)", file=sys.stderr)
        return 2
    params = _params(args.param)
    from xexp.runtime.perturbations import apply, perturb_example

    try:
        if args.input:
            from xexp.runtime.perturbations.fields import table_family
            out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
            changed = total = 0
            with Path(args.input).open(encoding="utf-8") as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        example = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise ValueError(f"{args.input}:{number}: not JSON ({err.msg})") from None
                    field = args.field or entry.default_field_for(params, table_family(list(example)))
                    new, did_change = perturb_example(args.name, params, field, example, args.lang, args.seed)
                    out.write(json.dumps({**new, "changed": did_change}, ensure_ascii=False) + "\n")
                    total += 1
                    changed += bool(did_change)
            if out is not sys.stdout:
                out.close()
            print(f"{changed} of {total} examples changed", file=sys.stderr)
            return 0
        if args.text is None:
            print("xexp perturb: give a TEXT or --input FILE.jsonl", file=sys.stderr)
            return 2
        print(apply(args.name, args.text, lang=args.lang, seed=args.seed, **params))
        return 0
    except (ValueError, TypeError) as err:
        print(f"xexp perturb: {err}", file=sys.stderr)
        return 2
