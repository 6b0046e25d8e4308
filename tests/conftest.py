"""One local Ray for the whole test session (starting Ray costs seconds; share it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One BLAS/OpenMP thread per test process: on 2 shared cores, oversubscribed torch threads make
# small models many times slower, and single-threaded runs are bit-reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def ray_local():
    """Local Ray with 2 CPUs and 4 logical GPUs; the tests folder is on the workers' path."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    from xexp.runtime.ray_session import loopback_only

    loopback_only()  # as `xexp run` does: node address and servers on 127.0.0.1

    tests_dir = str(Path(__file__).resolve().parent)
    python_path = os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=2, num_gpus=4, include_dashboard=False, logging_level="ERROR",
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": python_path}})
    yield ray
    ray.shutdown()
