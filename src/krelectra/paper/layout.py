"""A table as data (panels of sections of rows of cells), rendered by one Jinja2 template
per format: LaTeX (booktabs), Markdown (terminal, README) and HTML (Snakemake report).

Cells hold values, not markup: each format escapes text and marks the best value its
own way, so the three renderings of a table always show the same numbers.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from importlib import resources

FORMATS = {"tex": "table.tex.j2", "md": "table.md.j2", "html": "table.html.j2"}


@dataclass
class Value:
    """One number (already formatted) with an optional spread, or a plain text."""

    text: str
    spread: str | None = None  # standard deviation, shown as "text ± spread"
    best: bool = False
    mark: str = ""  # a footnote mark after the value, e.g. "†" (significant difference)


@dataclass
class Cell:
    """One or more values joined by " / " (KorQuAD's EM / F1)."""

    values: list[Value]

    @classmethod
    def of(cls, text: str) -> Cell:
        return cls([Value(text)])


EMPTY = "—"


@dataclass
class Column:
    label: str
    unit: str = ""  # a second header line, e.g. "acc"
    align: str = "r"  # l, c or r


@dataclass
class Section:
    title: str | None
    rows: list[list[Cell]]


@dataclass
class Panel:
    title: str | None
    columns: list[Column]
    sections: list[Section]


@dataclass
class Table:
    name: str  # file stem: results, model, ...
    caption: str
    panels: list[Panel]
    notes: list[str] = field(default_factory=list)
    wide: bool = False  # LaTeX: scale to the text width

    @property
    def label(self) -> str:
        return f"tab:{self.name}"


# -- escaping ----------------------------------------------------------------------------

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "[": "{[}",
    "]": "{]}",  # a row starting with [ would be read as \\[length]
    "—": "---",
    "–": "--",
    "±": r"$\pm$",
    "×": r"$\times$",
    "ε": r"$\epsilon$",
    "≥": r"$\geq$",
    "†": r"$^{\dagger}$",
}
_TEX_PATTERN = re.compile("|".join(re.escape(k) for k in _TEX_SPECIAL))


def tex_escape(text: str) -> str:
    return _TEX_PATTERN.sub(lambda m: _TEX_SPECIAL[m.group(0)], str(text))


def md_escape(text: str) -> str:
    return str(text).replace("|", r"\|")


def _value(value: Value, fmt: str) -> str:
    if fmt == "tex":
        text = tex_escape(value.text)
        if value.spread is not None:
            text += r"\,$\pm$\," + tex_escape(value.spread)
        return (rf"\textbf{{{text}}}" if value.best else text) + tex_escape(value.mark)
    if fmt == "md":
        text = md_escape(value.text) + ("" if value.spread is None else f" ± {md_escape(value.spread)}")
        return (f"**{text}**" if value.best else text) + md_escape(value.mark)
    text = html.escape(value.text) + ("" if value.spread is None else f"&nbsp;±&nbsp;{html.escape(value.spread)}")
    return (f"<b>{text}</b>" if value.best else text) + html.escape(value.mark)


def cell_text(cell: Cell, fmt: str) -> str:
    return " / ".join(_value(v, fmt) for v in cell.values)


def plain(cell: Cell) -> str:
    """The cell as plain text (tests, the notebook)."""
    return " / ".join(v.text + ("" if v.spread is None else f" ± {v.spread}") + v.mark for v in cell.values)


# -- rendering ---------------------------------------------------------------------------


def _environment():
    import jinja2

    def loader(name):
        return resources.files("krelectra.paper").joinpath("templates", name).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(loader),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(tex=tex_escape, md=md_escape, html=html.escape, cell=cell_text)
    return env


def _tex_environment():
    # LaTeX is full of braces: blocks and variables use << >> and <% %> instead.
    env = _environment()
    env.block_start_string, env.block_end_string = "<%", "%>"
    env.variable_start_string, env.variable_end_string = "<<", ">>"
    env.comment_start_string, env.comment_end_string = "<#", "#>"
    return env


def render(table: Table, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r} (known: {', '.join(FORMATS)})")
    env = _tex_environment() if fmt == "tex" else _environment()
    for panel in table.panels:
        for section in panel.sections:
            for row in section.rows:
                if len(row) != len(panel.columns):
                    raise ValueError(
                        f"table {table.name}: a row of {len(row)} cells under {len(panel.columns)} columns"
                    )
    return env.get_template(FORMATS[fmt]).render(table=table, fmt=fmt)
