"""Connecting the driver to Ray: an embedded local instance, or a cluster named by address.

Ray 2.60 turns token authentication on by default (a token under ``~/.ray/``) and xexp keeps
it: ray.init binds even an embedded local instance to the machine's network address, not to
loopback, so without a token anyone on the network could submit work to it. Set
``RAY_AUTH_MODE=disabled`` yourself only on a machine no one else can reach (the tests do).
Joining a cluster leaves authentication to the cluster.
"""

from __future__ import annotations

import logging
import os
from typing import Any

_dashboard_url: str | None = None


def _info(local: bool) -> dict[str, Any]:
    import ray

    context = ray.get_runtime_context()
    alive = [n for n in ray.nodes() if n.get("Alive")]
    return {
        "address": context.gcs_address,
        "local": local,
        "dashboard_url": _dashboard_url,
        "resources": ray.cluster_resources(),
        "nodes": len(alive),
        "node_id": context.get_node_id(),
    }


def connect(address: str | None = None, *, num_cpus: float | None = None,
            num_gpus: float | None = None, dashboard: bool = False) -> dict[str, Any]:
    """Make sure this process is a Ray driver and describe what it is connected to.

    ``address`` (or ``RAY_ADDRESS``) joins that cluster; otherwise an embedded local Ray starts
    with this machine's resources (or ``num_cpus``/``num_gpus``, e.g. logical GPUs for tests).
    Idempotent: if Ray is already initialised in this process, nothing is restarted and the
    arguments are ignored.
    """
    global _dashboard_url
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if ray.is_initialized():
        return _info(local=address is None)
    options: dict[str, Any] = {
        "logging_level": logging.WARNING,
        "log_to_driver": False,  # node output goes to each node's log.txt, not the terminal
        "include_dashboard": dashboard,
    }
    if dashboard:
        options["dashboard_host"] = "127.0.0.1"
    if address is None:
        if num_cpus is not None:
            options["num_cpus"] = num_cpus
        if num_gpus is not None:
            options["num_gpus"] = num_gpus
        context = ray.init(**options)
    else:
        if num_cpus is not None or num_gpus is not None:
            raise ValueError("num_cpus/num_gpus describe a local Ray; a cluster at "
                             f"{address!r} brings its own resources")
        options.pop("include_dashboard")
        options.pop("dashboard_host", None)
        context = ray.init(address=address, **options)
    url = getattr(context, "dashboard_url", None)
    if url:
        _dashboard_url = url if "://" in url else f"http://{url}"
    return _info(local=address is None)
