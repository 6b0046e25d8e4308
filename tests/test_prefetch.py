"""`xexp fetch` fills the store; a run with HF_HUB_OFFLINE=1 and the network blocked then needs nothing else.

The hub cannot be reached from the tests, so the model "download" is a stand-in: a tiny BERT
placed in `<store>/hub` in the Hugging Face cache layout that `snapshot_download` writes
(refs/main -> snapshots/<commit>/). `xexp fetch` must find it there without a network call, run the
model and load nodes, and the offline run (a fresh process with its own Ray) must load the model
from the store's cache. Every process of that run, Ray's workers included, imports a
sitecustomize that refuses DNS look-ups and TCP connections to anything but this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from xexp.cli import main
from xexp.runtime.learning.models.tiny import build_tiny

REPO_ID = "xexp-test/tiny-bert"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SPEC = f"""experiment offline
model tiny = hf("{REPO_ID}")
task nli = nli(synthetic("nli", size=24), train="train", dev="dev", test="test")
intermediate = [none]
target = nli trained_on nli
languages = [en]
seeds = [1]
train target {{ lr=1e-3 batch=8 epochs=1 max_len=32 }}
evaluate {{ batch=16 max_len=32 }}
report {{ bootstrap=100 examples=0 }}
"""

GUARD = r'''
import ipaddress, os, socket, sys
_LOCAL = {"localhost", socket.gethostname()}
_LOG = os.environ["XEXP_TEST_NET_LOG"]
with open(os.path.join(_LOG, f"started-{os.getpid()}"), "w"):
    pass


def _own(host):
    if host in _LOCAL:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False  # a name to resolve: the network
    return ip.is_loopback or ip.is_private or ip.is_unspecified  # this machine and its own network


def _refuse(what):
    with open(os.path.join(_LOG, "blocked.txt"), "a") as f:
        f.write(f"{os.getpid()} {what}\n")
    raise socket.gaierror(socket.EAI_NONAME, f"network blocked by the test: {what}")


def _hook(event, args):
    if event == "socket.getaddrinfo" and args[0] is not None:
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        try:
            ipaddress.ip_address(host.split("%")[0])  # a numeric address resolves without the network
        except ValueError:
            if not _own(host):
                _refuse(f"getaddrinfo {host}")
    elif event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            if not _own(str(address[0])):
                _refuse(f"connect {address}")


sys.addaudithook(_hook)
'''


def _stand_in_download(hub: Path) -> Path:
    """What snapshot_download leaves in a cache: refs/main naming a snapshot folder of files."""
    repo = hub / ("models--" + REPO_ID.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    return build_tiny(repo / "snapshots" / COMMIT, layers=1, hidden=32, heads=2, intermediate=64)


def test_fetch_then_an_offline_run_uses_only_the_store(tmp_path, ray_local, monkeypatch, capsys):
    spec = tmp_path / "offline.xexp"
    spec.write_text(SPEC)
    store = tmp_path / "store"
    _stand_in_download(store / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(store / "hub"))  # what run_spec sets; restored afterwards

    assert main(["fetch", str(spec), "--store", str(store)]) == 0
    out = capsys.readouterr()
    assert f"{REPO_ID} already in" in out.err and "fetched 1 hub models" in out.out
    done = [p.parent.parent.name for p in store.glob("*/*/_complete.json")]
    assert sorted(set(done)) == ["load", "model"] and len(done) == 4  # 3 splits, nothing trained yet
    # one count of what it ran, and its record is not "the latest run" that status would show
    assert ": 4 nodes, store" in out.err and "and 4 model and load nodes" in out.out
    from xexp.runtime.engine.runs import latest_run_id
    from xexp.runtime.engine.store import Store
    assert latest_run_id(Store(store)) is None and len(list((store / "runs").glob("*/run.json"))) == 1

    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net"
    log.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "HF_HUB_CACHE", "HF_HOME", "PYTHONPATH")}
    env.update(HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled", XEXP_TEST_NET_LOG=str(log), RAY_USAGE_STATS_ENABLED="0",
               PYTHONPATH=str(guard), HOME=str(tmp_path / "home"))  # no user cache to fall back on
    run = subprocess.run([sys.executable, "-m", "xexp.cli", "run", str(spec), "--store", str(store),
                          "--json", "--num-cpus", "2"], env=env, capture_output=True, text=True,
                         timeout=400, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["failed"] == 0 and summary["executed"] > 0
    assert summary["cached"] == len(done) and summary["executed"] == summary["nodes"] - len(done)
    blocked = (log / "blocked.txt").read_text().splitlines() if (log / "blocked.txt").exists() else []
    # Ray itself asks whether it runs on a cloud VM (it copes with the refusal); nothing else went out
    assert [b for b in blocked if "metadata.google.internal" not in b and "169.254.169.254" not in b] == []
    assert len(list(log.glob("started-*"))) >= 3  # the driver and Ray's worker processes were guarded
    record = json.loads(next(store.glob("train/*/_complete.json")).read_text())
    assert record["manifest"]["dev_metric"] is not None


def test_the_guard_really_blocks_the_hub(tmp_path):
    """Without the prefetched cache the same offline run cannot get the model: the test can fail."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "PYTHONPATH")}
    env.update(XEXP_TEST_NET_LOG=str(tmp_path), PYTHONPATH=str(guard))
    code = "import socket; socket.create_connection(('huggingface.co', 443), timeout=5)"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "network blocked by the test" in run.stderr
    assert "getaddrinfo huggingface.co" in (tmp_path / "blocked.txt").read_text()
