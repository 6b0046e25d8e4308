"""report.md shows every value as text: ids, texts, labels and warnings carrying Markdown or
HTML payloads are rendered by a real Markdown renderer (markdown-it-py, CommonMark with raw
HTML on, as GitHub-like viewers render it) into no element the report did not write itself."""

from __future__ import annotations

from html.parser import HTMLParser

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xexp.runtime.report import ReportCell, ReportSettings, build_report

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py is in the test extra")

#: The payloads of issue 22 and their kin: each tries to leave its context.
IMG = "<img src=x onerror=alert(1)>"
PAYLOADS = {
    "id": f"e1`{IMG}`",
    "premise": f"</p>{IMG}<script>alert(2)</script> [a](javascript:alert(3)) ![t](http://x/t.png)",
    "hypothesis": "line one\n\n# heading\n<iframe src=//x></iframe>\n| a | b |\n```\nfence",
}
#: What report.md itself writes; a payload that makes any other element broke out.
ALLOWED = {"h1", "h2", "h3", "h4", "p", "strong", "em", "code", "ul", "li", "ins", "del", "table",
           "thead", "tbody", "tr", "th", "td", "blockquote"}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def rendered(tmp_path):
    clean = {"id": ["e0", PAYLOADS["id"]], "premise": ["a cat", PAYLOADS["premise"]],
             "hypothesis": ["an animal", PAYLOADS["hypothesis"]], "label": ["entailment"] * 2}
    perturbed = {**clean, "hypothesis": ["an animal", PAYLOADS["hypothesis"] + " <b>x</b>"],
                 "changed": [False, True]}
    pq.write_table(pa.table(clean), tmp_path / "clean.parquet")
    pq.write_table(pa.table(perturbed), tmp_path / "typo.parquet")

    def predictions(name, wrong_second):
        predicted = ["entailment", "neutral" if wrong_second else "entailment"]
        pq.write_table(pa.table({"id": clean["id"], "gold": ["entailment"] * 2, "predicted": predicted,
                                 "correct": [p == "entailment" for p in predicted],
                                 "probs": [[0.8, 0.1, 0.1]] * 2}), tmp_path / name)
        return tmp_path / name

    cells = [ReportCell(model="m", variant="none", language="en", condition="clean", kind="evaluate",
                        seed=1, predictions=predictions("p_clean.parquet", False),
                        dataset=tmp_path / "clean.parquet", description=""),
             ReportCell(model="m", variant="none", language="en", condition="typo", kind="evaluate",
                        seed=1, predictions=predictions("p_typo.parquet", True),
                        dataset=tmp_path / "typo.parquet", description=f"char_noise(p=0.1) `{IMG}`")]
    build_report(cells, ReportSettings(bootstrap=100, examples=2), tmp_path / "out",
                 {"experiment": "inject", "run_id": f"r`{IMG}"})
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    elements = Elements()
    elements.feed(html)
    return text, html, elements


def test_no_payload_becomes_an_element_or_attribute(rendered):
    text, html, elements = rendered
    assert PAYLOADS["id"].split("`")[0] in text  # the example with the payloads is in the report
    assert elements.tags <= ALLOWED, sorted(elements.tags - ALLOWED)
    # no src=, onerror=, href= of any kind: only the alignment of numeric table columns
    assert set(elements.attributes) <= {("style", "text-align:right")}, elements.attributes
    assert "<img" not in html and "<script" not in html and "<iframe" not in html


def test_every_payload_is_shown_as_the_text_it_is(rendered):
    text, html, elements = rendered
    shown = "".join(elements.text)
    assert PAYLOADS["id"] in shown  # the whole id, backticks and all, in its code span
    assert IMG in shown and "<script>alert(2)</script>" in shown and "[a](javascript:alert(3))" in shown
    assert "# heading" in shown  # a heading inside a text stays text
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert not any("heading" in line for line in headings)
