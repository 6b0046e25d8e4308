"""Module -> canonical spec text (`xexp fmt`). Keeps comments and paragraph breaks.

Canonical means: one statement per line, `=` surrounded by spaces, lists of names and numbers
space-separated and other lists comma-separated, strings double-quoted, perturbation blocks one
entry per line with aligned `=`, short settings blocks on one line. Formatting is idempotent and
never changes meaning (tests check `parse(fmt(x)) == parse(x)`).
"""

from __future__ import annotations

import re

from xexp.compiler import ast

ONE_LINE_LIMIT = 100
MULTILINE_BLOCKS = ("perturbations",)
#: A map key written without quotes (the grammar's `dotted`); other keys are printed as strings.
DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*")
KEYWORDS = ("on", "in", "sweep", "trained_on")
STRING_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r"))


def value_text(value: ast.Value) -> str:
    if isinstance(value, ast.Str):
        return string_text(value.value)
    if isinstance(value, ast.Num):
        return value.text or repr(value.value)
    if isinstance(value, ast.Name):
        return value.name
    if isinstance(value, ast.ListValue):
        # spaces between plain names and numbers; commas otherwise, and where a name is the word
        # `trained_on`, which a space would make a target (`[en, trained_on, fr]` is three names)
        simple = all(isinstance(v, (ast.Name, ast.Num)) and value_text(v) != "trained_on" for v in value.items)
        return "[" + (" " if simple else ", ").join(value_text(v) for v in value.items) + "]"
    if isinstance(value, ast.Call):
        args = [(f"{a.key}=" if a.key else "") + value_text(a.value) for a in value.args]
        return f"{value.name}({', '.join(args)})"
    if isinstance(value, ast.MapValue):
        return "{" + " ".join(entry_text(e, compact=True, in_map=True) for e in value.entries) + "}"
    if isinstance(value, ast.Sweep):
        return "sweep[" + ", ".join(value_text(v) for v in value.items.items) + "]"
    if isinstance(value, ast.TrainedOn):
        languages = f" in {value_text(value.languages)}" if value.languages is not None else ""
        source = f" trained_on {value.source.name}" if value.source is not None else ""
        return f"{value.target.name}{source}{languages}"
    raise TypeError(f"unknown value {value!r}")


def string_text(text: str) -> str:
    """A string literal using exactly the escapes the parser reads back (not JSON's `\\u…`)."""
    for raw, escaped in STRING_ESCAPES:
        text = text.replace(raw, escaped)
    return f'"{text}"'


def map_key_text(key: str) -> str:
    if DOTTED_NAME.fullmatch(key) and key not in KEYWORDS:
        return key
    return string_text(key)


def entry_text(entry: ast.Entry, *, compact: bool = False, width: int = 0, in_map: bool = False) -> str:
    key = map_key_text(entry.key) if in_map else entry.key
    key = key if compact else key.ljust(width)
    text = f"{key}={value_text(entry.value)}" if compact else f"{key} = {value_text(entry.value)}"
    if entry.on is not None:
        text += f" on {entry.on.name}"
    if entry.languages is not None:
        text += f" in {value_text(entry.languages)}"
    return text


def statement_head(st: ast.Statement, width: int = 0) -> str:
    if isinstance(st, ast.Header):
        return f"{st.keyword.name} {st.name.name}"
    if isinstance(st, ast.Declaration):
        return f"{f'{st.keyword.name} {st.name.name}'.ljust(width)} = {value_text(st.value)}"
    if isinstance(st, ast.Assignment):
        return f"{st.name.name.ljust(width)} = {value_text(st.value)}"
    raise TypeError(st)


class _Printer:
    def __init__(self, module: ast.Module):
        self.lines_of_source = module.source.split("\n")
        self.full_line = []  # comments alone on their line, in order
        self.trailing: dict[int, list[str]] = {}
        for c in module.comments:
            before = self.lines_of_source[c.line - 1][: c.column - 1] if c.line <= len(self.lines_of_source) else ""
            if before.strip():
                self.trailing.setdefault(c.line, []).append(c.text)
            else:
                self.full_line.append(c)
        self.next_comment = 0
        self.out: list = []  # lines, or (code, comment, group) for one-line statements
        self.group = 0

    def leading(self, before_line: int, indent: str) -> None:
        while self.next_comment < len(self.full_line) and self.full_line[self.next_comment].line < before_line:
            self.out.append(indent + self.full_line[self.next_comment].text)
            self.next_comment += 1

    def trailing_for(self, first: int, last: int) -> str:
        texts = [t for line in range(first, last + 1) for t in self.trailing.pop(line, [])]
        return ("  " + " ".join(texts)) if texts else ""

    def aligned(self, code: str, first: int, last: int) -> None:
        """A one-line statement whose trailing comment lines up with its neighbours' (see render)."""
        texts = [t for line in range(first, last + 1) for t in self.trailing.pop(line, [])]
        self.out.append((code, " ".join(texts), self.group))

    def has_comments_inside(self, span: ast.Span) -> bool:
        inside_full = any(span.line < c.line < span.end_line for c in self.full_line[self.next_comment:])
        inside_trailing = any(span.line <= line < span.end_line for line in self.trailing)
        return inside_full or inside_trailing

    def blank_between(self, previous_end: int, start: int) -> bool:
        first = start
        for c in self.full_line:
            if previous_end < c.line < start:
                first = min(first, c.line)
        return any(not self.lines_of_source[i - 1].strip() for i in range(previous_end + 1, first)
                   if 0 < i <= len(self.lines_of_source))

    def statement(self, st: ast.Statement, width: int = 0) -> None:
        span = st.span
        self.leading(span.line, "")
        if not isinstance(st, ast.Block):
            if isinstance(st, ast.Assignment) and is_target_list(st) and (
                    len(statement_head(st, width)) > ONE_LINE_LIMIT or self.has_comments_inside(span)):
                self.target_list(st, width)
                return
            self.aligned(statement_head(st, width), span.line, span.end_line)
            return
        head = st.keyword.name + (f" {st.label.name}" if st.label else "")
        one_line = f"{head} {{ " + " ".join(entry_text(e, compact=True) for e in st.entries) + " }"
        if not st.entries:
            one_line = f"{head} {{}}"
        if is_one_line(st) and not self.has_comments_inside(span):
            self.aligned(one_line.replace(f"{head} {{", f"{head.ljust(width)} {{", 1), span.line, span.end_line)
            return
        self.out.append(f"{head} {{" + self.trailing_for(span.line, span.line))
        width = max((len(e.key) for e in st.entries), default=0)
        for entry in st.entries:
            self.leading(entry.span.line, "  ")
            self.out.append("  " + entry_text(entry, width=width) + self.trailing_for(entry.span.line, entry.span.end_line))
        self.leading(span.end_line, "  ")
        self.out.append("}" + self.trailing_for(span.end_line, span.end_line))

    def target_list(self, st: ast.Assignment, width: int) -> None:
        """A long (or commented) list of targets, one target a line, task names aligned:

            target = [xnli  trained_on mnli,
                      pawsx trained_on paws in [de en fr]]  # comments stay on their target's line
        """
        assert isinstance(st.value, ast.ListValue)
        items = st.value.items
        head = f"{st.name.name.ljust(width)} = ["
        indent = " " * len(head)
        name_width = max(len(item.target.name) for item in items if isinstance(item, ast.TrainedOn))
        for k, item in enumerate(items):
            if k:
                self.leading(item.span.line, indent)
            text = value_text(item)
            if isinstance(item, ast.TrainedOn):
                text = item.target.name.ljust(name_width) + text[len(item.target.name):]
            last = items[k + 1].span.line - 1 if k + 1 < len(items) else st.span.end_line
            end = "," if k + 1 < len(items) else "]"
            self.out.append((head if k == 0 else indent) + text + end + self.trailing_for(item.span.line, last))

    def render(self, module: ast.Module) -> str:
        statements = module.statements
        breaks = [bool(i) and self.blank_between(statements[i - 1].span.end_line, st.span.line)
                  for i, st in enumerate(statements)]
        widths = alignment_widths(statements, breaks)
        for index, st in enumerate(statements):
            if breaks[index]:
                self.out.append("")
            if index and (breaks[index] or shape(st) != shape(statements[index - 1])):
                self.group += 1
            self.statement(st, widths[index])
        self.leading(10**9, "")
        for line in sorted(self.trailing):  # comments we could not place (inside values): keep them
            self.out.extend(self.trailing[line])
        return "\n".join(align_comments(self.out)).rstrip() + "\n"


def shape(st: ast.Statement) -> str | None:
    """Statements of one shape in one paragraph align their `=` (or `{`), as the README's examples do."""
    if isinstance(st, ast.Declaration):
        return f"declaration:{st.keyword.name}"
    if isinstance(st, ast.Assignment):
        return "assignment"
    if isinstance(st, ast.Block) and is_one_line(st):
        return "block"
    return None


def head_text(st: ast.Statement) -> str:
    if isinstance(st, ast.Declaration):
        return f"{st.keyword.name} {st.name.name}"
    if isinstance(st, ast.Assignment):
        return st.name.name
    if isinstance(st, ast.Block):
        return st.keyword.name + (f" {st.label.name}" if st.label else "")
    return st.keyword.name


def alignment_widths(statements, breaks: list[bool]) -> list[int]:
    widths = [0] * len(statements)
    start = 0
    for i in range(1, len(statements) + 1):
        if i == len(statements) or breaks[i] or shape(statements[i]) != shape(statements[start]):
            if shape(statements[start]) is not None:
                width = max(len(head_text(st)) for st in statements[start:i])
                widths[start:i] = [width] * (i - start)
            start = i
    return widths


def is_target_list(st: ast.Statement) -> bool:
    """`target = [A trained_on B, …]` with several targets (printed one a line when long)."""
    return (isinstance(st, ast.Assignment) and isinstance(st.value, ast.ListValue) and len(st.value.items) > 1
            and all(isinstance(item, ast.TrainedOn) for item in st.value.items))


def is_one_line(st: ast.Block) -> bool:
    head = st.keyword.name + (f" {st.label.name}" if st.label else "")
    text = f"{head} {{ " + " ".join(entry_text(e, compact=True) for e in st.entries) + " }"
    return st.keyword.name not in MULTILINE_BLOCKS and len(text) <= ONE_LINE_LIMIT


def align_comments(lines: list) -> list[str]:
    """One-line statements of one alignment group put their trailing comments in one column."""
    out: list[str] = []
    run: list[tuple[str, str, int]] = []

    def flush() -> None:
        column = max((len(code) for code, comment, _ in run if comment), default=0) + 2
        for code, comment, _ in run:
            out.append(f"{code.ljust(column)}{comment}" if comment else code)
        run.clear()

    for line in lines:
        if isinstance(line, tuple):
            if run and run[-1][2] != line[2]:
                flush()
            run.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return out


def format_module(module: ast.Module) -> str:
    return _Printer(module).render(module)


def format_text(text: str, filename: str = "<spec>") -> str:
    from xexp.compiler.parser import parse

    return format_module(parse(text, filename))
