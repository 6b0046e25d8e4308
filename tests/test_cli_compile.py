"""The compile-side commands: `xexp check`, `xexp plan` (table, --json, --dot, --mermaid),
`--version` and every subcommand's `--help`; and the paper-scale spec planned offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler import compile_text

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "specs" / "xnli_robustness.xexp"
FEATURES = REPO / "tests" / "specs" / "compiler_features.xexp"
SUBCOMMANDS = ["check", "plan", "fmt", "run", "status", "report", "perturb", "models"]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xexp.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)


def write_features_data(root: Path) -> Path:
    """The local files the features spec reads (`xexp check` looks at them), under `root`."""
    pair = {"premise": "A man sleeps.", "hypothesis": "A man rests.", "label": "entailment"}
    (root / "xnli").mkdir(parents=True)
    (root / "muse").mkdir()
    (root / "pairs.jsonl").write_text(json.dumps({"s1": "A b.", "s2": "A.", "label": "0"}) + "\n")
    for lang in ("en", "de", "hi", "zh"):
        (root / "xnli" / f"dev.{lang}.jsonl").write_text(json.dumps(pair) + "\n")
        (root / "muse" / f"en-{lang}.txt").write_text("man\tMann\n")
    return root


@pytest.fixture
def spec_copy(tmp_path) -> Path:
    """The features spec in a fresh folder (so no store sits beside it), its data beside it."""
    path = tmp_path / "features.xexp"
    data = write_features_data(tmp_path / "data")
    path.write_text(FEATURES.read_text(encoding="utf-8").replace('var data = "data"', f'var data = "{data}"'),
                    encoding="utf-8")
    return path


@pytest.fixture
def graph(spec_copy):
    return compile_text(spec_copy.read_text(encoding="utf-8"), str(spec_copy))[1]


# --- check -------------------------------------------------------------------------------------


def test_check_a_valid_spec_exits_0_as_a_process(spec_copy):
    done = run_cli("check", str(spec_copy))
    assert done.returncode == 0, done.stderr
    assert f"{spec_copy}: ok" in done.stdout and "experiment compiler_features" in done.stdout
    assert done.stderr == ""


def test_check_reports_errors_with_exit_2_as_a_process(tmp_path):
    bad = tmp_path / "bad.xexp"
    bad.write_text(FEATURES.read_text(encoding="utf-8").replace("char_noise(", "char_nose("), encoding="utf-8")
    done = run_cli("check", str(bad))
    assert done.returncode == 2
    assert re.search(rf"{re.escape(str(bad))}:\d+:\d+: error: unknown perturbation or attack `char_nose`", done.stderr)
    assert "^^^^^^^^^" in done.stderr and "did you mean `char_noise`" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_check_several_files_reports_each(spec_copy, tmp_path, capsys):
    bad = tmp_path / "bad.xexp"
    bad.write_text("experiment b\nlanguages = [en xx]\n", encoding="utf-8")
    assert main(["check", str(spec_copy), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert f"{spec_copy}: ok" in out
    assert f"{bad}:2:17: error: unknown language code `xx`" in err


def test_check_with_set_overrides_a_variable(spec_copy, tmp_path, capsys):
    elsewhere = write_features_data(tmp_path / "elsewhere")
    assert main(["check", str(spec_copy), "--set", f"data={elsewhere}"]) == 0
    assert main(["check", str(spec_copy), "--set", "data=/mnt/data"]) == 2  # no files there
    assert "no such file: /mnt/data/pairs.jsonl" in capsys.readouterr().err
    assert main(["check", str(spec_copy), "--set", "data=/mnt/data", "--no-inputs"]) == 0
    assert main(["check", str(spec_copy), "--set", "dta=/mnt/data"]) == 2
    assert "the spec declares no variable `dta`" in capsys.readouterr().err
    assert main(["check", str(spec_copy), "--set", "novalue"]) == 2
    assert "--set expects NAME=VALUE" in capsys.readouterr().err


def test_check_a_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.xexp")]) == 2
    assert "no such spec file" in capsys.readouterr().err


# --- plan --------------------------------------------------------------------------------------


def test_plan_prints_counts_per_kind(spec_copy, graph, capsys):
    assert main(["plan", str(spec_copy)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"experiment compiler_features: {len(graph.nodes)} nodes, {len(graph.nodes)} to run, 0 cached"
    summary = dict((kind, int(count)) for kind, count in (part.split() for part in lines[1].strip().split(", ")))
    assert summary == graph.counts()
    for kind, count in graph.counts().items():
        assert f"{kind} ({count}: {count} to run, 0 cached)" in out
    for node in graph.nodes:
        assert node.short_key in out


def test_plan_set_changes_the_graph(spec_copy, capsys):
    assert main(["plan", str(spec_copy), "--json", "--set", "data=/elsewhere"]) == 2  # no files there
    assert main(["plan", str(spec_copy), "--json", "--set", "data=/elsewhere", "--no-inputs"]) == 0
    moved = json.loads(capsys.readouterr().out)
    assert main(["plan", str(spec_copy), "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert {n["key"] for n in moved["nodes"]} != {n["key"] for n in default["nodes"]}


def test_plan_json_lists_every_node(spec_copy, graph, capsys):
    assert main(["plan", str(spec_copy), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["experiment"] == "compiler_features"
    assert [n["key"] for n in data["nodes"]] == [n.key for n in graph.nodes]
    names = {n.key: n.name for n in graph.nodes}
    for row, node in zip(data["nodes"], graph.nodes):
        assert (row["kind"], row["name"], row["state"]) == (node.kind, node.name, "run")
        assert row["inputs"] == {role: names[key] for role, key in node.inputs.items()}
        assert row["resources"]["num_gpus"] == node.resources.num_gpus


def test_plan_dot_has_every_node_and_edge(spec_copy, graph, capsys):
    assert main(["plan", str(spec_copy), "--dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "compiler_features" {') and out.rstrip().endswith("}")
    node_lines = [line for line in out.splitlines() if re.match(r"\s+n[0-9a-f]{12} \[label=", line)]
    edge_lines = [line for line in out.splitlines() if " -> " in line]
    assert len(node_lines) == len(graph.nodes)
    assert len(edge_lines) == sum(len(n.inputs) for n in graph.nodes)
    ids = {line.split()[0] for line in node_lines}
    assert all(line.split()[0] in ids and line.split()[2] in ids for line in edge_lines)


def test_plan_mermaid_has_every_node_and_edge(spec_copy, graph, capsys):
    assert main(["plan", str(spec_copy), "--mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR")
    node_lines = [line for line in out.splitlines() if re.match(r'\s+n[0-9a-f]{12}\["', line)]
    edge_lines = [line for line in out.splitlines() if " --> " in line]
    assert len(node_lines) == len(graph.nodes)
    assert len(edge_lines) == sum(len(n.inputs) for n in graph.nodes)


def test_plan_formats_are_mutually_exclusive(spec_copy):
    with pytest.raises(SystemExit) as info:
        main(["plan", str(spec_copy), "--dot", "--json"])
    assert info.value.code == 2


def test_plan_of_a_bad_spec_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.xexp"
    bad.write_text("experiment b\nseeds = [1\n", encoding="utf-8")
    assert main(["plan", str(bad)]) == 2
    assert f"{bad}:2:9: error: `[` is never closed" in capsys.readouterr().err


# --- version and help --------------------------------------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert re.fullmatch(r"xexp \S+\n", capsys.readouterr().out)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_of_each_subcommand(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: xexp {command}")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "usage: xexp" in out and all(command in out for command in SUBCOMMANDS)


# --- the paper-scale spec, offline ---------------------------------------------------------------

NETWORK_GUARD = """
import sys
attempts = []
def audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        attempts.append(event)
sys.addaudithook(audit)
from xexp.cli import main
for argv in (["check", SPEC], ["plan", SPEC], ["plan", SPEC, "--json"]):
    code = main(argv)
    assert code == 0, (argv, code)
print("NETWORK", attempts, file=sys.stderr)
import socket
try:
    socket.getaddrinfo("localhost", 80)
except OSError:
    pass
if attempts:
    print("GUARD WORKS", file=sys.stderr)
"""


def test_the_paper_spec_checks_and_plans_offline(tmp_path):
    spec = tmp_path / "xnli_robustness.xexp"
    spec.write_text(PAPER.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "muse").mkdir()  # `var muse = "muse"`: check finds the lexicons the spec names
    for lang in ("ar", "bg", "de", "el", "es", "fr", "hi", "ru", "th", "tr", "vi", "zh"):
        (tmp_path / "muse" / f"en-{lang}.txt").write_text("dog\tHund\n", encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    code = NETWORK_GUARD.replace("SPEC", repr(str(spec)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "NETWORK []" in done.stderr
    assert "GUARD WORKS" in done.stderr  # the hook does see a lookup when one happens
    study, graph = compile_text(spec.read_text(encoding="utf-8"), str(spec))
    assert f"{len(graph.nodes)} nodes" in done.stdout
    counts = graph.counts()
    intermediate_tasks = [v for v in study.intermediate if v != "none"]
    assert counts["train"] == len(study.seeds) * (len(intermediate_tasks) + len(study.intermediate))
    conditions = sum(1 + sum(1 for p in study.perturbations if p.languages is None or lang in p.languages)
                     for lang in study.languages)
    assert counts["evaluate"] + counts["attack"] == len(study.seeds) * len(study.intermediate) * conditions


# --- issue 13: plan --dot in real Unicode, perturb --list in full ----------------------------------


def test_plan_dot_writes_real_unicode(spec_copy, capsys):
    assert main(["plan", str(spec_copy), "--dot"]) == 0
    out = capsys.readouterr().out
    assert "→" in out and "\\u2192" not in out  # the variant chain `none→xnli`, as Graphviz shows it


def test_perturb_list_prints_whole_descriptions_and_one_entry(capsys):
    from xexp.compiler.registry import REGISTRY

    assert main(["perturb", "--list", "char_attack"]) == 0
    out = capsys.readouterr().out
    entry = REGISTRY.get("attack", "char_attack")
    assert " ".join(out.split()).count(" ".join(entry.doc.split())) == 1  # the whole text, once
    assert "char_noise" not in out
    assert main(["perturb", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {e.name}(" in listed for c in ("perturbation", "attack") for e in REGISTRY.of(c))
    assert main(["perturb", "--list", "char_nose"]) == 2
    assert "did you mean `char_noise`" in capsys.readouterr().err


def test_perturb_explains_that_an_attack_needs_a_model(capsys):
    assert main(["perturb", "char_attack", "a text", "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "is an attack" in err and "xexp run" in err and "{{" not in err


def test_plan_with_an_unknown_force_item_is_one_line_and_exit_2(spec_copy, tmp_path, capsys):
    for store in ([], ["--store", str(tmp_path)]):  # with and without a store on disk
        assert main(["plan", str(spec_copy), *store, "--force", "nonsense"]) == 2
        err = capsys.readouterr().err
        assert err.strip().count("\n") == 0 and "--force 'nonsense'" in err and "Traceback" not in err


def test_a_set_value_that_is_not_utf8_is_one_spec_error(spec_copy, capsys):
    value = b"/data/\xff".decode("utf-8", "surrogateescape")  # what argv holds for such bytes
    assert main(["plan", str(spec_copy), "--set", f"data={value}"]) == 2
    err = capsys.readouterr().err
    assert "--set data=…: the value is not valid UTF-8 text" in err and "Traceback" not in err
