"""A real two-node Ray cluster, driven by a separate driver; and the embedded Ray.

Ray 2.60 rewrites a loopback node address to the machine's own address unless it runs in its
single-machine mode, which cannot join nodes into a cluster. Tests send traffic to 127.0.0.1
only, so the cluster runs in a network namespace of its own (`ip netns`, made and removed by the
fixture), whose only interface is its loopback: there Ray finds no other address, and the head,
the worker node and the driver all talk over 127.0.0.1. The embedded Ray that `xexp run`
starts is the single-machine mode: loopback only (last test).

The cluster gets its own ``--temp-dir`` and is stopped by sending SIGTERM to the two
``ray start --block`` processes this test started (which then stop their children).
``ray stop`` is never used: it kills every Ray process of the user, including the shared local
session of the other tests and other people's sessions. The driver runs in a subprocess, so
this process's own Ray session (if any) is untouched; this test does not need ``ray_local``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from scheduler_work import two_node_graph
from xexp.runtime.engine.ray_session import LOOPBACK_ONLY_ENV
from xexp.runtime.engine.runs import new_run_id
from xexp.runtime.engine.store import Store

HERE = Path(__file__).resolve().parent
RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(namespace: list[str], port: int, process: subprocess.Popen, seconds: float) -> None:
    """Until the head listens on 127.0.0.1:`port` inside the namespace."""
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)"
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert process.poll() is None, f"ray start exited with {process.returncode}"
        if subprocess.run([*namespace, sys.executable, "-c", probe], capture_output=True).returncode == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"the Ray head never listened on port {port}")


@pytest.fixture
def loopback_namespace():
    """`ip netns exec NAME` for a fresh network namespace holding only a loopback interface."""
    name = f"xexp-test-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True) if shutil.which("ip") else None
    if made is None or made.returncode != 0:
        why = made.stderr.strip() if made is not None else "no `ip` command (iproute2)"
        pytest.fail(f"cannot make a network namespace for the cluster test: {why}")
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield ["ip", "netns", "exec", name]
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def processes_under(temp_dir: str) -> list[int]:
    """Pids of processes whose command line names our cluster's temp dir."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if temp_dir.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.fixture
def two_node_cluster(loopback_namespace):
    temp_dir = tempfile.mkdtemp(prefix="xr", dir="/tmp")  # short: Ray's socket paths have a limit
    port = free_port()
    # not Ray's single-machine mode (tests/conftest.py turns it on): a worker node could not join
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", LOOPBACK_ONLY_ENV)}
    env["RAY_AUTH_MODE"] = "disabled"
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--num-gpus=0", "--block",
              "--object-store-memory=80000000", f"--temp-dir={temp_dir}", "--disable-usage-stats"]
    ns = loopback_namespace
    head = subprocess.Popen(
        [*ns, RAY, "start", "--head", f"--port={port}", '--resources={"head_node": 1}',
         "--include-dashboard=false", f"--dashboard-port={free_port()}",
         f"--ray-client-server-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
         *common], env=env, stdout=open(f"{temp_dir}/head.out", "w"), stderr=subprocess.STDOUT)
    started = [head]
    try:
        wait_for_port(ns, port, head, 90)
        worker = subprocess.Popen(
            [*ns, RAY, "start", f"--address=127.0.0.1:{port}", '--resources={"worker_node": 1}',
             f"--dashboard-agent-listen-port={free_port()}", *common],
            env=env, stdout=open(f"{temp_dir}/worker.out", "w"), stderr=subprocess.STDOUT)
        started.append(worker)
        yield f"127.0.0.1:{port}", env, ns
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in processes_under(temp_dir):  # anything that outlived its `ray start`
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_nodes_run_on_both_ray_nodes_of_a_real_cluster(two_node_cluster, tmp_path):
    address, env, ns = two_node_cluster
    store = Store(tmp_path / "store")
    driver = subprocess.run(
        [*ns, sys.executable, str(HERE / "scheduler_work.py"), str(store.root), address, new_run_id(),
         "two_node"], env=env, capture_output=True, text=True, timeout=300)
    assert driver.returncode == 0, driver.stdout + driver.stderr
    result = json.loads(driver.stdout.strip().splitlines()[-1])
    graph = two_node_graph()
    assert result["executed"] == len(graph.nodes) and result["ok"]
    node_ids = {}
    for node in graph.nodes:
        record = store.read_record(node.kind, node.key)
        where = next(iter(node.resources.custom))
        node_ids.setdefault(where, set()).add(record.ray_node_id)
    assert len(node_ids["head_node"]) == 1 and len(node_ids["worker_node"]) == 1
    interfaces = subprocess.run([*ns, "ip", "-brief", "addr"], capture_output=True, text=True).stdout
    assert [line.split()[0] for line in interfaces.splitlines()] == ["lo"]  # no address but loopback
    assert node_ids["head_node"] != node_ids["worker_node"]  # two distinct Ray nodes did work


def test_connect_starts_an_embedded_ray_with_a_dashboard_and_is_idempotent(tmp_path):
    """The `xexp run` default, in a subprocess so it cannot collide with the shared session."""
    code = """
import json, sys, urllib.error, urllib.request
from pathlib import Path
from xexp.runtime.engine.ray_session import connect
info = connect(num_cpus=1, num_gpus=2, dashboard=True)
url = info["dashboard_url"] + "/api/version"
try:  # token authentication stays on: no token, no dashboard
    urllib.request.urlopen(url, timeout=30)
    anonymous = 200
except urllib.error.HTTPError as err:
    anonymous = err.code
token = (Path.home() / ".ray" / "auth_token").read_text().strip()
request = urllib.request.Request(url, headers={"authorization": "Bearer " + token})
version = json.loads(urllib.request.urlopen(request, timeout=30).read())
again = connect(num_cpus=7)
print(json.dumps({"info": info, "again": again, "ray_version": version["ray_version"], "anonymous": anonymous}))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=240, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    info, again = report["info"], report["again"]
    assert info["local"] and info["nodes"] == 1
    assert info["resources"]["CPU"] == 1 and info["resources"]["GPU"] == 2
    assert info["dashboard_url"].startswith("http://127.0.0.1:")
    assert report["ray_version"].startswith("2.")
    assert report["anonymous"] == 401
    assert again["address"] == info["address"] and again["resources"]["CPU"] == 1  # not restarted


LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def test_embedded_ray_listens_on_loopback_only_and_its_token_is_private(tmp_path):
    """What `xexp run` starts on one machine: every listening socket of every Ray process of
    the instance (gcs_server, raylet, agents, workers), listed with psutil while a task runs,
    is on loopback; the token file Ray authenticates with is readable by its owner only."""
    code = """
import json, os, psutil, ray
from xexp.runtime.engine.ray_session import connect
info = connect(num_cpus=1)

@ray.remote
def busy():
    import time
    time.sleep(3)
    return os.getpid()

ref = busy.remote()
ray.wait([ref], timeout=2)
me = psutil.Process()
sockets = []
for process in [me, *me.children(recursive=True)]:
    try:
        for c in process.net_connections(kind="inet"):
            if c.status == psutil.CONN_LISTEN:
                sockets.append([process.name(), c.laddr.ip, c.laddr.port])
    except psutil.NoSuchProcess:
        pass
worker = ray.get(ref)
print(json.dumps({"address": info["address"], "sockets": sockets, "worker": worker,
                  "node_ip": ray.util.get_node_ip_address()}))
"""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    env["HOME"] = str(home)  # a fresh token file, created by whoever comes first
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=240, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["address"].startswith("127.0.0.1:") and report["node_ip"] == "127.0.0.1"
    names = {name for name, _, _ in report["sockets"]}
    assert {"gcs_server", "raylet"} <= names, report["sockets"]  # the listing saw Ray's servers
    exposed = [s for s in report["sockets"] if s[1] not in LOOPBACK]
    assert exposed == [], exposed
    token = home / ".ray" / "auth_token"
    assert token.stat().st_mode & 0o777 == 0o600 and len(token.read_text()) == 64
