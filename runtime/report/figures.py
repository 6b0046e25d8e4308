"""The report's figures as files beside report.html, for a paper: each plot as SVG (the web,
and report.html's own copy), PDF (pdflatex's `\\includegraphics`, vector) and PNG (slides,
word processors). Rendered once per format; report.html embeds the same SVG bytes, so the
files and the HTML cannot show different figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xexp.runtime.report.plots import FORMATS, Plot, plots, render

#: every figure file starts with this, so a paper's build can copy `fig-*.pdf`
PREFIX = "fig-"


@dataclass(frozen=True)
class FigureFile:
    """A plot written to `<stem>.svg/.pdf/.png`; `svg` is the text report.html embeds."""

    stem: str
    kind: str
    title: str
    svg: str

    def names(self) -> list[str]:
        return [f"{self.stem}.{fmt}" for fmt in FORMATS]


def write_figures(chosen: list[Plot], out_dir: Path) -> list[FigureFile]:
    """Write every plot in every format into `out_dir`; the files, in the report's order."""
    written = []
    for plot in chosen:
        name = PREFIX + plot.stem
        svg = b""
        for fmt in FORMATS:
            data = render(plot.figure, fmt)
            (out_dir / f"{name}.{fmt}").write_bytes(data)
            svg = data if fmt == "svg" else svg
        written.append(FigureFile(name, plot.kind, plot.title, svg.decode("utf-8")))
    return written


def figure_files(index, conditions: list[str], out_dir: Path, prefix: tuple[str, ...] = ()) -> list[FigureFile]:
    """Build one target's plots and write them (runtime/report/plots.py says what each shows)."""
    return write_figures(plots(index, conditions, prefix), out_dir)
