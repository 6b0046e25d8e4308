"""`--set NAME=VALUE` for any setting of a spec, not only its `var`s.

    --set data=/mnt/xnli              a `var` (the value is taken as a string, as before)
    --set seeds=[1,2,3]               an assignment: intermediate, target, languages, seeds
    --set languages=[en,de]
    --set train.target.lr=2e-5        an entry of a block: train PHASE|TASK, evaluate [TARGET], report,
    --set report.bootstrap=2000         perturbations, resources (`resources.train.gpus=1`)
    --set model.xlmr=hf("xlm-roberta-base")    the value of a `model` or `task` declaration

A setting override is written in the spec language and replaces (or adds) that statement in the
parsed module, so the validator checks it exactly as if it had been in the file. Each override is
appended to the module's source as one extra line, so every error about it carries a caret under
the override text; `relabel` then names it `--set:N:COL` (the N-th setting override) instead of a
line past the end of the spec.
"""

from __future__ import annotations

from dataclasses import replace

from xexp.compiler import ast
from xexp.compiler.errors import SpecError, SpecErrors, did_you_mean
from xexp.compiler.parser import parse_recovering

ASSIGNMENTS = ("intermediate", "target", "languages", "seeds")
BLOCKS = ("perturbations", "train", "evaluate", "resources", "report")
LABELLED_BLOCKS = ("train",)  # train intermediate|target|TASK { … }
DECLARATIONS = ("model", "task")
ORIGIN = "--set"


def is_setting(name: str) -> bool:
    """Whether `--set NAME=…` names a setting rather than a `var` (vars are plain names)."""
    return name in ASSIGNMENTS or "." in name


def apply_overrides(module: ast.Module, settings: dict[str, str]) -> tuple[ast.Module, list[SpecError], int]:
    """The module with each setting override spliced in (its source grown by one line per override),
    the overrides' own errors, and the line of the first override: errors from there on are theirs."""
    first_line = len(module.source.split("\n")) + 1
    statements = list(module.statements)
    lines: list[str] = []
    errors: list[SpecError] = []
    for index, (name, value) in enumerate(settings.items()):
        text = f"{name}={value}"
        lines.append(text)
        line = first_line + index
        parsed = _parse_value(name, value, line, module.filename, errors)
        if parsed is None:
            continue
        name_span = ast.Span(line, 1, line, len(name) + 1)
        problem = _splice(statements, name, parsed, name_span)
        if problem is not None:
            message, hint = problem
            errors.append(SpecError(message, file=module.filename, span=name_span, source_line=text, hint=hint))
    source = "\n".join([module.source, *lines]) if lines else module.source
    return replace(module, statements=tuple(statements), source=source), errors, first_line


def _parse_value(name: str, value: str, line: int, filename: str, errors: list[SpecError]) -> ast.Value | None:
    # A same-width stand-in name keeps every column of the value where it is in `NAME=VALUE`.
    text = "\n" * (line - 1) + "_" * len(name) + "=" + value
    module, syntax = parse_recovering(text, filename)
    if syntax:
        errors.extend(syntax)
        return None
    if len(module.statements) != 1 or not isinstance(module.statements[0], ast.Assignment):
        errors.append(SpecError("one value expected after `=`", file=filename,
                                span=ast.Span(line, len(name) + 2, line, len(name) + 2 + max(1, len(value))),
                                source_line=f"{name}={value}"))
        return None
    return module.statements[0].value


def _splice(statements: list, name: str, value: ast.Value, span: ast.Span) -> tuple[str, str | None] | None:
    """Replace or add the statement `name` names; a (message, hint) when it names nothing."""
    parts = name.split(".")
    if len(parts) == 1:
        at = _find(statements, lambda s: isinstance(s, ast.Assignment) and s.name.name == name)
        new = ast.Assignment(ast.Name(name, span), value, span)
        _put(statements, at, new)
        return None
    head = parts[0]
    if head in DECLARATIONS:
        if len(parts) != 2:
            return f"`{name}`: write {head}.NAME=VALUE", None
        at = _find(statements, lambda s: isinstance(s, ast.Declaration) and s.keyword.name == head
                   and s.name.name == parts[1])
        if at is None:
            return f"the spec declares no {head} `{parts[1]}`", None
        statements[at] = replace(statements[at], value=value)
        return None
    if head not in BLOCKS:
        known = [*ASSIGNMENTS, *BLOCKS, *DECLARATIONS]
        return f"`{name}` names no setting", did_you_mean(head, known) or (
            "settings: " + ", ".join(known) + " (a block entry is BLOCK.KEY, e.g. train.target.lr)")
    labelled = head in LABELLED_BLOCKS or (head == "evaluate" and len(parts) == 3)  # evaluate[.TARGET].KEY
    label = parts[1] if labelled else None
    key = ".".join(parts[2:] if labelled else parts[1:])
    if not key:
        return f"`{name}` names a block, not a setting", f"e.g. --set {name}.lr=2e-5"
    entry = ast.Entry(key, value, None, None, span, span)
    at = _find(statements, lambda s: isinstance(s, ast.Block) and s.keyword.name == head
               and (s.label.name if s.label else None) == label)
    if at is None:
        label_name = ast.Name(label, span) if label else None
        statements.append(ast.Block(ast.Name(head, span), label_name, (entry,), span))
        return None
    block = statements[at]
    entries = list(block.entries)
    _put(entries, _find(entries, lambda e: e.key == key), entry)
    statements[at] = replace(block, entries=tuple(entries))
    return None


def _find(items: list, predicate) -> int | None:
    return next((i for i, item in enumerate(items) if predicate(item)), None)


def _put(items: list, at: int | None, new) -> None:
    if at is None:
        items.append(new)
    else:
        items[at] = new


def relabel(err: SpecError, module: ast.Module, first_line: int) -> SpecError:
    """Errors on an override's line are named `--set:N:COL`, N counting the setting overrides."""
    lines = module.source.split("\n")
    fixed = [_relabel_one(e, lines, first_line) for e in err.errors]
    return fixed[0] if len(fixed) == 1 else SpecErrors(fixed)


def _relabel_one(err: SpecError, lines: list[str], first_line: int) -> SpecError:
    if err.line < first_line:
        return err
    number = err.line - first_line + 1
    span = ast.Span(number, err.span.column, number, err.span.end_column)
    text = lines[err.line - 1] if err.line <= len(lines) else err.source_line
    return SpecError(err.message, file=ORIGIN, span=span, source_line=text, hint=err.hint)
