"""One chart on screen: title, chart, sentence, source, table view, downloads and the
'ta med i presentationen' choice. Every page shows every chart through `show`."""

from __future__ import annotations

import contextlib
import html
import json
import re
from dataclasses import dataclass, field

import altair as alt
import polars as pl
import streamlit as st

from . import export, presentation, theme
from .export import ExportTable


@dataclass
class ChartSpec:
    id: str                      # stable, URL-safe: used in file names and the slideshow
    title: str
    chart: alt.TopLevelMixin | None
    table: ExportTable
    sentence: str
    sources: list[str]
    alt_text: str = ""
    empty_message: str = ""      # shown instead of the chart when there is nothing to draw
    notes: list[str] = field(default_factory=list)
    call: dict | None = None     # how to build it again (for the slideshow), set by charts.registered
    # Vega-Lite specs and the formatted table, made on first show and reused: specs are shared
    # between sessions (amnstats.ui.memo), so each is converted once, not on every rerun.
    rendered: dict = field(default_factory=dict, repr=False, compare=False)
    bars_drawn: int = 0          # a bar chart with a height per bar: how many bars (see _vega)

    @property
    def source_text(self) -> str:
        return "; ".join(self.sources)


def slug(text: str) -> str:
    s = text.lower()
    for a, b in (("å", "a"), ("ä", "a"), ("ö", "o"), ("é", "e")):
        s = s.replace(a, b)
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")[:60]


def source_line(sources: list[str]) -> str:
    return "Källa: " + "; ".join(sources) if sources else "Källa saknas"


def show(spec: ChartSpec) -> None:
    large = presentation.is_on()
    with st.container(border=not large, key=f"panel-{spec.id}"):
        st.subheader(spec.title, anchor=spec.id)
        if spec.chart is None:
            st.info(spec.empty_message or "Inga uppgifter finns för det här urvalet.")
            return
        st.vega_lite_chart(spec=_vega(spec, large), width="stretch", alt=spec.alt_text or spec.sentence,
                           key=f"chart-{spec.id}")
        # st.html, not Markdown with HTML: that needs the browser to fetch and run an HTML parser
        # (rehype-raw) before the page's charts are drawn
        st.html(f"<p class='amn-sentence'>{html.escape(spec.sentence)}</p>")
        for note in spec.notes:
            st.caption(note)
        st.caption(source_line(spec.sources))
        if large:
            return
        # Lazy: the table and the four downloads are made only while the expander is open
        # (most runs never open it, and a page has several charts).
        with st.expander("Visa som tabell och ladda ned", key=f"table-{spec.id}", on_change="rerun") as box:
            if box.open:
                _table(spec)
                _downloads(spec)
        # A slide is this view (its filters), not the chart: after a filter change the toggle says
        # whether the view now on screen is chosen, and a second year can be added beside the first.
        view, key = presentation.view_id(spec.id, spec.call), f"pick-{spec.id}"
        st.session_state[key] = view in presentation.chosen_ids()
        st.toggle("Ta med i presentationen", key=key,
                  on_change=presentation.toggle_choice, args=(view, spec.title, spec.call, key))


def to_vega_lite(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite spec Streamlit makes of an Altair chart (data as Arrow datasets), made
    the same way as `st.altair_chart` does but without Altair's JSON-schema validation,
    which was most of a page's time. The chart builders' specs are validated by the tests
    (tests/test_memo.py), so the app need not do it on every build.

    A chart's frames carry every observation column (source, note, ...); only the columns the
    spec names are sent (used_columns). The browser then reads a few columns per row instead
    of two dozen, and the picture is the same (tests/test_memo.py renders both)."""
    from streamlit.elements import vega_charts as vc  # pinned streamlit: its own Arrow transformer

    held: dict[str, object] = {}
    with vc._altair_globals_lock:  # Altair's theme and transformer settings are process-wide
        no_theme = alt.theme.enable("none") if alt.theme.active == "default" else contextlib.nullcontext()
        with no_theme, alt.data_transformers.enable(_HOLD, held=held):
            spec = chart.to_dict(validate=False)
    datasets: dict = {}
    if held:
        text = json.dumps(spec, ensure_ascii=False, default=repr)
        names = {}
        for placeholder, data in held.items():
            if isinstance(data, pl.DataFrame):
                data = data.select(used_columns(data.columns, text))
            names[placeholder] = vc._to_arrow_dataset(data, datasets)["name"]
        _rename_data(spec, names)
    existing = spec.get("datasets")
    spec["datasets"] = {**existing, **datasets} if isinstance(existing, dict) else datasets
    return spec


def used_columns(columns: list[str], spec_text: str) -> list[str]:
    """The columns a spec (as JSON text, without its data) can refer to: a column whose name
    is nowhere in the text is not read by any encoding, tooltip, transform or expression.
    Names that occur inside other words are kept too (never too few)."""
    return [c for c in columns if c in spec_text]


_HOLD = "amnstats_hold"


def _hold(data, held: dict) -> dict:
    """Altair data transformer: the data kept as it is under a placeholder name; to_vega_lite
    converts it once it knows which columns the spec uses."""
    name = f"amnstats-held-{len(held)}"
    held[name] = data
    return {"name": name}


alt.data_transformers.register(_HOLD, _hold)


def _rename_data(node, names: dict[str, str]) -> None:
    """Every {"name": placeholder} data reference in the spec renamed to its dataset's name."""
    if isinstance(node, dict):
        if isinstance(node.get("name"), str) and node["name"] in names:
            node["name"] = names[node["name"]]
        for value in node.values():
            if isinstance(value, (dict, list)):
                _rename_data(value, names)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, (dict, list)):
                _rename_data(value, names)


def themed_vega_lite(chart: alt.TopLevelMixin, large: bool = False) -> dict:
    """to_vega_lite(theme.apply(chart, large)), with the theme set on the finished dict:
    Altair's configure() copies and checks the whole chart, which cost as much as converting it."""
    out = to_vega_lite(chart)
    out["config"] = theme.config(large)
    return out


def _vega(spec: ChartSpec, large: bool) -> dict:
    key = ("vega", large)
    if key not in spec.rendered:
        out = themed_vega_lite(spec.chart, large)
        if large:
            out = theme.taller(out)
            step = out.get("height", {}).get("step") if isinstance(out.get("height"), dict) else None
            if step and spec.bars_drawn * step > theme.SLIDE_CHART_HEIGHT:
                # many bars (16 förvaltningar x kön): their height shared out, so a slide keeps its
                # sentence and source on the screen
                out = {**out, "height": theme.SLIDE_CHART_HEIGHT}
        spec.rendered[key] = out
    return spec.rendered[key]


def _table(spec: ChartSpec) -> None:
    if "table" not in spec.rendered:
        spec.rendered["table"] = export._formatted(spec.table).to_pandas()
    st.dataframe(spec.rendered["table"], hide_index=True, width="stretch")


def _downloads(spec: ChartSpec) -> None:
    chart = spec.chart  # themed only when a file is asked for
    name = spec.id
    caption = {"title": spec.title, "source": source_line(spec.sources)}  # in the image: it may end up on a slide
    cols = st.columns(4)
    cols[0].download_button("PNG (bild)", data=lambda: export.chart_png(theme.apply(chart), **caption),
                            file_name=f"{name}.png", mime="image/png", key=f"png-{name}", on_click="ignore")
    cols[1].download_button("SVG (vektor)", data=lambda: export.chart_svg(theme.apply(chart), **caption),
                            file_name=f"{name}.svg", mime="image/svg+xml", key=f"svg-{name}", on_click="ignore")
    cols[2].download_button("CSV", data=lambda: export.table_csv(spec.table), file_name=f"{name}.csv",
                            mime="text/csv", key=f"csv-{name}", on_click="ignore")
    cols[3].download_button("Excel", data=lambda: export.table_xlsx(spec.table), file_name=f"{name}.xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key=f"xlsx-{name}", on_click="ignore")


def empty_table(title: str) -> ExportTable:
    return ExportTable(title=title, frame=pl.DataFrame(), decimals={}, sources=[])
