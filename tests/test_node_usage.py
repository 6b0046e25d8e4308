"""A node's memory figures are read whatever its process is called: Ray names a worker after its
task (`ray::train:nli→nli/seed1`), which Linux cuts to 15 bytes, possibly inside a UTF-8 character."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
from xexp.runtime.engine.usage import NodeUsage
with open("/proc/self/comm", "wb") as handle:
    handle.write("ray::train:nli→nli/seed1".encode()[:15])  # what the kernel keeps: 14 bytes and 0xe2
usage = NodeUsage()
print(usage.finish()["peak_rss_bytes"])
"""


@pytest.mark.skipif(not Path("/proc/self/comm").exists(), reason="Linux process names")
def test_peak_memory_is_read_when_the_process_name_ends_inside_a_character():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) > 10 * 2**20
