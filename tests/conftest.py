"""One local Ray for the whole test session (starting Ray costs seconds; share it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import needs

pytest_plugins = ["pytester"]  # tests/test_needs.py runs the hooks below in an inner session

# One BLAS/OpenMP thread per test process: on 2 shared cores, oversubscribed torch threads make
# small models many times slower, and single-threaded runs are bit-reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def ray_local():
    """Local Ray with 2 CPUs and 4 logical GPUs; the tests folder is on the workers' path."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    from xexp.runtime.engine.ray_session import loopback_only

    loopback_only()  # as `xexp run` does: node address and servers on 127.0.0.1

    tests_dir = str(Path(__file__).resolve().parent)
    python_path = os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=2, num_gpus=4, include_dashboard=False, logging_level="ERROR",
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": python_path}})
    yield ray
    ray.shutdown()


# ------------------------------------------------ tests that need real data or a browser (needs.py)

@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> dict:
    """The model manifest of a 1-layer tiny encoder (width 32) for training and task tests: built
    once per session; tests read it and write only below their own output folders."""
    from xexp.runtime.learning.models.tiny import build_tiny

    path = build_tiny(tmp_path_factory.mktemp("tiny") / "model", layers=1, hidden=32, heads=2, intermediate=64)
    return {"path_or_id": str(path), "revision": None, "trust_remote_code": False}


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_data: reads the real data in ../shared/data (skipped "
                            "when absent, a failure under CI=true)")
    config.addinivalue_line("markers", "needs_browser: renders in headless chromium (skipped when "
                            "absent, a failure under CI=true)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture runs, so a module fixture that reads the data is never started."""
    if item.get_closest_marker("needs_data"):
        needs.data()
    if item.get_closest_marker("needs_browser"):
        needs.chromium()


def _skipped_for(reports, reason: str) -> int:
    return sum(1 for r in reports if isinstance(r.longrepr, tuple) and reason in str(r.longrepr[2]))


def pytest_terminal_summary(terminalreporter):
    """One line naming what a fresh clone left out and how to run it."""
    skipped = terminalreporter.stats.get("skipped", [])
    no_data = _skipped_for(skipped, needs.DATA_REASON)
    no_browser = _skipped_for(skipped, needs.BROWSER_REASON)
    no_tex = _skipped_for(skipped, needs.TEX_REASON)
    tex = (f" (and {no_tex} that need pdflatex: apt-get install texlive-latex-base "
           f"texlive-latex-recommended)") if no_tex else ""
    if no_data or no_browser or no_tex:
        terminalreporter.write_line(
            f"xexp: left out {no_data} tests that need the real data and {no_browser} that need "
            f"chromium{tex}; to run them put the data at {needs.DATA} (or set XEXP_TEST_DATA) and install chromium "
            f"(apt-get install chromium), or run .ci/run, which requires both")
