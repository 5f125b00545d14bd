"""The report's document model and its rendering: a page is a list of blocks (Heading, Text,
Table, Image), rendered to one self-contained HTML page (figures inlined as base64 PNG, inline
CSS, no script and no external reference) or to Markdown in the same order, and written
atomically. ``analysis.report`` assembles the study report from these; ``atlas.report`` its own
pages; a ``Section`` lets code outside ``analysis`` add blocks to the study report.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from junkdna.analysis.plots import Plot
from junkdna.analysis.tables import to_html, to_markdown
from junkdna.paths import atomic_path

CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.4;overflow-wrap:anywhere}
h1,h2,h3{line-height:1.2} h3{font-size:1.05em;margin-top:1.5em}
.scroll{max-width:100%;overflow-x:auto;margin:.5em 0 1.5em}
table{border-collapse:collapse;font-size:.85em;max-width:100%}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;
overflow-wrap:break-word}
td.num{white-space:nowrap} td.long{overflow-wrap:anywhere}
th{background:#f0f0f0}
.tests table{width:100%} .tests td:last-child{min-width:16em}
.tests td:nth-child(n+5):nth-child(-n+9):not(:last-child){white-space:nowrap}
.note{font-size:.85em;color:#555}
.figures{display:flex;flex-wrap:wrap;gap:1em 2em;align-items:flex-start;margin:1em 0 2em}
figure{margin:0;max-width:100%} img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#444}
"""
MIN_FIGURE_PX = 360  # the narrowest figure box (a small figure's caption needs the room)


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Table:
    df: pd.DataFrame
    css: str = ""


@dataclass(frozen=True)
class Image:
    stem: str
    plot: Plot


Block = Heading | Text | Table | Image


@dataclass
class Section:
    """More of the report from outside ``analysis``: blocks (placed after the exploratory tests),
    figures ({stem: Plot}, saved with the others), tables ({name: frame} under tables/) and keys
    added to the JSON summary."""

    blocks: list
    figures: dict = field(default_factory=dict)
    csvs: dict = field(default_factory=dict)
    json: dict = field(default_factory=dict)


def _html_block(block: Block, pngs: Mapping[str, bytes]) -> str:
    esc = html.escape
    if isinstance(block, Heading):
        return f"<h{block.level}>{esc(block.text)}</h{block.level}>"
    if isinstance(block, Text):
        return f'<p class="note">{esc(block.text)}</p>'
    if isinstance(block, Table):
        css = f"scroll {block.css}".strip()
        return f'<div class="{css}">{to_html(block.df)}</div>'
    png = pngs[block.stem]
    # The figure is as wide as its image (its caption wraps there; a narrow one gets room for
    # its caption), so that small figures sit side by side.
    width = max(int.from_bytes(png[16:20], "big"), MIN_FIGURE_PX)  # the PNG header's width
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="{esc(block.stem)}" style="width:{width}px">'
        f'<img alt="{esc(block.plot.title or block.stem)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{esc(block.plot.caption)}</figcaption></figure>"
    )


def html_page(title: str, blocks: list[Block], pngs: Mapping[str, bytes]) -> str:
    """A standalone page of ``blocks`` (figures inlined from ``pngs``: {stem: PNG bytes})."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    for prev, block in zip([None, *blocks], [*blocks, None], strict=True):
        if isinstance(prev, Image) and not isinstance(block, Image):
            out.append("</div>")
        if isinstance(block, Image) and not isinstance(prev, Image):
            out.append('<div class="figures">')
        if block is not None:
            out.append(_html_block(block, pngs))
    return "\n".join([*out, "</body></html>"])


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}\n"
    if isinstance(block, Text):
        return f"{block.text}\n"
    if isinstance(block, Table):
        return to_markdown(block.df)
    caption = block.plot.caption.replace("*", "\\*")
    return f"![{block.plot.title or block.stem}](figures/{block.stem}.png)\n\n*{caption}*\n"


def markdown_page(title: str, blocks: list[Block]) -> str:
    return "\n".join([f"# {title}\n", *(_md_block(b) for b in blocks)])


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically (a reader never sees half a page)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def make_readable(paths: Mapping[str, Path]) -> None:
    # atomic_path's temp files are private (0600); a report is meant to be shared and served.
    umask = os.umask(0)
    os.umask(umask)
    for path in paths.values():
        path.chmod(0o666 & ~umask)


def write_csvs(out_dir: Path, csvs: Mapping[str, pd.DataFrame]) -> dict[str, Path]:
    paths = {}
    for name, df in csvs.items():
        final = out_dir / "tables" / f"{name}.csv"
        with atomic_path(final) as tmp:
            df.to_csv(tmp, index=False)
        paths[f"tables/{name}.csv"] = final
    return paths
