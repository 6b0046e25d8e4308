"""The compiler and the check/plan commands stay light: no torch, transformers, datasets or ray.

docs/architecture.md promises that `xexp check` and `xexp plan` start in well under a second;
one stray import of a heavy library breaks that silently, so each case runs in a fresh
interpreter and reads `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "datasets", "ray")
SPEC = REPO / "specs" / "xnli_robustness.xexp"


def heavy_modules_after(code: str) -> dict:
    """Run `code` in a fresh interpreter; return the heavy top-level modules it imported."""
    probe = (f"{code}\n"
             "import json, sys\n"
             f"print('@@' + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    marker = [line for line in done.stdout.splitlines() if line.startswith("@@")]
    assert marker, done.stdout
    return json.loads(marker[-1][2:])


def test_the_probe_sees_a_heavy_module():
    """The checks below can fail: a module registered under a heavy name is reported."""
    assert heavy_modules_after("import json") == []
    assert heavy_modules_after("import sys, json; sys.modules['ray.util'] = json") == ["ray"]


def test_imports_are_light():
    assert heavy_modules_after("import xexp, xexp.compiler, xexp.cli, xexp.compiler.fmt, xexp.planning, "
                               "xexp.grammar, xexp.compiler.registry") == []


def test_check_plan_fmt_and_the_compile_api_are_light(tmp_path):
    spec = tmp_path / "study.xexp"  # a copy: no store beside it
    spec.write_text(SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()  # an existing store makes `plan` read completion records
    code = (
        "import contextlib, io\n"
        "import xexp\n"
        "from xexp.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['check', {str(spec)!r}, '--no-inputs']) == 0\n"
        f"    assert main(['plan', {str(spec)!r}, '--no-inputs']) == 0\n"
        f"    assert main(['plan', {str(spec)!r}, '--store', {str(store)!r}, '--json', '--no-inputs']) == 0\n"
        f"    assert main(['plan', {str(spec)!r}, '--dot', '--no-inputs']) == 0\n"
        f"    assert main(['fmt', '--check', {str(spec)!r}]) in (0, 1)\n"
        f"spec, graph = xexp.compile({str(spec)!r})\n"
        f"assert len(xexp.plan({str(spec)!r})) == len(graph.nodes) > 0\n"
    )
    assert heavy_modules_after(code) == []
