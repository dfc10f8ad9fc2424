"""A page's table as static HTML (st.html), for the tables a page shows open.

st.table and st.dataframe draw through Streamlit's Arrow grid, whose code a browser loads before
it shows anything below the page title: on Mål och utfall and Stadsdelsområden every chart
waited for it (0.3-0.5 s on a new visit). A plain <table> needs no code, wraps long names and
sources, reads on a projector at the page's own font size, and a screen reader gets its
caption and column headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import polars as pl

CLASS = "amn-table"


def html_table(frame: pl.DataFrame, caption: str, right: Sequence[str] = ()) -> str:
    """`frame` (text cells, as the page shows them) as a table with `caption` for screen readers;
    the columns in `right` (figures) right-aligned. A column of short cells ('12 av 13', 'dec
    2022') is kept on one line, a long name or source wraps."""
    classes = {c: " ".join(([NUMBER] if c in right else []) + ([ONE_LINE] if _short(frame, c) else []))
               for c in frame.columns}
    head = "".join(f"<th scope='col'{_cls(classes[c])}>{escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td{_cls(classes[c])}>{escape('' if v is None else str(v))}</td>"
                         for c, v in zip(frame.columns, row)) + "</tr>"
        for row in frame.iter_rows())
    return (f"<table class='{CLASS}'><caption class='amn-visually-hidden'>{escape(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


NUMBER, ONE_LINE = "num", "nw"
SHORT = 12  # characters


def _short(frame: pl.DataFrame, column: str) -> bool:
    longest = frame.select(pl.col(column).cast(pl.String).str.len_chars().max()).item() if frame.height else 0
    return len(column) <= SHORT and (longest or 0) <= SHORT


def _cls(names: str) -> str:
    return f" class='{names}'" if names else ""
