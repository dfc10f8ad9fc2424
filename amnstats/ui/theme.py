"""One chart look for the whole dashboard: colour-blind-safe, legible from the back of the room.

Every colour has at least 4.5:1 contrast against white (WCAG AA for text), so lines and
labels in these colours read on a projector. Women and men always have the same colours.
"""

from __future__ import annotations

import altair as alt

GENDER_COLORS = {"kvinnor": "#B84A00", "män": "#0072B2", "totalt": "#3D3D3D"}
PALETTE = ["#0072B2", "#B84A00", "#007A5E", "#A8457F", "#7A6200", "#5A4FCF", "#3D3D3D"]
TEXT = "#1b1b1b"
MUTED = "#555555"
FONT = "Source Sans Pro, Arial, sans-serif"
MAP_LABEL = "map-label"  # the style of the figures on the districts of a map
MAP_HEIGHT = 520
MAP_HEIGHT_LARGE = 500  # presentation mode: the map, its sentence and its source on one 1080 px screen
SLIDE_CHART_HEIGHT = 680  # presentation mode: the most a bar chart with a height per bar takes, axes and legend included
MONTHS_JS = "['jan','feb','mar','apr','maj','jun','jul','aug','sep','okt','nov','dec']"


def sv_number_expr(expr: str = "datum.value", spec: str = ",.0f") -> str:
    """A Vega expression that formats a number the Swedish way: 1 234,5 (no-break space, comma).

    The browser formats with Vega's default (English) locale, which the expression converts; the
    downloads (export.py) render with a Swedish locale, where format() is already right and the
    conversion would turn the decimal comma into a space ("80 0")."""
    english = (f"replace(replace(replace(format({expr}, '{spec}'), regexp(',', 'g'), '\u00a0'),"
               f" '.', ','), '-', '\u2212')")
    swedish = f"replace(format({expr}, '{spec}'), '-', '\u2212')"
    return f"(format(1000.5, ',.1f') == '1,000.5' ? {english} : {swedish})"


def sv_month_expr(expr: str = "datum.value") -> str:
    """'jan 2023' for a temporal axis."""
    return f"{MONTHS_JS}[month({expr})] + ' ' + year({expr})"


def gender_scale(present=None) -> alt.Scale:
    """Each gender's own colour; `present` (the genders drawn) keeps the legend to those, so a
    chart of totalt only does not list Kvinnor and Män."""
    domain = [g for g in GENDER_COLORS if present is None or g in set(present)]
    return alt.Scale(domain=domain, range=[GENDER_COLORS[g] for g in domain])


def config(large: bool = False) -> dict:
    """Vega-Lite config; `large` for presentation mode (projector)."""
    size = 22 if large else 14
    return {
        "font": FONT,
        "background": "#ffffff",
        # The map is the one chart without a fixed height: it takes this one, so presentation mode can
        # make it shorter (1.6 times as tall, as `taller` makes the others, it pushed its sentence and
        # source off a 1080 px screen). Every other chart sets its own height.
        "view": {"stroke": None, "continuousHeight": MAP_HEIGHT_LARGE if large else MAP_HEIGHT},
        "range": {"category": PALETTE},
        "axis": {"labelFontSize": size, "titleFontSize": size, "labelColor": TEXT, "titleColor": TEXT,
                 "gridColor": "#e3e3e3", "domainColor": MUTED, "tickColor": MUTED, "labelLimit": 700 if large else 360},
        # Streamlit's own theme flushes every axis's end labels inward: on a value axis the 0 and the
        # top label then sit beside their gridlines, not on them (x keeps Vega-Lite's flush default)
        "axisY": {"labelFlush": False},
        "legend": {"labelFontSize": size, "titleFontSize": size, "labelColor": TEXT, "titleColor": TEXT,
                   "orient": "bottom", "symbolStrokeWidth": 4, "labelLimit": 400},
        "title": {"fontSize": size + 4, "color": TEXT, "anchor": "start"},
        "line": {"strokeWidth": 5 if large else 3, "point": False},
        "point": {"size": 120 if large else 60, "filled": True},
        "bar": {"cornerRadiusEnd": 2},
        "text": {"fontSize": size, "color": TEXT},
        # a text mark's `size` is its font size; Vega-Lite reads a style's `size`, not its `fontSize`,
        # ahead of config.text
        "style": {MAP_LABEL: {"size": 20 if large else 12, "fontWeight": "bold"}},
        "rule": {"strokeWidth": 3 if large else 2},
        # The chart is one image for assistive technology: its text alternative is the description
        # (alt), the sentence beneath it and the table view. Vega's own per-mark ARIA labels repeat
        # raw field names and leave empty layers as unlabelled images (axe: svg-img-alt), so marks,
        # axes and legends are hidden from the accessibility tree (both keys are needed for that).
        "aria": False,
        "mark": {"aria": False},
    }


TALLER = 1.6  # presentation mode: fixed chart heights times this


def taller(spec: dict, factor: float = TALLER) -> dict:
    """A Vega-Lite spec with its fixed height made taller, in place: on a projector the large
    axis labels and legend take their room from the plot, and one chart fills a screen.
    Heights in steps stay as they are, and so does a map's (from `config`)."""
    height = spec.get("height")
    if isinstance(height, (int, float)) and not isinstance(height, bool):
        spec["height"] = round(height * factor)
    return spec


def apply(chart: alt.TopLevelMixin, large: bool = False) -> alt.TopLevelMixin:
    return chart.configure(**config(large))
