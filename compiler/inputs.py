"""Inputs identified by content: local files and lexicons enter node keys by their sha256.

A key built from a path alone promises something it cannot keep: edit the file and the plan
still says "cached". So lowering resolves every local path a node reads against the spec's folder
(never the current directory), hashes what the path names, and writes the digests beside the
path (`"sha256"`). graph/node.py keys such a dict by its content and file name, not its folder,
so a spec moved, run from elsewhere, or pointing at a copy of the same data keeps its keys.

Hashing a 100 MB file on every `xexp plan` would make planning slow, so digests are cached per
file in the user's cache folder (`$XEXP_CACHE` or ~/.cache/xexp, like the parser cache), keyed
by path, size, mtime, ctime and inode: any write changes one of them and forces a fresh hash,
while a `touch` only costs one re-hash and changes no key. The cache is JSON, never a pickle.

A file that does not exist yet gets no digest: its node keeps the path in its key and the
runtime reports the missing file where it is read, as before.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_NAME = "sha256-v1.json"
#: Files remembered at most; the earliest hashed are forgotten first (and simply hashed again).
CACHE_ENTRIES = 20_000
#: Read files in chunks of this size: hashing never holds a whole file in memory.
CHUNK = 1 << 20
GLOB_CHARS = "*?["
PLACEHOLDERS = ("{lang}", "{split}")


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in GLOB_CHARS)


def matching_files(pattern: str) -> list[Path]:
    """The files a path or glob names now, sorted; [] when none. The one reading of a local
    path: lowering hashes these, `xexp check` previews them, the load node reads them."""
    if is_glob(pattern):
        return sorted(Path(p) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return [Path(pattern)] if os.path.isfile(pattern) else []


def cache_dir() -> Path:
    """The user's xexp cache folder (the parser cache and the packaged models live there too)."""
    return Path(os.environ.get("XEXP_CACHE") or Path.home() / ".cache" / "xexp")


def sha256_of(path: str | os.PathLike) -> str:
    """The one file digest of xexp, read in chunks: input files here, store artifacts
    (runtime/engine/store.py, which remembers it per process) and resume state
    (runtime/learning/training_state.py, which never trusts a remembered one) all hash through it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class DigestCache:
    """sha256 per file, remembered while the file's size, times and inode stay the same."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else cache_dir() / "inputs" / CACHE_NAME
        self.entries: dict[str, list] | None = None
        self.dirty = False

    def _load(self) -> dict[str, list]:
        if self.entries is None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                self.entries = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self.entries = {}  # no cache yet, or an unreadable one: hash afresh
        return self.entries

    def digest(self, path: Path) -> str:
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
        entries = self._load()
        known = entries.get(str(path))
        if isinstance(known, list) and len(known) == 5 and known[:4] == stamp:
            return known[4]
        digest = sha256_of(path)
        entries.pop(str(path), None)  # re-inserted last: the newest entries are kept longest
        entries[str(path)] = [*stamp, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written is simply not kept."""
        if not self.dirty or self.entries is None:
            return
        for stale in list(self.entries)[:max(0, len(self.entries) - CACHE_ENTRIES)]:
            del self.entries[stale]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self.entries, separators=(",", ":")), encoding="utf-8")
            os.replace(temporary, self.path)
            self.dirty = False
        except OSError:
            pass


def absolute_path(path: str, base: str | os.PathLike) -> str:
    """`path` (a file or glob; `~` expanded) as an absolute path: a relative one is read from
    `base`, the spec's folder. The one reading of a relative input path, for lowering, `xexp
    check` (compiler/input_check.py) and lexicons alike."""
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded):
        return os.path.normpath(expanded)
    return os.path.normpath(os.path.join(base, expanded))


class LocalInputs:
    """Resolves and fingerprints the local files of one spec (lowering holds one of these)."""

    def __init__(self, base_dir: str | os.PathLike | None = None, cache: DigestCache | None = None) -> None:
        self._base = Path(base_dir) if base_dir is not None else None
        self.cache = cache or DigestCache()

    @property
    def base(self) -> Path:
        """The spec's folder; the current directory for text with no file behind it."""
        return (self._base or Path.cwd()).resolve()

    def absolute(self, path: str) -> str:
        return absolute_path(path, self.base)

    def files(self, pattern: str) -> list[Path] | None:
        """The files an absolute path or glob names now, sorted; None when there are none."""
        if any(p in pattern for p in PLACEHOLDERS):
            return None
        return matching_files(pattern) or None

    def fingerprint(self, entry: dict[str, Any], *, many: bool) -> dict[str, Any]:
        """`entry` with its `path` made absolute and the content's sha256 added when it exists
        (a list, in sorted-path order, when the path may be a glob)."""
        path = entry.get("path")
        if not isinstance(path, str) or not path:
            return entry
        absolute = self.absolute(path)
        out = {k: v for k, v in entry.items() if k != "sha256"}
        out["path"] = absolute
        found = self.files(absolute)
        if found is not None and (many or len(found) == 1):
            digests = [self.cache.digest(f) for f in found]
            out["sha256"] = digests if many else digests[0]
        return out

    def data_source(self, source: dict[str, Any], split: str | None) -> dict[str, Any]:
        """A load node's source: local files fingerprinted (with `{split}` filled in), hub
        sources that name a local folder made absolute; other sources unchanged."""
        kind = source.get("source")
        if kind == "local":
            path = source.get("path")
            if isinstance(path, str) and split and "{split}" in path:
                source = {**source, "path": path.replace("{split}", split)}
            return self.fingerprint(source, many=True)
        if kind == "hf":
            return self.hub_source(source)
        return source

    def hub_source(self, source: dict[str, Any]) -> dict[str, Any]:
        """`hf(id)` names a local folder when one exists beside the spec: make it absolute so
        the runtime finds it from any directory. A hub id is left alone."""
        ident = source.get("id")
        if isinstance(ident, str) and ident and "{lang}" not in ident:
            try:
                candidate = self.absolute(ident)
            except OSError:  # no current directory to resolve against: leave the id as written
                return source
            if os.path.isdir(candidate):
                return {**source, "id": candidate}
        return source

    def lexicons(self, value: Any) -> Any:
        """Every MUSE lexicon reference inside perturbation/attack parameters, fingerprinted."""
        if isinstance(value, dict):
            if value.get("kind") == "muse":
                return self.fingerprint(value, many=False)
            return {k: self.lexicons(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.lexicons(v) for v in value]
        return value


def is_hub_source(source: dict[str, Any]) -> bool:
    """An `hf(...)` source that names the hub, not a local folder (lowering made those absolute)."""
    ident = source.get("id")
    return source.get("source") == "hf" and not (isinstance(ident, str) and os.path.isabs(ident))


def content_paths(value: Any) -> dict[str, Any]:
    """path -> sha256 of every fingerprinted file reference in a node's parameters."""
    found: dict[str, Any] = {}
    if isinstance(value, dict):
        if "sha256" in value and isinstance(value.get("path"), str):
            found[value["path"]] = value["sha256"]
        for v in value.values():
            found.update(content_paths(v))
    elif isinstance(value, list):
        for v in value:
            found.update(content_paths(v))
    return found


def without_content(value: Any) -> Any:
    """Parameters with every sha256 removed: what is left of a node when its files are ignored."""
    if isinstance(value, dict):
        return {k: without_content(v) for k, v in value.items() if k != "sha256"}
    if isinstance(value, list):
        return [without_content(v) for v in value]
    return value
