"""The completion record (``<kind>/<key>/_complete.json``) as one typed model.

The store writes it last, once every artifact is in place; the plan, the workers verifying
their inputs, `gc`, `status` and the report read it back. One model for both ends means a
record a reader cannot use is caught where it is read: it counts as no record (the node
runs again) and the plan says why, instead of a ``KeyError`` somewhere downstream.

The JSON on disk is what the store has always written (the same keys and values), so stores
written before this model existed stay readable; no format version was needed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


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
