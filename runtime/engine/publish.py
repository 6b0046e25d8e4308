"""Publishing a folder whole: built beside its place, then swapped in by renames.

`xexp report` and `xexp run` publish a run's report to ``runs/<run>/report/``. Written in
place, a full disk left a 0-byte report.html there and a failure halfway a mix of two reports;
and a ``report`` that a writer of the store replaced by a link made xexp write wherever it
pointed. Here the new folder is built in a fresh hidden sibling, the old one (a folder or a
link, never followed) renamed aside, the new one renamed into place and the old removed: a
reader sees the old report or the new one, and a failure leaves the old one as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


def publish_dir(target: Path, build: Callable[[Path], T]) -> T:
    """Call ``build(folder)`` on a fresh folder, then put that folder at ``target``."""
    tag = f"{os.getpid()}.{secrets.token_hex(3)}"
    fresh = target.with_name(f".{target.name}.{tag}.tmp")
    aside = target.with_name(f".{target.name}.{tag}.old")
    fresh.mkdir(parents=True)
    moved = False
    try:
        result = build(fresh)
        if target.is_symlink() or target.exists():
            os.rename(target, aside)
            moved = True
        os.rename(fresh, target)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        if moved and not (target.is_symlink() or target.exists()):
            os.rename(aside, target)  # the old report back where it was
        raise
    if moved:
        _remove(aside)
    return result


def _remove(path: Path) -> None:
    """A folder or a link (the link, not what it points to); best effort: it is hidden debris."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    except OSError:
        pass
