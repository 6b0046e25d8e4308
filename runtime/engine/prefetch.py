"""Prefetch for offline GPU nodes: everything a run downloads, fetched ahead into the store.

`xexp fetch SPEC` (on a machine with network) downloads the spec's hub models into the store's
own Hugging Face cache, `<store>/hub`, and runs the graph's `model` and `load` nodes, which put
every dataset split into the store as parquet. A later `xexp run` (for example on a GPU node
with `HF_HUB_OFFLINE=1`) finds the data as cached nodes and the models in `<store>/hub`: run_spec
points `HF_HUB_CACHE` there before Ray starts, so the node processes load from it and nothing
touches the network. `xexp run --only model,load` does the second half without the downloads.
"""

from __future__ import annotations

import os
from pathlib import Path

HUB_DIR = "hub"


def hub_cache(store_root: str | Path) -> Path:
    return Path(store_root) / HUB_DIR


def use_store_hub_cache(store_root: str | Path) -> Path | None:
    """Point HF_HUB_CACHE at the store's hub cache when it exists and the user set none.

    Must run before Ray starts its workers (they inherit the environment) and before
    huggingface_hub is imported in this process (it reads the variable once)."""
    cache = hub_cache(store_root)
    if cache.is_dir() and not os.environ.get("HF_HUB_CACHE"):
        os.environ["HF_HUB_CACHE"] = str(cache.resolve())
        return cache
    return None


def hub_models(graph) -> list[tuple[str, str | None]]:
    """(repo id, revision) of each hub model the graph names (local directories excluded)."""
    found = []
    for node in graph.nodes:
        source = node.params.get("source") if node.kind == "model" else None
        if isinstance(source, dict) and source.get("source") == "hf" and not Path(source["id"]).expanduser().is_dir():
            pair = (source["id"], source.get("revision"))
            if pair not in found:
                found.append(pair)
    return found


def download_models(graph, store_root: str | Path, stream) -> list[Path]:
    """Each hub model into `<store>/hub`, unless it is there already (then no network call)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache = hub_cache(store_root)
    paths = []
    for repo_id, revision in hub_models(graph):
        try:
            path = snapshot_download(repo_id, revision=revision, cache_dir=cache, local_files_only=True)
            print(f"fetch: {repo_id} already in {cache}", file=stream)
        except LocalEntryNotFoundError:
            path = snapshot_download(repo_id, revision=revision, cache_dir=cache)
            print(f"fetch: downloaded {repo_id} into {cache}", file=stream)
        paths.append(Path(path))
    return paths


def only_kinds(graph, kinds: list[str]):
    """The graph cut to the nodes of these kinds and everything they depend on."""
    from xexp.compiler import SpecError
    from xexp.compiler.spec import NODE_KINDS

    for kind in kinds:
        if kind not in NODE_KINDS:
            raise SpecError(f"no node kind `{kind}` (kinds: {', '.join(NODE_KINDS)})", file="--only")
    by_key = graph.by_key()
    keep: set[str] = set()
    pending = [n.key for n in graph.nodes if n.kind in kinds]
    while pending:
        key = pending.pop()
        if key not in keep:
            keep.add(key)
            pending += list(by_key[key].inputs.values())
    return graph.model_copy(update={"nodes": [n for n in graph.nodes if n.key in keep]})
