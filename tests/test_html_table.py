"""A page's open table as static HTML: every cell escaped, figures right-aligned, a caption."""

from __future__ import annotations

import polars as pl

from amnstats.ui.html_table import html_table
from apptest_helpers import html_tables


class _Shown:  # what AppTest gives for an st.html element
    def __init__(self, value: str):
        self.value = value


class _Page:
    def __init__(self, *values: str):
        self.html = [_Shown(v) for v in values]


def test_cells_are_escaped_and_read_back_as_shown():
    frame = pl.DataFrame({"Indikator": ["<b>Andel</b> & antal", "Sfi"], "Utfall": ["75,02\u00a0%", None]})
    html = html_table(frame, "Mål & utfall", right=["Utfall"])
    assert "<b>" not in html and "&lt;b&gt;Andel&lt;/b&gt; &amp; antal" in html
    assert "<caption class='amn-visually-hidden'>Mål &amp; utfall</caption>" in html
    assert "<th scope='col' class='num nw'>Utfall</th>" in html and "<td class='num nw'>75,02\u00a0%</td>" in html
    assert "<th scope='col'>Indikator</th>" in html  # long names wrap
    back = html_tables(_Page("<p>ingen tabell</p>", html))
    assert len(back) == 1
    assert back[0].to_dict("records") == [{"Indikator": "<b>Andel</b> & antal", "Utfall": "75,02\u00a0%"},
                                          {"Indikator": "Sfi", "Utfall": ""}]
