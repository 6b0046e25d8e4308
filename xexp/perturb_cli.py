"""`xexp perturb`: try a perturbation on a text or a JSONL file, or list them all."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from xexp.compiler.errors import did_you_mean
from xexp.errors import DataError, SpecValueError


#: The file name errors about `--param` carry: they point into the call the parameters make.
PARAM_ORIGIN = "--param"


def bound_params(name: str, pairs: list[str] | None) -> dict:
    """The --param values as the spec language reads them: `p=0.2`, `lexicon=synthetic()`,
    `ops=[insert delete]`, through the compiler's parser and the entry's schema, so a bad one is
    the same error a spec would get, with a caret under it. Nothing is executed."""
    from dataclasses import replace

    from xexp.compiler import ast
    from xexp.compiler.binding import bind
    from xexp.compiler.errors import ErrorSink, SpecErrors
    from xexp.compiler.parser import parse_recovering

    call = f"{name}({', '.join(pairs or [])})"
    stand_in = "_="  # a call is a value: parse `_=CALL`, then show the call alone
    module, errors = parse_recovering(stand_in + call, PARAM_ORIGIN)
    params = None
    if not errors:
        statement = module.statements[0] if len(module.statements) == 1 else None
        value = statement.value if isinstance(statement, ast.Assignment) else None
        sink = ErrorSink(PARAM_ORIGIN, stand_in + call)
        if isinstance(value, ast.Call):
            bound = bind(value, ("perturbation",), {}, sink)
            params = bound[1] if bound else None
        else:
            sink.error("expected --param NAME=VALUE", ast.Span(1, 3, 1, 3 + len(call)))
        errors = sink.errors
    if errors:
        def shifted(err):
            span = err.span
            moved = ast.Span(span.line, max(1, span.column - len(stand_in)), span.end_line,
                             max(1, span.end_column - len(stand_in)))
            return type(err)(err.message, file=err.file, span=moved, source_line=call, hint=err.hint)

        raise SpecErrors([shifted(e) for e in errors]) if len(errors) > 1 else shifted(errors[0])
    return params or {}


def language_problem(entry, lang: str, params: dict) -> str | None:
    """Why `lang` cannot be perturbed by `entry` (an unknown code, a language it does not
    support), as `xexp check` would say it; None when it can."""
    from xexp.compiler.languages import KNOWN_LANGUAGES, XNLI_LANGUAGES

    if lang not in KNOWN_LANGUAGES:
        hint = did_you_mean(lang, sorted(KNOWN_LANGUAGES))
        return (f"--lang {lang}: unknown language code" + (f"; {hint}" if hint else "")
                + f" (XNLI languages: {' '.join(XNLI_LANGUAGES)})")
    if entry.languages is not None and lang not in entry.languages:
        return (f"--lang {lang}: `{entry.name}` does not apply to it (its languages: "
                f"{' '.join(sorted(entry.languages))})")
    problem = entry.params.model_validate(params).language_problem(lang)
    return f"--lang {lang}: {problem}" if problem else None


def _fields(entry) -> str:
    """The `on` fields of each task family the entry works on, with the default (registry/base.py)."""
    from xexp.compiler.registry import REGISTRY
    from xexp.compiler.registry.base import FAMILY_FIELDS

    families = dict.fromkeys(t.family for t in REGISTRY.of("task_type")
                             if entry.task_types is None or t.name in entry.task_types)
    parts = [f"{family} {'/'.join(f for f in FAMILY_FIELDS[family] if f in entry.fields)} "
             f"(default {entry.default_field_for({}, family)})" for family in families if family in FAMILY_FIELDS]
    return ", ".join(parts)


def _described(entry, params: dict) -> str:
    """`p=0.1 (default)`: the parameters a perturbation ran with."""
    given = {k: v for k, v in params.items() if k in entry.params.model_fields}
    shown = ", ".join(f"{k}={v!r}" for k, v in given.items()) or "its defaults"
    return shown


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
        raise SpecValueError(f"no perturbation or attack named `{name}`" + (f"; {hint}" if hint else ""))
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
    from xexp.compiler.errors import SpecError

    try:
        params = bound_params(args.name, args.param)
    except SpecError as err:
        print(err.render(), file=sys.stderr)
        return 2
    problem = language_problem(entry, args.lang, params)
    if problem:
        print(f"xexp perturb: {problem}", file=sys.stderr)
        return 2
    from xexp.runtime.robustness.perturbations import apply, perturb_example

    try:
        if args.input:
            from xexp.compiler.registry.families import table_family
            out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
            changed = total = 0
            with Path(args.input).open(encoding="utf-8") as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        example = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise DataError(f"{args.input}:{number}", f"not JSON ({err.msg})") from None
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
        perturbed = apply(args.name, args.text, lang=args.lang, seed=args.seed, **params)
        print(perturbed)
        if perturbed == args.text:  # say why nothing changed, where the user reads it
            print(f"note: unchanged: `{args.name}` left this text as it was with "
                  f"{_described(entry, params)} and seed {args.seed}; try a larger value or another --seed",
                  file=sys.stderr)
        return 0
    except (ValueError, TypeError) as err:
        print(f"xexp perturb: {err}", file=sys.stderr)
        return 2
