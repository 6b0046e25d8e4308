"""Which commit of a Hugging Face hub repository a run really used.

A hub id without `revision=` means "the latest commit of main", which moves; a stored artifact
must say which commit it came from, and every consumer of one run must read that same commit.
So the node that first names a hub source resolves the revision to a commit hash and records
it (model manifests; load manifests through the data's schema). Resolution asks the hub when it
can be reached and falls back to the local cache's refs (`<cache>/<type>s--<org>--<name>/refs/
<revision>`, the layout huggingface_hub documents), so offline runs of cached repositories are
recorded too. A commit that cannot be found is recorded as None, never guessed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

COMMIT = re.compile(r"^[0-9a-f]{40}$")
#: Seconds to wait for the hub before trusting the local cache instead.
HUB_TIMEOUT_S = 10.0


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE")
    return constants.HF_HUB_OFFLINE if flag is None else flag.strip().lower() in ("1", "true", "yes", "on")


def cached_commit(repo_id: str, revision: str | None, repo_type: str = "model") -> str | None:
    """The commit the local hub cache maps `revision` (default main) to, if it has one."""
    from huggingface_hub import constants

    root = Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)
    ref = root / f"{repo_type}s--{repo_id.replace('/', '--')}" / "refs" / (revision or "main")
    try:
        commit = ref.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return commit if COMMIT.match(commit) else None


def hub_commit(repo_id: str, revision: str | None, repo_type: str = "model") -> str | None:
    """The commit `repo_id` at `revision` resolves to now: a commit is itself, otherwise the hub
    is asked (unless offline) and then the local cache; None when neither knows."""
    if revision and COMMIT.match(revision):
        return revision
    if not _offline():
        try:
            from huggingface_hub import HfApi

            info = HfApi().repo_info(repo_id, repo_type=repo_type, revision=revision, timeout=HUB_TIMEOUT_S)
            if info.sha and COMMIT.match(info.sha):
                return info.sha
        except Exception:  # noqa: BLE001 - no network, no such repo, rate limit: the cache may still know
            pass
    return cached_commit(repo_id, revision, repo_type)
