"""Small CLI messages of issue 30 (item 8): success that says so, errors that say where."""

from __future__ import annotations

import shutil
from pathlib import Path

from xexp.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_fmt_check_says_so_when_every_file_is_formatted(tmp_path, capsys):
    spec = tmp_path / "demo.xexp"
    shutil.copy(REPO / "specs" / "demo.xexp", spec)
    assert main(["fmt", "--check", str(spec), str(spec)]) == 0
    assert capsys.readouterr().err == "all 2 files are formatted\n"


def test_a_bare_set_is_reported_under_set_not_the_spec(capsys):
    assert main(["check", str(REPO / "specs" / "smoke.xexp"), "--set", "seeds"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--set: error: --set expects NAME=VALUE, got `seeds`") and "<spec>" not in err
    assert "hint: e.g. --set seeds=VALUE" in err


def test_a_misspelt_report_baseline_gets_a_did_you_mean(capsys):
    assert main(["check", str(REPO / "specs" / "demo.xexp"), "--no-inputs", "--set", "report.baseline=choic"]) == 2
    err = capsys.readouterr().err
    assert "the report baseline `choic` is not in `intermediate`" in err and "did you mean `choice`?" in err


def test_a_spec_problem_found_only_while_running_is_one_line(tmp_path, capsys):
    """An XexpError of the runtime (here an unknown --force node, a spec-category error) ends the
    command in one line naming the command, not in a traceback."""
    assert main(["run", str(REPO / "specs" / "smoke.xexp"), "--store", str(tmp_path / "store"), "--dry-run",
                 "--force", "nonsense"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["xexp run: --force 'nonsense': no kind or node key of this graph matches "
                                "(kinds: attack, evaluate, load, model, perturb, report, train)"]
