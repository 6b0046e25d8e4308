"""Killing a training child process at a known place, for the resume tests: SIGKILL as soon as
its scratch folder holds a checkpoint inside a given epoch (read from the checkpoint's JSON,
never unpickled)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path


def saved_loop(scratch: Path) -> dict | None:
    """The loop position of the last checkpoint in `scratch` (None before the first)."""
    try:
        return json.loads((scratch / "resume.json").read_text())["loop"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def kill_inside_epoch(child: subprocess.Popen, scratch: Path, epoch: int, timeout: float = 120) -> dict:
    """SIGKILL `child` once a checkpoint stands inside `epoch` (past its first batch); returns
    that checkpoint's loop position. Fails the test if the child ends first or time runs out."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            loop = saved_loop(scratch)
            if loop and loop["epoch"] == epoch and loop["batch_in_epoch"] > 0:
                break
            assert child.poll() is None, f"training ended before the kill: {child.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, f"no checkpoint in epoch {epoch} within {timeout:.0f} s"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return loop
