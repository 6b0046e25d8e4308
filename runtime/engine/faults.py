"""Store faults: a write the filesystem refused (full, over quota, read-only, not ours).

Such a failure is not the work's: retrying will not help and the traceback says nothing the
user needs. It is recognised here, wherever it surfaces, so the run can end in one line and
clean up after itself (see ``Store.abandon_attempt`` and ``runs.RunLog.finish``).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

#: errno values that mean the store cannot take writes: the run stops with one line, no retry.
FAULT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


#: How libraries that wrap the OSError (safetensors, torch, arrow) still say what happened.
_FAULT_TEXTS = {errno_value: re.compile(rf"(os error|errno) ?{errno_value}\b|{re.escape(os.strerror(errno_value))}",
                                        re.IGNORECASE)
                for errno_value in sorted(_SPACE_ERRNOS)}
#: Below this many free bytes the store counts as full, whatever a failed write was called.
FULL_BELOW_BYTES = 1 << 20


def store_fault(error: BaseException | None, root: Path) -> OSError | None:
    """The OSError in ``error``'s chain that says the store cannot be written, if any.

    Full and read-only filesystems count wherever they are met (the work writes into the
    store), also when a library re-raised them as its own error with the errno in its message,
    or said nothing useful while the store has under ``FULL_BELOW_BYTES`` left; a permission
    error only when it names a path under ``root``, so an unreadable input stays the work's.
    """
    first = error
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in FAULT_ERRNOS:
            if error.errno in _SPACE_ERRNOS:
                return error
            if error.filename and Path(os.fsdecode(error.filename)).is_relative_to(root):
                return error
        for errno_value, pattern in _FAULT_TEXTS.items():
            if pattern.search(str(error)):
                return OSError(errno_value, os.strerror(errno_value))
        error = error.__cause__ or error.__context__
    if first is not None and not isinstance(first, (KeyboardInterrupt, SystemExit)):
        try:
            usage = os.statvfs(root)
        except OSError:
            return None
        if usage.f_bavail * usage.f_frsize < FULL_BELOW_BYTES:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return None


def os_reason(error: OSError) -> str:
    """What the operating system said, in lower case; an OSError raised without an errno (by
    Python code, not the OS) has only its message to say."""
    if error.errno is None:
        return str(error).lower() or type(error).__name__
    return os.strerror(error.errno).lower()


def fault_message(root: Path, error: OSError) -> str:
    """One line: which store, what the filesystem said, and where."""
    where = f" (writing {os.fsdecode(error.filename)})" if error.filename else ""
    return f"store {root}: {os_reason(error)}{where}"


def remove_temp_files(*folders: Path) -> None:
    """Delete the ``*.tmp`` files that writes cut short left behind (they are never artifacts)."""
    for folder in folders:
        for path in folder.rglob("*.tmp") if folder.is_dir() else ():
            path.unlink(missing_ok=True)
