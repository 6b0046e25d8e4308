"""XEXP_STORE is the store of every command unless --store names another."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xexp.cli import main

SMOKE = Path(__file__).resolve().parents[1] / "specs" / "smoke.xexp"


@pytest.fixture
def spec(tmp_path, monkeypatch):
    shutil.copy(SMOKE, tmp_path / "smoke.xexp")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XEXP_STORE", str(tmp_path / "shared-store"))
    return tmp_path / "smoke.xexp"


def test_run_uses_the_environment_store(spec, capsys):
    assert main(["run", str(spec), "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["store"] == str(spec.parent / "shared-store")
    assert not (spec.parent / ".xexp").exists()


def test_an_explicit_store_wins(spec, capsys):
    assert main(["run", str(spec), "--dry-run", "--json", "--store", str(spec.parent / "mine")]) == 0
    assert json.loads(capsys.readouterr().out)["store"] == str(spec.parent / "mine")


@pytest.mark.parametrize("command", ["status", "report"])
def test_status_and_report_read_the_environment_store(spec, capsys, command):
    (spec.parent / "shared-store").mkdir()
    assert main([command]) == 1
    assert f"store {spec.parent / 'shared-store'} has no runs" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["status", "report"])
def test_a_missing_store_is_one_line_naming_the_stores_nearby_and_is_not_created(tmp_path, monkeypatch, capsys,
                                                                                command):
    """`xexp run specs/demo.xexp` keeps its store in specs/.xexp: from the repository root,
    `xexp status` must point there rather than create an empty ./.xexp."""
    monkeypatch.delenv("XEXP_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs" / ".xexp").mkdir(parents=True)
    assert main([command]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no store at {tmp_path / '.xexp'}" in err
    assert f"try --store {tmp_path / 'specs' / '.xexp'}" in err
    assert not (tmp_path / ".xexp").exists()


@pytest.mark.parametrize("command", ["status", "report"])
def test_a_spec_file_names_the_store_its_run_used(tmp_path, monkeypatch, capsys, command):
    monkeypatch.delenv("XEXP_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copy(SMOKE, tmp_path / "specs.xexp")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / ".xexp").mkdir()  # beside the spec, where `xexp run specs.xexp` keeps it
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main([command, str(tmp_path / "specs.xexp")]) == 1
    assert f"store {tmp_path / '.xexp'} has no runs" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["status", "report"])
def test_an_unknown_run_id_is_one_line(tmp_path, capsys, command):
    (tmp_path / "store" / "runs").mkdir(parents=True)
    assert main([command, "20991231-000000-dead", "--store", str(tmp_path / "store")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run '20991231-000000-dead'" in err


def test_the_python_api_default_follows_the_environment(spec):
    import xexp

    assert str(xexp.default_store(spec)) == str(spec.parent / "shared-store")
