"""Per-node leases: one process at a time works on a node, whatever driver or machine it is on.

Several drivers may run specs on one store (two terminals, two users of a shared filesystem):
without a lease both would empty and rewrite the same ``<kind>/<key>/``. The process that runs
a node first takes its lease, a file ``<root>/leases/<kind>/<key>.lease``:

- taken with ``O_CREAT | O_EXCL``, atomic on local filesystems and on NFS (v3 and later), so
  exactly one taker wins; it holds the owner (run, host, pid) and a random token;
- its mtime is the heartbeat, refreshed by a thread of the holder every ``HEARTBEAT_S``;
- released (unlinked) by the holder when the node is recorded or has failed;
- it carries a *generation*, one more than the node's previous lease (a counter file
  ``<key>.generation`` beside it, removed with the last lease), which fences a stalled former
  holder off (fencing.py).

A lease whose holder died is stale and may be broken: at once when the holder was on this host
and its pid is gone; otherwise when its heartbeat has not moved for ``STALE_S`` *as watched by
the one judging* (its own monotonic clock), so clocks of other machines never matter and a pid
alone never decides across machines. Breaking renames the file to a unique name (one breaker
wins), checks that it is still the lease judged stale and puts it back otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LEASES_DIR = "leases"
HEARTBEAT_S = float(os.environ.get("XEXP_LEASE_HEARTBEAT_S", 5.0))
#: A heartbeat that has not moved for this long (seen by the watcher) marks a dead holder.
STALE_S = float(os.environ.get("XEXP_LEASE_STALE_S", 60.0))


def lease_path(root: Path, kind: str, key: str) -> Path:
    return root / LEASES_DIR / kind / f"{key}.lease"


def read_owner(path: Path) -> dict | None:
    """The holder's description, or None when there is no lease (or it is being written)."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return owner if isinstance(owner, dict) else None


def _pid_alive(pid: int) -> bool:
    """Signal 0 asks the kernel without signalling: a process of another user answers
    PermissionError and exists all the same; an id beyond the C int range names no process."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except (ProcessLookupError, OverflowError):
        return False
    return True


def process_alive_here(owner: dict) -> bool | None:
    """Whether a process described by ``host`` (a lease) or ``hostname`` (a run's driver,
    runs.py) and ``pid`` lives: None when it ran on another host (only a heartbeat can tell
    then). A stopped process is alive: it will go on. The one judge of a pid on this host."""
    if owner.get("host", owner.get("hostname")) != socket.gethostname():
        return None
    try:
        pid = int(owner.get("pid", -1))
    except (TypeError, ValueError):
        return False
    return pid > 0 and _pid_alive(pid)  # 0 and negative ids name process groups, not a process


def holder_dead_here(owner: dict) -> bool:
    """The holder ran on this host and its process is gone: no need to wait for the heartbeat."""
    return process_alive_here(owner) is False


@dataclass
class Lease:
    """A lease this process holds; keep it alive with ``start_heartbeat`` and ``release`` it."""

    path: Path
    owner: dict
    generation: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def held(self) -> bool:
        """Still ours: nobody judged it stale and took it over."""
        current = read_owner(self.path)
        return current is not None and current.get("token") == self.owner["token"]

    def beat(self) -> None:
        try:
            os.utime(self.path)
        except OSError:
            pass  # gone or unwritable: held() tells the holder before it records anything

    def start_heartbeat(self) -> None:
        def run() -> None:
            while not self._stop.wait(HEARTBEAT_S):
                self.beat()

        self._thread = threading.Thread(target=run, name="xexp-lease-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.held():
            # The count restarts once nobody works on the node: no former holder can be left.
            self.path.with_suffix(".generation").unlink(missing_ok=True)
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def try_acquire(root: Path, kind: str, key: str, *, run_id: str) -> Lease | dict:
    """Take the node's lease, or return its holder's description when someone else holds it.

    A lease left by a dead process of this host is broken on the spot; one from another host
    is left to ``LeaseWatch`` (only a watcher can tell that its heartbeat stopped).
    """
    path = lease_path(root, kind, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    counter = path.with_suffix(".generation")
    for _ in range(3):
        generation = _read_generation(counter) + 1
        owner = {"token": secrets.token_hex(16), "run_id": run_id, "host": socket.gethostname(),
                 "pid": os.getpid(), "since": time.time(), "generation": generation}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            current = read_owner(path)
            if current is None:  # being written this instant, or just released
                time.sleep(0.05)
                continue
            if holder_dead_here(current) and break_stale(path, current):
                continue
            return current
        try:
            os.write(fd, json.dumps(owner).encode("utf-8"))
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)
        _write_generation(counter, generation)
        return Lease(path, owner, generation)
    return read_owner(path) or {"token": None, "host": "?", "pid": -1, "run_id": "?"}


def _read_generation(counter: Path) -> int:
    try:
        return int(counter.read_text(encoding="utf-8").strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_generation(counter: Path, generation: int) -> None:
    """Written by the holder only, after it took the lease: the next taker counts from here."""
    tmp = counter.with_name(f".{counter.name}.{os.getpid()}.tmp")
    tmp.write_text(str(generation), encoding="utf-8")
    os.replace(tmp, counter)


def break_stale(path: Path, judged: dict) -> bool:
    """Remove the lease judged stale, and only that one; True when it is gone."""
    tomb = path.with_name(f".{path.name}.broken.{secrets.token_hex(4)}")
    try:
        os.rename(path, tomb)
    except FileNotFoundError:
        return True  # released or broken by someone else meanwhile
    taken = read_owner(tomb)
    if taken is not None and taken.get("token") != judged.get("token"):
        try:  # a fresh lease replaced the stale one between our look and the rename
            os.link(tomb, path)  # never overwrites: fails if yet another lease stands
        except FileExistsError:
            pass
        tomb.unlink(missing_ok=True)
        return False
    tomb.unlink(missing_ok=True)
    return True


class LeaseWatch:
    """A driver's view of a lease someone else holds: free, held, or stale (then broken)."""

    def __init__(self, path: Path, stale_s: float | None = None) -> None:
        self.path = path
        self.stale_s = STALE_S if stale_s is None else stale_s
        self._seen: tuple | None = None
        self._since = time.monotonic()
        #: Why the lease was broken, for the driver's one line.
        self.reason = ""

    def check(self) -> str:
        """"free" (no lease: the node may be submitted again), "held", or "broken" (it was stale)."""
        owner = read_owner(self.path)
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return "free"
        if owner is None:  # being written, or left empty by a holder that died creating it
            owner = {}
        state = (owner.get("token"), stat.st_mtime_ns)
        now = time.monotonic()
        if state != self._seen:
            self._seen, self._since = state, now
        dead = bool(owner) and holder_dead_here(owner)
        if dead or now - self._since >= self.stale_s:
            holder = f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
            self.reason = (f"the lease of {holder}, whose process is gone, was broken" if dead else
                           f"the lease of {holder} was broken: its heartbeat stopped for "
                           f"{now - self._since:.0f} s (a dead or stalled holder; a stalled one "
                           "stops at its next write)")
            return "broken" if break_stale(self.path, owner) else "held"
        return "held"
