"""Report diffs: whole words for word-level perturbations, graphemes inside a misspelt word."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xexp.runtime.robustness.perturbations import apply
from xexp.runtime.report.textdiff import diff_html, diff_segments


def _rebuilds(original: str, perturbed: str) -> list[tuple[str, str]]:
    segments = diff_segments(original, perturbed)
    assert "".join(t for op, t in segments if op != "ins") == original
    assert "".join(t for op, t in segments if op != "del") == perturbed
    return segments


def test_code_switching_shows_whole_words_replaced():
    original = "Der Mann spielt Gitarre."
    switched = apply("code_switch", original, lang="de", seed=1, p=1.0, lexicon={"kind": "synthetic"})
    assert "play" in switched.split(), switched
    segments = _rebuilds(original, switched)
    # an unrelated word is replaced whole, not as the letters the two happen to share ("p", "l")
    assert ("del", "spielt") in segments and ("ins", "play") in segments, segments
    # a cognate ("Mann" -> "Man") still shows the one letter that changed
    assert ("del", "n") in segments


def test_a_typo_stays_a_character_diff():
    segments = _rebuilds("The cat sat on the mat", "The cat sta on the mat")
    assert ("del", "t") in segments and ("equal", "The cat s") in segments


def test_unspaced_scripts_diff_by_character():
    assert diff_html("我喜欢猫", "我 like 猫") == "我<del>喜欢</del><ins> like </ins>猫"


def test_a_changed_vowel_sign_is_one_grapheme():
    segments = _rebuilds("मैं घर आया", "मैं घर आयी")
    assert ("del", "या") in segments and ("ins", "यी") in segments


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_segments_always_rebuild_both_texts(original, perturbed):
    _rebuilds(original, perturbed)
