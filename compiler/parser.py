"""Spec text -> `Module` (typed AST with spans). Syntax errors become `SpecError`s.

After a syntax error the parser blanks the offending line (keeping every other position
intact) and tries again, so one pass reports several independent syntax errors and the
validator can still check the rest of the file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError,
)

from xexp.compiler import ast
from xexp.compiler.errors import ErrorSink, SpecError

MAX_SYNTAX_ERRORS = 10
#: Brackets nested deeper than this are refused before parsing: real specs nest three or four
#: levels, and the tree transformer (and every later stage) recurses once per level.
MAX_NESTING = 32

FRIENDLY_TOKENS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "EQUAL": "`=`",
    "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`", "LBRACE": "`{`",
    "RBRACE": "`}`", "COMMA": "`,`", "DOT": "`.`", "SWEEP": "`sweep`", "ON": "`on`",
    "TRAINED_ON": "`trained_on`", "IN": "`in`", "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The LALR parser, built from the grammar once per process.

    Never read back from a cache: lark's cache file is a pickle, and a planted one ran code on
    `xexp check`. Building the table takes about 0.15 s on a loaded 2-core machine (0.01 s
    from the cache; bench/README.md), inside the plan-time goal of well under a second.
    """
    grammar = resources.files("xexp.grammar").joinpath("xexp.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _span(meta_or_token) -> ast.Span:
    if isinstance(meta_or_token, Token):
        # lark sets every position of a token its lexer made
        assert meta_or_token.line is not None and meta_or_token.column is not None
        assert meta_or_token.end_line is not None and meta_or_token.end_column is not None
        return ast.Span(meta_or_token.line, meta_or_token.column,
                        meta_or_token.end_line, meta_or_token.end_column)
    m = meta_or_token
    if getattr(m, "empty", False):
        return ast.NO_SPAN
    return ast.Span(m.line, m.column, m.end_line, m.end_column)


def _unescape(raw: str) -> str:
    body = raw[1:-1]
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(escapes.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _number(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    try:
        return int(text)
    except ValueError:  # more digits than Python converts; as a float it is inf, which validation refuses
        return float(text)


@v_args(meta=True)
class _ToAst(Transformer):
    def start(self, meta, items):
        return tuple(items)

    def header(self, meta, items):
        kw, name = items
        return ast.Header(ast.Name(str(kw), _span(kw)), ast.Name(str(name), _span(name)), _span(meta))

    def declaration(self, meta, items):
        kw, name, value = items
        return ast.Declaration(ast.Name(str(kw), _span(kw)), ast.Name(str(name), _span(name)), value, _span(meta))

    def assignment(self, meta, items):
        name, value = items
        return ast.Assignment(ast.Name(str(name), _span(name)), value, _span(meta))

    def block(self, meta, items):
        kw = items[0]
        rest = items[1:]
        label = None
        if rest and isinstance(rest[0], Token):
            label = ast.Name(str(rest[0]), _span(rest[0]))
            rest = rest[1:]
        return ast.Block(ast.Name(str(kw), _span(kw)), label, tuple(rest), _span(meta))

    def entry(self, meta, items):
        (key, key_span), value, *rest = items
        on = next((r for r in rest if isinstance(r, ast.Name)), None)
        languages = next((r for r in rest if isinstance(r, ast.ListValue)), None)
        return ast.Entry(key, value, on, languages, key_span, _span(meta))

    def quoted_entry(self, meta, items):
        key, value = items
        return ast.Entry(_unescape(str(key)), value, None, None, _span(key), _span(meta))

    def on_field(self, meta, items):
        return ast.Name(str(items[0]), _span(items[0]))

    def in_languages(self, meta, items):
        return items[0]

    def dotted(self, meta, items):
        return ".".join(str(t) for t in items), _span(meta)

    def string(self, meta, items):
        return ast.Str(_unescape(str(items[0])), _span(items[0]))

    def number(self, meta, items):
        text = str(items[0])
        return ast.Num(_number(text), text, _span(items[0]))

    def name(self, meta, items):
        return ast.Name(str(items[0]), _span(items[0]))

    def call(self, meta, items):
        name, *args = items
        arguments = tuple(a if isinstance(a, ast.Argument) else ast.Argument(None, a) for a in args)
        return ast.Call(str(name), arguments, _span(name), _span(meta))

    def keyword_argument(self, meta, items):
        key, value = items
        return ast.Argument(str(key), value, _span(key))

    def list(self, meta, items):
        return ast.ListValue(tuple(items), _span(meta))

    def map(self, meta, items):
        return ast.MapValue(tuple(items), _span(meta))

    def sweep(self, meta, items):
        return ast.Sweep(items[0], _span(meta))

    def trained_on(self, meta, items):
        target, source, *languages = items
        return ast.TrainedOn(ast.Name(str(target), _span(target)), ast.Name(str(source), _span(source)), _span(meta),
                             languages[0] if languages else None)

    def untrained(self, meta, items):
        target, languages = items
        return ast.TrainedOn(ast.Name(str(target), _span(target)), None, _span(meta), languages)


def _comments(text: str) -> tuple[ast.Comment, ...]:
    """Comments with positions (the grammar ignores them; `fmt` puts them back)."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):  # lines as the lexer counts them
        in_string, escaped = False, False
        for col, ch in enumerate(line):
            if escaped:
                escaped = False
            elif ch == "\\" and in_string:
                escaped = True
            elif ch == '"':
                in_string = not in_string
            elif ch == "#" and not in_string:
                found.append(ast.Comment(line[col:].rstrip(), number, col + 1))
                break
    return tuple(found)


def _describe_syntax_error(err: UnexpectedInput) -> tuple[str, str | None]:
    expected = sorted(getattr(err, "expected", None) or getattr(err, "allowed", None) or [])
    friendly = [FRIENDLY_TOKENS.get(t, f"`{t.lower()}`") for t in expected]
    hint = None
    if friendly:
        hint = "expected " + ", ".join(friendly[:6]) + (" …" if len(friendly) > 6 else "")
    if isinstance(err, UnexpectedCharacters):
        char = err.char if err.char.isprintable() and not err.char.isspace() else f"U+{ord(err.char):04X}"
        if err.char == '"':
            return "unclosed string", "a string ends with `\"` on the same line; write `\\\"` for a quote inside it"
        return f"unexpected character `{char}`", hint
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        return "unexpected end of file (an unclosed `(`, `[` or `{`?)", hint
    if isinstance(err, UnexpectedToken):
        tok = err.token
        shown = str(tok) if len(str(tok)) <= 30 else str(tok)[:27] + "…"
        return f"unexpected `{shown}`", hint
    return "syntax error", hint


def _error_position(err: UnexpectedInput, text: str) -> tuple[int, int, int]:
    line = getattr(err, "line", -1)
    column = getattr(err, "column", -1)
    width = 1
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        width = max(1, len(str(err.token)))
    if line is None or line < 1:  # end of file
        lines = text.splitlines() or [""]
        line = len(lines)
        column = len(lines[-1]) + 1
    return line, column, width


def parse(text: str, filename: str = "<spec>") -> ast.Module:
    """Parse spec text. Raises SpecError (or SpecErrors) on syntax errors."""
    module, errors = parse_recovering(text, filename)
    if errors:
        sink = ErrorSink(filename, text)
        sink.errors.extend(errors)
        sink.raise_if_any()
    return module


def parse_recovering(text: str, filename: str = "<spec>") -> tuple[ast.Module, list[SpecError]]:
    """Parse, collecting syntax errors; returns the module of what could be parsed."""
    sink = ErrorSink(filename, text)
    current = text
    too_deep = _too_deep(current)
    if too_deep is not None:
        line, column = too_deep
        sink.error(f"brackets nested more than {MAX_NESTING} levels deep", ast.Span(line, column, line, column + 1),
                   "a spec needs a few levels at most; is a closing bracket missing?")
        return ast.Module((), filename, text, _comments(text)), sink.errors
    for _ in range(MAX_SYNTAX_ERRORS):
        try:
            tree = _lark().parse(current)
        except UnexpectedInput as err:
            line, column, width = _error_position(err, current)
            at_end = isinstance(err, UnexpectedEOF) or (
                isinstance(err, UnexpectedToken) and err.token.type == "$END")
            opener = _unclosed_opener_before(current, len(current.split("\n")) + 1 if at_end else line)
            if opener is not None:
                o_line, o_col, ch = opener
                where = "the file ends first" if at_end else f"line {line} starts a new statement"
                sink.error(f"`{ch}` is never closed", ast.Span(o_line, o_col, o_line, o_col + 1),
                           f"add `{CLOSERS[ch]}` to close it ({where})")
                if at_end:
                    current = current + CLOSERS[ch]
                    continue
                current = _close_on_its_line(current, o_line, CLOSERS[ch])
                continue
            message, hint = _describe_syntax_error(err)
            sink.error(message, ast.Span(line, column, line, column + width), hint)
            blanked = _blank_line(current, line)
            if blanked is None:
                break
            current = blanked
            continue
        except LarkError as err:  # defensive: never let lark's own exceptions out
            sink.error(f"could not parse the spec ({type(err).__name__})")
            break
        try:
            statements = _ToAst().transform(tree)
        except (VisitError, RecursionError) as err:  # defensive: the checks above should prevent it
            cause = getattr(err, "orig_exc", err)
            sink.error(f"could not read the spec ({type(cause).__name__})")
            break
        return ast.Module(statements, filename, text, _comments(text)), sink.errors
    return ast.Module((), filename, text, _comments(text)), sink.errors


CLOSERS = {"[": "]", "(": ")", "{": "}"}
STATEMENT_START = re.compile(r"^(\}|[A-Za-z_][\w\-]*(\s+[A-Za-z_][\w\-]*)?\s*(=|\{))")


def _brackets(line: str):
    """(column, char) of each bracket outside strings and comments."""
    in_string = escaped = False
    for col, ch in enumerate(line, start=1):
        if escaped:
            escaped = False
        elif in_string:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            return
        elif ch in "[](){}":
            yield col, ch


def _too_deep(text: str) -> tuple[int, int] | None:
    """(line, column) of the first bracket nested deeper than MAX_NESTING, if any."""
    depth = 0
    for number, line in enumerate(text.split("\n"), start=1):
        for col, ch in _brackets(line):
            depth += 1 if ch in CLOSERS else -1
            if depth > MAX_NESTING:
                return number, col
            depth = max(depth, 0)
    return None


def _unclosed_opener_before(text: str, error_line: int) -> tuple[int, int, str] | None:
    """A `[` or `(` left open on an earlier line when the parser fails at a statement start.

    Lists and calls may span lines, so this only fires when the failing line looks like
    the start of a new statement (`name =` or a block keyword), which can't be inside one.
    """
    lines = text.split("\n")
    if not (0 < error_line <= len(lines) + 1):
        return None
    failing = lines[error_line - 1].strip() if error_line <= len(lines) else ""
    if error_line <= len(lines) and not STATEMENT_START.match(failing):
        return None
    stack: list[tuple[int, int, str]] = []
    for number in range(1, error_line):
        for col, ch in _brackets(lines[number - 1]):
            if ch in CLOSERS:
                stack.append((number, col, ch))
            elif stack and CLOSERS[stack[-1][2]] == ch:
                stack.pop()
    for opener in reversed(stack):
        if opener[2] in "[(" or error_line > len(lines):
            return opener
    return None


def _close_on_its_line(text: str, line: int, closer: str) -> str:
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1] + closer
    return "\n".join(lines)


def _blank_line(text: str, line: int) -> str | None:
    """Replace one line by spaces, unless its brackets don't balance (then give up)."""
    lines = text.split("\n")
    if not (0 < line <= len(lines)):
        return None
    target = lines[line - 1]
    if not target.strip():
        return None
    depth = 0
    for _col, ch in _brackets(target):
        depth += 1 if ch in CLOSERS else -1
    if depth != 0:
        return None
    lines[line - 1] = " " * len(target)
    return "\n".join(lines)
