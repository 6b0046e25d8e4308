"""What a node's work function sees: its artifact dir, its scratch dir, its verified inputs.

The work function has the signature ``fn(node: Node, ctx: NodeContext) -> NodeManifest | dict``:
it writes its artifacts under ``ctx.out_dir`` (names starting with ``_`` are reserved for the
store), keeps anything that must survive a failed attempt (training checkpoints for resume) under
``ctx.scratch_dir``, logs through ``ctx.logger`` (the node's ``log.txt``) and returns a small
manifest (paths relative to ``out_dir``, metrics) that lands in the node's completion record and
is handed to its consumers as ``InputArtifact.manifest``. The ops return their kind's typed
manifest (a ``NodeManifest``, which consumers read back with its ``read``); another work function
(``execute_graph(work=…)``) may return any JSON-serialisable dict.

Only the ops import this module; how a worker leases, verifies, runs and records a node is
runtime/engine/worker.py's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from xexp.compiler.graph.node import Node
from xexp.runtime.engine.provenance import ModelOrigin


@dataclass(frozen=True)
class InputArtifact:
    """A finished upstream node, already verified against its completion record."""

    key: str
    kind: str
    dir: Path
    manifest: dict[str, Any]
    #: The input's own params, authenticated (they hash to its key, which the driver computed
    #: from the spec): what an op may decide by, where the manifest may not (runtime/engine/provenance.py).
    params: dict[str, Any]
    #: The model a `model` or `train` input provides, as the spec decides it (runtime/engine/provenance.py).
    model: ModelOrigin | None = None


@dataclass
class NodeContext:
    node: Node
    out_dir: Path
    scratch_dir: Path
    inputs: dict[str, InputArtifact]
    logger: logging.Logger
    log_path: Path
    attempt: int = 1
    run_id: str = ""
    _progress_sink: Callable[[dict], None] | None = field(default=None, repr=False)

    def progress(self, info: dict) -> None:
        """Report how far the work is (e.g. ``{"step": 120, "of": 900, "loss": 0.7}``); cheap."""
        if self._progress_sink is not None:
            self._progress_sink(info)
