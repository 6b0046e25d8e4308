"""Connecting the driver to Ray: an embedded local instance, or a cluster named by address.

The embedded instance is for this machine only, so it is bound to loopback: left to itself,
ray.init advertises the machine's network address and its gcs_server, raylet and workers
listen on every interface. Ray 2.60 has no bind-address option for those servers, but it has
the single-machine mode it uses on macOS and Windows (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``):
the node address becomes 127.0.0.1 and every server binds to it. The variable is set before
Ray starts and is inherited by every Ray process of the instance.

Ray's token authentication (on by default) stays on as a second line; the token file Ray
writes is readable by everyone on the machine, so xexp creates it (or narrows it) owner-only.
Set ``RAY_AUTH_MODE=disabled`` only where no one else has a login (the tests do). Joining a
cluster (``address``) leaves binding and authentication to the cluster.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from xexp.errors import ResourceError

#: Ray's switch for its single-machine mode (node address and servers on loopback).
LOOPBACK_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

_dashboard_url: str | None = None


def token_path() -> Path | None:
    """Where Ray reads its authentication token from, or None when auth is off or inline."""
    if os.environ.get("RAY_AUTH_MODE", "token") == "disabled" or os.environ.get("RAY_AUTH_TOKEN"):
        return None
    configured = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(configured).expanduser() if configured else Path.home() / ".ray" / "auth_token"


def private_token() -> Path | None:
    """Make sure the token file exists and only its owner can read it (before Ray starts).

    Created here with mode 0600 and O_EXCL when missing (Ray would create it world-readable);
    an existing one is narrowed to 0600. Returns its path.
    """
    path = token_path()
    if path is None:
        return None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path


def loopback_only() -> None:
    """Put the embedded Ray in its single-machine mode: node address and servers on 127.0.0.1."""
    os.environ[LOOPBACK_ONLY_ENV] = "0"
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # read at import: Ray may be imported already


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
        loopback_only()
        private_token()
        if num_cpus is not None:
            options["num_cpus"] = num_cpus
        if num_gpus is not None:
            options["num_gpus"] = num_gpus
        context = ray.init(**options)
    else:
        if num_cpus is not None or num_gpus is not None:
            raise ResourceError("num_cpus/num_gpus describe a local Ray; a cluster at "
                                f"{address!r} brings its own resources")
        options.pop("include_dashboard")
        options.pop("dashboard_host", None)
        context = ray.init(address=address, **options)
    url = getattr(context, "dashboard_url", None)
    if url:
        _dashboard_url = url if "://" in url else f"http://{url}"
    return _info(local=address is None)
