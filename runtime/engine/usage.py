"""What a node used: its peak resident memory and, where it ran on a GPU, its peak GPU memory and
the card, logged as one line of its log.txt (`USAGE_LOG_PREFIX` + JSON) when its work ends.

Apart from device placement (device.py, learning code that imports torch) so that the engine —
the worker that measures a node, the scheduler and the cost estimates that read the line back —
imports no learning code. torch is only looked at here when the work already imported it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

#: How the runtime logs a node's usage in its log.txt: this prefix, then one JSON object.
USAGE_LOG_PREFIX = "usage "


def usage_from_log(text: str) -> dict | None:
    """The last usage a node's log.txt reports (None if it reports none)."""
    found = None
    for line in text.splitlines():
        _, marker, rest = line.partition(": " + USAGE_LOG_PREFIX)
        if marker and rest.startswith("{"):
            try:
                found = json.loads(rest)
            except json.JSONDecodeError:
                continue
    return found


class NodeUsage:
    """Peak memory of the work of one node: resident set (Linux) and, if CUDA is in use, GPU.

    Ray reuses worker processes, so the process-wide peaks are reset when a node starts:
    Linux resets VmHWM on writing 5 to /proc/self/clear_refs, torch its peak statistics.
    """

    def __init__(self) -> None:
        _reset_peak_rss()
        self._cuda = _cuda_in_use()
        if self._cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()

    def finish(self) -> dict[str, Any]:
        usage: dict[str, Any] = {"device": "cpu", "peak_rss_bytes": _peak_rss(),
                                 "peak_gpu_bytes": None,
                                 "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
        if self._cuda or _cuda_in_use():
            import torch

            usage["device"] = f"cuda:0 {torch.cuda.get_device_name(0)}"
            usage["peak_gpu_bytes"] = int(torch.cuda.max_memory_allocated())  # tensors
            # what the card lost to this process's cache (the CUDA context comes on top)
            usage["peak_gpu_reserved_bytes"] = int(torch.cuda.max_memory_reserved())
        return usage


def _cuda_in_use() -> bool:
    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_initialized())


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:  # not Linux, or not allowed: the peak then covers the process's lifetime
        pass


def _peak_rss() -> int | None:
    try:
        # Bytes, not text: the `Name:` line is the process name cut to 15 bytes, and Ray names a
        # worker after its task (`ray::train:nli→…`), so the cut may split a UTF-8 character.
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    except (ImportError, OSError):
        return None
