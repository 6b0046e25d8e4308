"""`xexp report`, `xexp status` and `xexp gc` on a store that refuses writes or holds planted
paths: one line, the right exit status, nothing partial, nothing written outside the store."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from xexp.cli import main
from xexp.runtime.engine.store import write_json_atomic

SPEC = Path(__file__).resolve().parent / "specs" / "concurrent_tiny.xexp"
REPORT_FILES = ("report.md", "report.html", "results.csv")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real finished run of the tiny spec, its nodes executed in this process in graph order
    (what `xexp run` does on Ray; Ray itself is not what these tests are about)."""
    from xexp.compiler import compile_text
    from xexp.runtime.engine.worker import execute_node
    from xexp.runtime.engine.runs import RunLog, create_run
    from xexp.runtime.engine.scheduler import DEFAULT_WORK
    from xexp.runtime.engine.store import Store
    from xexp.running import publish_report

    folder = tmp_path_factory.mktemp("faults")
    _, graph = compile_text(SPEC.read_text(), str(SPEC), {})
    store = Store(folder / "store")
    run_id = create_run(store, graph)
    kinds = {n.key: n.kind for n in graph.nodes}
    states = {}
    for node in graph.nodes:  # inputs come first
        summary = execute_node(node.model_dump(mode="json"), store.url, run_id, DEFAULT_WORK,
                               {k: kinds[k] for k in node.inputs.values()})
        assert summary["outcome"] == "executed", summary
        states[node.key] = "done"
    assert publish_report(store, run_id, graph, states) is not None
    RunLog(store, run_id).finish("done")
    return store.root, run_id


@pytest.fixture
def store(finished, tmp_path) -> tuple[Path, str]:
    """A copy of the finished run's store, for one test to damage."""
    source, run_id = finished
    shutil.copytree(source, tmp_path / "store", symlinks=True)
    return tmp_path / "store", run_id


def one_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.mark.parametrize("run", ["../../outside", "..", "x/../../outside"])
def test_a_run_argument_that_leaves_the_store_is_refused(store, tmp_path, capsys, run):
    root, _ = store
    assert main(["report", run, "--store", str(root)]) == 1
    assert "is not a run id" in one_line(capsys)
    assert main(["status", run, "--store", str(root)]) == 1
    assert "is not a run id" in one_line(capsys)
    assert not (tmp_path / "outside").exists()


def test_a_planted_runs_latest_or_report_link_writes_nothing_outside(store, tmp_path, capsys):
    root, run_id = store
    write_json_atomic(root / "runs" / "latest", "../../outside")
    assert main(["report", "--store", str(root)]) == 1
    assert "is not a run id" in one_line(capsys)
    assert not (tmp_path / "outside").exists()

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    report = root / "runs" / run_id / "report"
    shutil.rmtree(report)
    report.symlink_to(outside)
    assert main(["report", run_id, "--store", str(root)]) == 0
    capsys.readouterr()
    assert list(outside.iterdir()) == []  # the link was replaced, not followed
    assert not report.is_symlink() and all((report / name).stat().st_size > 0 for name in REPORT_FILES)

    (root / "runs" / run_id).rename(root / "runs" / "real")
    (root / "runs" / run_id).symlink_to(outside)  # a run folder that is a link out
    assert main(["report", run_id, "--store", str(root)]) == 1
    assert "leads outside the store" in one_line(capsys)


def test_a_torn_run_record_is_one_line_for_report_and_status(store, capsys):
    root, run_id = store
    (root / "runs" / run_id / "run.json").write_text('{"graph": {"nodes": [')
    assert main(["report", run_id, "--store", str(root)]) == 1
    assert "unusable" in one_line(capsys)
    assert main(["status", run_id, "--store", str(root)]) == 1
    assert "unusable" in one_line(capsys)


def mount_or_skip(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip()}): needs root")


@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_report_on_a_store_that_refuses_writes_is_one_line_and_keeps_the_old_report(finished, tmp_path, capsys, fault):
    source, run_id = finished
    point = tmp_path / "mnt"
    point.mkdir()
    if fault == "full":
        mount_or_skip("-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point))
    else:
        mount_or_skip("--bind", str(tmp_path), str(point))
    try:
        root = point / "store"
        if fault == "full":
            shutil.copytree(source, root)
            with open(point / "filler", "wb") as filler:  # fill what is left
                try:
                    while True:
                        filler.write(b"\0" * (1 << 20))
                        filler.flush()
                except OSError:
                    pass
            # the last partial block may still take a few bytes: use them up too
            subprocess.run(["sh", "-c", f"cat /dev/zero >> {point / 'filler2'}"], capture_output=True)
        else:
            shutil.copytree(source, tmp_path / "store")
            subprocess.run(["mount", "-o", "remount,bind,ro", str(point)], check=True)
        report = root / "runs" / run_id / "report"
        before = {name: (report / name).read_bytes() for name in REPORT_FILES}
        listing = sorted(p.name for p in report.parent.iterdir())
        assert main(["report", run_id, "--store", str(root)]) == 1
        line = one_line(capsys)
        reason = "no space left on device" if fault == "full" else "read-only file system"
        assert line.startswith(f"xexp report: store {root}: {reason}") and "nothing was written" in line
        assert {name: (report / name).read_bytes() for name in REPORT_FILES} == before
        assert sorted(p.name for p in report.parent.iterdir()) == listing  # no half report beside it
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)
