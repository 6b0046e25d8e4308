"""What the cursor is inside of, read from the grammar's own tokens up to the cursor.

Completion happens while the text is incomplete, where the parser has nothing to say yet; so the
text before the cursor is lexed with the compiler's lark lexer (grammar/xexp.lark's terminals, no
second tokenizer) and a small stack machine follows the brackets: which statement, block, call
(and which argument of it), list (and whose) or string the cursor is in. Lexing starts at the
last unindented line that starts a statement (parser.STATEMENT_START), so a long file is not
lexed from its top on every keystroke; specs written with unindented block entries lose the
context of the block, nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark.exceptions import LarkError

from xexp.compiler.parser import STATEMENT_START, _lark

WORD_BEFORE = re.compile(r"[A-Za-z0-9_\-]*$")


@dataclass
class Frame:
    """One open construct. `kind`: top (a statement), block, map, call, list."""

    kind: str
    name: str = ""  # block keyword, call name
    label: str | None = None  # block label
    owner: tuple = ()  # where this list/call/map stands: ("assign", name), ("declare", kw, name),
    #                    ("entry", block, label, key), ("arg", call, key or position), ("in", owner of the clause)
    words: list[str] = field(default_factory=list)  # top: the statement's head words
    after_equal: bool = False
    values: list[str] = field(default_factory=list)  # token types/texts of the value so far (top, entry)
    key: str | None = None  # entry key (block, map) or argument key (call)
    expect: str = "key"  # block/map: key|equal|value|done|on|in; call: arg|value|done
    position: int = 0  # call: index of the positional argument being written
    given: list[str] = field(default_factory=list)  # keys already written in this block/map/call, list items
    pending: str | None = None  # call: a NAME that may turn out to be a keyword

    def slot(self) -> tuple:
        """Where a value opened here stands."""
        if self.kind == "top":
            if len(self.words) == 1:
                return ("assign", self.words[0])
            return ("declare", *self.words[:2])
        if self.kind in ("block", "map"):
            return ("entry", self.name, self.label, self.key)
        if self.kind == "call":
            return ("arg", self.name, self.key if self.key is not None else self.position)
        return ("item", self.owner)


@dataclass
class Cursor:
    frames: list[Frame]
    prefix: str  # the word being typed
    in_string: bool = False
    string_text: str = ""  # the string's text before the cursor
    in_comment: bool = False
    line_start: bool = False  # the word being typed is the first of its line

    @property
    def frame(self) -> Frame:
        return self.frames[-1]


def _start_line(lines: list[str], row: int) -> int:
    for number in range(row, -1, -1):
        text = lines[number]
        if text[:1].isalpha() and STATEMENT_START.match(text):
            return number
    return 0


def _string_or_comment(before: str) -> tuple[bool, str, bool]:
    """(inside a string, its text so far, inside a comment) for the line's text before the cursor."""
    in_string, escaped, start = False, False, 0
    for index, char in enumerate(before):
        if escaped:
            escaped = False
        elif in_string and char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
            start = index + 1
        elif char == "#" and not in_string:
            return False, "", True
    return in_string, before[start:] if in_string else "", False


def cursor_at(lines: list[str], row: int, column: int) -> Cursor:
    """The context at (row, column), both 0-based, column in code points."""
    line = lines[row] if row < len(lines) else ""
    before = line[:column]
    in_string, string_text, in_comment = _string_or_comment(before)
    prefix = "" if in_string or in_comment else WORD_BEFORE.search(before).group(0)  # type: ignore[union-attr]
    if in_string:
        before = before[:len(before) - len(string_text) - 1]  # up to the opening quote
    else:
        before = before[:len(before) - len(prefix)]
    start = _start_line(lines, row)
    text = "\n".join(lines[start:row] + [before])
    frames = [Frame("top")]
    last_line: int | None = 0
    try:
        for token in _lark().lex(text):
            _feed(frames, token, token.line != last_line)
            last_line = token.line
    except LarkError:
        pass  # the text before the cursor stops lexing (a stray character): use what came before
    return Cursor(frames, prefix, in_string, string_text, in_comment,
                  line_start=not before.strip() and len(frames) == 1)


def _feed(frames: list[Frame], token, new_line: bool) -> None:
    kind, text = token.type, str(token)
    frame = frames[-1]
    if kind in ("RBRACE", "RPAR", "RSQB"):
        if len(frames) > 1:
            frames.pop()
            _value_done(frames[-1])
        return
    if frame.kind == "top":
        _top(frames, frame, kind, text, new_line)
    elif frame.kind in ("block", "map"):
        _entries(frames, frame, kind, text)
    elif frame.kind == "call":
        _call(frames, frame, kind, text)
    else:
        _list(frames, frame, kind, text)


def _open(frames: list[Frame], kind: str, text: str, owner: tuple, previous: str | None) -> bool:
    """Push the frame a bracket opens; True when `kind` was a bracket."""
    if kind == "LPAR":
        frames.append(Frame("call", name=previous or "", owner=owner, expect="arg"))
    elif kind == "LSQB":
        frames.append(Frame("list", owner=owner))
    elif kind == "LBRACE":
        frames.append(Frame("map", owner=owner))
    else:
        return False
    return True


def _value_done(frame: Frame) -> None:
    if frame.kind in ("block", "map"):
        frame.expect = "done"
    elif frame.kind == "call":
        frame.expect = "done"
    elif frame.kind == "top":
        frame.values.append(")")


def _top(frames: list[Frame], frame: Frame, kind: str, text: str, new_line: bool) -> None:
    if kind == "NAME" and (new_line or not frame.words) and (not frame.after_equal or new_line):
        frames[0] = Frame("top", words=[text])
        return
    if kind == "NAME" and not frame.after_equal:
        frame.words.append(text)
    elif kind == "EQUAL":
        frame.after_equal = True
    elif kind == "LBRACE" and not frame.after_equal:
        frames.append(Frame("block", name=frame.words[0] if frame.words else "",
                            label=frame.words[1] if len(frame.words) > 1 else None))
        frames[0] = Frame("top")
    elif kind == "IN":
        frame.values.append("in")
    elif kind == "LSQB" and frame.values[-1:] == ["in"]:
        frames.append(Frame("list", owner=("in", frame.slot(), _target_before(frame.values))))
    elif _open(frames, kind, text, frame.slot(), frame.values[-1] if frame.values else None):
        pass
    else:
        frame.values.append(text if kind == "NAME" else kind)


def _target_before(values: list[str]) -> str | None:
    """The target of `A trained_on B in [`: the name two before `trained_on`."""
    for index in range(len(values) - 1, 0, -1):
        if values[index] == "TRAINED_ON":
            return values[index - 1]
    return None


def _entries(frames: list[Frame], frame: Frame, kind: str, text: str) -> None:
    if kind == "NAME" and frame.expect in ("key", "done"):
        frame.key, frame.expect, frame.values = text, "equal", []
        frame.given.append(text)
    elif kind == "STRING" and frame.expect in ("key", "done") and frame.kind == "map":
        frame.key, frame.expect, frame.values = text.strip('"'), "equal", []
    elif kind == "DOT" and frame.expect == "equal":
        frame.expect = "dotted"
    elif kind == "NAME" and frame.expect == "dotted":
        frame.key = f"{frame.key}.{text}"
        frame.given[-1] = frame.key
        frame.expect = "equal"
    elif kind == "EQUAL":
        frame.expect = "value"
    elif kind == "ON" and frame.expect == "done":
        frame.expect = "on"
    elif kind == "NAME" and frame.expect == "on":
        frame.expect = "done"
    elif kind == "IN" and frame.expect == "done":
        frame.expect = "in"
    elif kind == "LSQB" and frame.expect == "in":
        frames.append(Frame("list", owner=("in", frame.slot())))
    elif frame.expect == "value" and _open(frames, kind, text, frame.slot(), frame.values[-1] if frame.values else None):
        pass
    elif frame.expect == "value" and kind == "NAME":
        frame.values.append(text)  # a bare name, or a call's name before its `(`
        frame.expect = "value_name"
    elif frame.expect == "value_name" and kind == "LPAR":
        frames.append(Frame("call", name=frame.values[-1], owner=frame.slot(), expect="arg"))
    elif frame.expect == "value_name" and kind == "NAME":
        frame.key, frame.expect, frame.values = text, "equal", []  # the bare name ended the entry
        frame.given.append(text)
    elif frame.expect == "value_name" and kind == "ON":
        frame.expect = "on"
    elif frame.expect == "value_name" and kind == "IN":
        frame.expect = "in"
    elif frame.expect == "value":
        frame.expect = "done"


def _call(frames: list[Frame], frame: Frame, kind: str, text: str) -> None:
    if kind == "COMMA":
        if frame.key is None and frame.expect != "arg":
            frame.position += 1
        frame.key, frame.expect, frame.pending = None, "arg", None
    elif kind == "NAME" and frame.expect == "arg":
        frame.pending, frame.expect = text, "name"
    elif kind == "EQUAL" and frame.expect == "name":
        frame.key, frame.expect = frame.pending, "value"
        frame.given.append(frame.pending or "")
    elif kind == "LPAR" and frame.expect == "name":
        frames.append(Frame("call", name=frame.pending or "", owner=frame.slot(), expect="arg"))
    elif frame.expect in ("arg", "value") and _open(frames, kind, text, frame.slot(), None):
        pass
    elif kind == "NAME" and frame.expect == "value":
        frame.pending, frame.expect = text, "value_name"
    elif kind == "LPAR" and frame.expect == "value_name":
        frames.append(Frame("call", name=frame.pending or "", owner=frame.slot(), expect="arg"))
    else:
        frame.expect = "done"


def _list(frames: list[Frame], frame: Frame, kind: str, text: str) -> None:
    if kind == "NAME":
        frame.given.append(text)
        frame.values.append(text)
    elif kind == "IN":
        frame.values.append("in")
    elif kind == "TRAINED_ON":
        frame.values.append("TRAINED_ON")
    elif kind == "LSQB" and frame.values[-1:] == ["in"]:
        frames.append(Frame("list", owner=("in", frame.owner, _target_before(frame.values))))
    elif kind == "LPAR":
        frames.append(Frame("call", name=frame.values[-1] if frame.values else "", owner=("item", frame.owner),
                            expect="arg"))
    elif _open(frames, kind, text, ("item", frame.owner), None):
        pass
    elif kind == "COMMA":
        frame.values.append(",")
