"""Downloads: a chart as PNG (high resolution, for slides) and SVG; its data as CSV and
Excel with Swedish formatting and the source in the file; the presenter's charts as one
PowerPoint file. Pure functions returning bytes, tested without a browser."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import date

import altair as alt
import polars as pl

from ..catalogue import STATUS_SV
from ..numbers import format_number
from . import theme

SV_FORMAT_LOCALE = {"decimal": ",", "thousands": "\u00a0", "grouping": [3], "currency": ["", "\u00a0kr"]}
SV_TIME_LOCALE = {
    "dateTime": "%A %e %B %Y kl. %X", "date": "%Y-%m-%d", "time": "%H:%M:%S",
    "periods": ["fm", "em"],
    "days": ["söndag", "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag"],
    "shortDays": ["sön", "mån", "tis", "ons", "tor", "fre", "lör"],
    "months": ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
               "oktober", "november", "december"],
    "shortMonths": ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
}


@dataclass(frozen=True)
class ExportTable:
    """A chart's data for download: display column names, raw values, and where they come from."""
    title: str
    frame: pl.DataFrame          # numbers as numbers (Excel), in display column order
    decimals: dict[str, int]     # numeric column -> decimals
    sources: list[str]
    note: str = ""


SLIDE_WIDTH_PX = 900  # charts are 'stretch' on screen; a file needs a width of its own


# Vega-Lite allows these only on the outermost spec: they move there when a chart gets its caption
_TOP_LEVEL_ONLY = ("$schema", "config", "datasets", "background", "padding", "autosize", "usermeta")
CHARS_PER_EM = 0.55  # average glyph width (Arial-like) with some room: a line wraps early rather than overflow


def _spec(chart: alt.TopLevelMixin, title: str = "", source: str = "") -> dict:
    """The chart as a Vega-Lite spec; with a title and source, the image carries both (a picture
    put on a slide keeps its source): title above, source wrapped below, left-aligned with the chart."""
    spec = chart.to_dict()
    spec.setdefault("width", SLIDE_WIDTH_PX)
    if not (title or source):
        return spec
    outer = {k: spec.pop(k) for k in _TOP_LEVEL_ONLY if k in spec}
    config = outer.get("config", {})
    width = spec["width"] if isinstance(spec["width"], (int, float)) else SLIDE_WIDTH_PX
    if title:
        spec["title"] = {"text": _lines(title, width, config.get("title", {}).get("fontSize", 18)),
                         "anchor": "start", "frame": "bounds", "offset": 12}
    if source:
        # on the outer spec: below everything of the chart's, legends too; "bounds": flush left with the title
        size = config.get("axis", {}).get("labelFontSize", 14)
        outer["title"] = {"text": _lines(source, width, size), "orient": "bottom", "anchor": "start", "frame": "bounds",
                          "fontSize": size, "fontWeight": "normal", "color": theme.MUTED,
                          "lineHeight": round(size * 1.3), "offset": 16}
    outer.setdefault("padding", 12)  # room at the edges of a slide picture
    return outer | {"vconcat": [spec]}  # a one-chart concat: a title of its own for the source


def _lines(text: str, width_px: float, font_size: float) -> list[str]:
    """Text wrapped to the chart's width; Vega draws a list as lines and cuts none (title limit 0)."""
    return textwrap.wrap(text, width=max(20, int(width_px / (CHARS_PER_EM * font_size))),
                         break_long_words=False, break_on_hyphens=False) or [text]


def chart_png(chart: alt.TopLevelMixin, scale: float = 3.0, title: str = "", source: str = "") -> bytes:
    import vl_convert as vlc  # on the first download: a server holds its engine only once it is used

    return vlc.vegalite_to_png(_spec(chart, title, source), scale=scale, format_locale=SV_FORMAT_LOCALE,
                               time_format_locale=SV_TIME_LOCALE)


def chart_svg(chart: alt.TopLevelMixin, title: str = "", source: str = "") -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_spec(chart, title, source), format_locale=SV_FORMAT_LOCALE,
                               time_format_locale=SV_TIME_LOCALE).encode("utf-8")


def _no_value_texts(table: ExportTable) -> list[str]:
    """Per row, how an empty value is written: '–' where the Status column says the source gives
    none ('saknas'), else '..' (a figure kept secret), as on the pages."""
    statuses = table.frame["Status"].to_list() if "Status" in table.frame.columns else [None] * table.frame.height
    return ["–" if s == STATUS_SV["missing"] else ".." for s in statuses]


def _formatted(table: ExportTable) -> pl.DataFrame:
    cols = []
    empty = _no_value_texts(table)
    for name in table.frame.columns:
        s = table.frame[name]
        if name in table.decimals and s.dtype.is_numeric():
            d = table.decimals[name]
            cols.append(pl.Series(name, [format_number(v, d) if v is not None else e for v, e in zip(s.to_list(), empty)]))
        else:
            cols.append(s.cast(pl.String).fill_null(""))
    return pl.DataFrame(cols)


def table_csv(table: ExportTable) -> bytes:
    """Semicolon-separated, decimal comma, UTF-8 with BOM (opens right in Swedish Excel);
    title first, sources last."""
    out = io.StringIO()
    out.write(f"{table.title}\n")
    # an empty cell is written empty, not as "" (polars quotes empty text to tell it from null)
    _formatted(table).with_columns(pl.col(pl.String).replace("", None)).write_csv(
        out, separator=";", quote_style="necessary")
    out.write("\n")
    for s in table.sources:
        out.write(f"Källa: {s}\n")
    if table.note:
        out.write(f"{table.note}\n")
    out.write(f"Hämtat från amnstats {date.today().isoformat()}\n")
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def table_xlsx(table: ExportTable) -> bytes:
    """Excel workbook: title row, header, numbers as numbers with Swedish display format, sources below."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("Data")
    bold = wb.add_format({"bold": True})
    title_fmt = wb.add_format({"bold": True, "font_size": 14})
    num_fmts = {d: wb.add_format({"num_format": "#,##0" + ("." + "0" * d if d else "")}) for d in range(0, 4)}
    ws.write(0, 0, table.title, title_fmt)
    for c, name in enumerate(table.frame.columns):
        ws.write(2, c, name, bold)
        ws.set_column(c, c, max(12, min(50, len(name) + 4)))
    empty = _no_value_texts(table)
    for r, row in enumerate(table.frame.iter_rows(), start=3):
        for c, (name, v) in enumerate(zip(table.frame.columns, row)):
            if v is None:
                ws.write_string(r, c, empty[r - 3] if name in table.decimals else "")
            elif name in table.decimals and isinstance(v, (int, float)):
                ws.write_number(r, c, v, num_fmts[min(table.decimals[name], 3)])
            else:
                ws.write(r, c, v if isinstance(v, (int, float, str)) else str(v))
    r = len(table.frame) + 4
    for s in table.sources:
        ws.write(r, 0, f"Källa: {s}")
        r += 1
    if table.note:
        ws.write(r, 0, table.note)
    wb.close()
    return buf.getvalue()
