"""The completion record (``<kind>/<key>/_complete.json``) as one typed model.

The store writes it last, once every artifact is in place; the plan, the workers verifying
their inputs, `gc`, `status` and the report read it back. One model for both ends means a
record a reader cannot use is caught where it is read: it counts as no record (the node
runs again) and the plan says why, instead of a ``KeyError`` somewhere downstream.

The JSON on disk is what the store has always written (the same keys and values), so stores
written before this model existed stay readable; no format version was needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from xexp.compiler.registry.base import dump_params


class FileEntry(BaseModel):
    """One artifact file: its path under the node's folder, size and sha256."""

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    sha256: str


class Timings(BaseModel):
    """Wall-clock times of the attempt that completed (seconds since the epoch)."""

    start: float
    end: float
    seconds: float


class InputRef(BaseModel):
    """Which recorded input a node consumed (``kind`` and ``key`` find its folder)."""

    model_config = ConfigDict(extra="allow")

    kind: str
    key: str


class ManifestError(ValueError):
    """A stored manifest does not read as its kind's manifest: the node was altered or broken."""


class NodeManifest(BaseModel):
    """What a node's op returns and its completion record keeps as `manifest`: one subclass per
    kind, in runtime/manifests/ (model.py, tables.py, train.py, report.py), where the engine, the
    estimates and the report read them without importing the code that writes them.

    `to_json` is the JSON the store writes: the same fields stores have always held, fields
    added later left out while they hold their default (`OMITTED_AT_DEFAULT`, as the params
    contracts do). `read` is how a consumer takes a stored one back: the fields this version
    knows, typed; fields an earlier version wrote and this one dropped (a training's `hparams`
    until 2026-12-07) are passed over, so a store written then still reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> dict[str, Any]:
        return dump_params(self, self.OMITTED_AT_DEFAULT)

    @classmethod
    def read(cls, manifest: Any, where: str) -> Self:
        """The stored `manifest` of node `where` (e.g. "train/0a1b2c3d4e"), or ManifestError."""
        if not isinstance(manifest, Mapping):
            raise ManifestError(f"{where}: its manifest is {type(manifest).__name__}, not an object")
        try:
            return cls.model_validate({k: v for k, v in manifest.items() if k in cls.model_fields})
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "manifest"
            raise ManifestError(f"{where}: its manifest does not read as a {cls.__name__} "
                                f"({field}: {first['msg']})") from None


class CompletionRecord(BaseModel):
    """What `_complete.json` holds: the node's identity, its inputs and artifacts, and when,
    where and by which run it was done."""

    key: str
    kind: str
    version: int
    name: str
    params: dict[str, Any]
    inputs: dict[str, InputRef]
    manifest: dict[str, Any]
    files: list[FileEntry]
    timings: Timings
    hostname: str
    ray_node_id: str | None
    attempt: int
    run_id: str
    xexp_version: str

    def to_json(self) -> dict[str, Any]:
        """The dict written to disk (extra fields of an input reference kept)."""
        return self.model_dump(mode="python")


def parse_record(data: Any) -> CompletionRecord | str:
    """The record in ``data`` (a parsed JSON value), or why it is not a usable one."""
    try:
        return CompletionRecord.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        return f"{where}: {first['msg']}{more}"
