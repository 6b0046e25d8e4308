"""`--set` overrides any setting, not only a `var`, and is validated with carets (compiler/overrides.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xexp.cli import main
from xexp.compiler import SpecError, compile_text

SMOKE = Path(__file__).resolve().parents[1] / "specs" / "smoke.xexp"


def compiled(**overrides: str):
    return compile_text(SMOKE.read_text(encoding="utf-8"), str(SMOKE), overrides)


def test_a_list_setting_is_replaced():
    spec, graph = compiled(seeds="[1,2,3]", languages="[en,de,fr]")
    assert spec.seeds == [1, 2, 3] and spec.languages == ["en", "de", "fr"]
    before = compiled()[1]
    assert graph.counts()["train"] == 3 * before.counts()["train"]


def test_a_nested_setting_changes_that_training_only():
    spec, graph = compiled(**{"train.target.lr": "2e-5", "report.bootstrap": "500"})
    assert spec.train["target"].lr == 2e-5 and spec.report.bootstrap == 500
    assert spec.train["intermediate"].lr == 1e-3  # the other phase keeps the file's value
    before = {n.key: n.kind for n in compiled()[1].nodes}
    changed = {kind for key, kind in before.items() if key not in {n.key for n in graph.nodes}}
    assert "train" in changed and "model" not in changed and "load" not in changed


def test_a_block_the_spec_lacks_is_added():
    spec, _ = compiled(**{"evaluate.batch": "7"})
    assert spec.evaluate.batch == 7


def test_vars_keep_working_beside_settings():
    spec, _ = compile_text('experiment e\nvar n = "8"\nmodel m = tiny(seed=0)\n'
                           'task t = nli(synthetic("nli", size=48), train="train", test="test")\n'
                           'target = t trained_on t\nlanguages = [en]\nseeds = [1]\n',
                           "e.xexp", {"n": "9", "seeds": "[4 5]"})
    assert spec.variables["n"] == "9" and spec.seeds == [4, 5]


@pytest.mark.parametrize("override, message, caret_line", [
    ("train.target.lr=-1", "setting `lr` in `train target`", "2 | train.target.lr=-1\n  |                 ^^"),
    ("languages=[en,xx]", "unknown language code `xx`", "2 | languages=[en,xx]\n  |               ^^"),
    ("seeds=[1,2", "`[` is never closed", "2 | seeds=[1,2\n  |       ^"),
    ("train.target.lrr=3", "has no setting `lrr`", "2 | train.target.lrr=3\n  | ^^^^^^^^^^^^^^^^"),
    ("trian.target.lr=3", "names no setting", "did you mean `train`?"),
])
def test_an_invalid_override_points_at_the_override_text(override, message, caret_line, capsys):
    assert main(["check", str(SMOKE), "--set", "evaluate.batch=16", "--set", override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--set:2:"), err  # the second setting override
    assert message in err and caret_line in err, err


def test_a_spec_error_and_an_override_error_are_reported_together():
    text = SMOKE.read_text(encoding="utf-8").replace("seeds        = [1]", "seeds        = [0.5]")
    with pytest.raises(SpecError) as caught:
        compile_text(text, "smoke.xexp", {"languages": "[en,xx]"})
    files = {e.file for e in caught.value.errors}
    assert files == {"smoke.xexp", "--set"}, caught.value.render()
