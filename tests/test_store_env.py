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
    assert main([command]) == 1
    assert f"store {spec.parent / 'shared-store'} has no runs" in capsys.readouterr().err


def test_the_python_api_default_follows_the_environment(spec):
    import xexp

    assert str(xexp.default_store(spec)) == str(spec.parent / "shared-store")
