"""Presentation mode: no sidebar or toolbar, large fonts and thick lines, one chart per
screen, and a slideshow of charts chosen by the presenter.

State lives in the URL so a link opens the same show: `?presentation=true` (bound to the
sidebar toggle) and `?bildspel=id1,id2&bild=2` on the Presentation page.
"""

from __future__ import annotations

import base64
import hashlib
import json

import streamlit as st

KEY = "presentation"
CHOSEN = "bildspel_ids"

CSS_ON = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stToolbar"],
[data-testid="stHeader"], [data-testid="stDecoration"], footer { display: none !important; }
.block-container { padding-top: 0.6rem !important; max-width: 100% !important; }
/* the way out takes no line of its own: a slide needs the whole screen */
.st-key-exit-presentation { position: fixed; bottom: 0.6rem; right: 1.2rem; z-index: 999990; width: auto !important; }
.st-key-exit-presentation button { background: rgba(255, 255, 255, 0.9); }
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.55rem; }
/* key figures (Översikt): their labels and changes as legible as the rest */
[data-testid="stMetricLabel"] p { font-size: 1.2rem !important; }
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] div { font-size: 1.15rem !important; }
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
h1 { font-size: 2.6rem !important; } h3 { font-size: 2.0rem !important; }
[data-testid="stHtml"] p.amn-sentence { font-size: 1.6rem; line-height: 1.4; }
[data-testid="stCaptionContainer"] { font-size: 1.1rem !important; }
[class*="st-key-panel-"] { min-height: 88vh; }
</style>
"""
CSS_ALWAYS = """
<style>
/* read by screen readers, not shown (the Presentation page's title on a projected slide) */
.amn-visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; margin: -1px; padding: 0; border: 0; }
/* the sentence under each chart (st.html) */
[data-testid="stHtml"] p.amn-sentence { font-size: 1.1rem; line-height: 1.6; margin: 0.2rem 0 0.2rem 0; }
/* Översikt's largest changes, each with its source in grey */
[data-testid="stHtml"] ul.amn-changes { padding-left: 1.4rem; margin: 0; }
[data-testid="stHtml"] ul.amn-changes li { margin: 0 0 0.5rem 0; line-height: 1.6; }
[data-testid="stHtml"] .amn-source { color: #555; }
/* the main area is a keyboard-focusable scroll region: show where the focus is (WCAG 2.4.7) */
[data-testid="stMain"]:focus-visible { outline: 3px solid #005ea5; outline-offset: -3px; }
/* key figures and buttons: the whole label, wrapped, instead of one line cut off with an ellipsis */
[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"],
[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p,
.stButton button [data-testid="stMarkdownContainer"], .stButton button [data-testid="stMarkdownContainer"] p,
[class*="st-key-pick-"] [data-testid="stMarkdownContainer"],
[class*="st-key-pick-"] [data-testid="stMarkdownContainer"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
/* a chart in a half-width column: its table view and 'ta med' toggle one above the other, so the
   toggle's label is not squeezed into a sliver ("presentati-onen") */
[class*="st-key-panel-"] { container-type: inline-size; }
@container (max-width: 640px) {
  [class*="st-key-panel-"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
  [class*="st-key-panel-"] [data-testid="stColumn"] { flex: 1 1 100% !important; min-width: 100% !important; }
}
/* a page's open table (html_table): rows ruled, figures right-aligned, long names wrapped */
[data-testid="stHtml"] table.amn-table { border-collapse: collapse; width: 100%; font-size: 0.95rem; line-height: 1.45; }
[data-testid="stHtml"] table.amn-table th { text-align: left; font-weight: 600; border-bottom: 2px solid #8a8a8a; }
[data-testid="stHtml"] table.amn-table th, [data-testid="stHtml"] table.amn-table td {
  padding: 0.35rem 0.6rem 0.35rem 0; vertical-align: top; }
[data-testid="stHtml"] table.amn-table td { border-bottom: 1px solid #d9d9d9; }
[data-testid="stHtml"] table.amn-table .num { text-align: right; }
[data-testid="stHtml"] table.amn-table .nw { white-space: nowrap; }
[data-testid="stHtml"] table.amn-table td:first-child { min-width: 12rem; }
</style>
"""


def is_on() -> bool:
    return bool(st.session_state.get(KEY, False))


def sidebar_toggle() -> None:
    st.toggle("Presentationsläge", key=KEY, bind="query-params",
              help="Döljer menyer, förstorar text och linjer för projektor. Länken behåller läget.")


# The page is Swedish but Streamlit serves <html lang="en">: screen readers would read it with an
# English voice (WCAG 3.1.1).
LANG_SV = "<script>document.documentElement.lang = 'sv';</script>"


def apply_css() -> None:
    # st.html: style-only HTML takes no place on the page, and no Markdown-with-HTML parser is
    # fetched before the charts can be drawn
    st.html(CSS_ALWAYS)
    st.html(LANG_SV, unsafe_allow_javascript=True)
    if is_on():
        st.html(CSS_ON)
        scroll_to_top("on")  # turned on from the sidebar lower down the page: a slide starts at its top
        st.button("Avsluta presentationsläget", key="exit-presentation", on_click=_exit, shortcut="Esc",
                  help="Kortkommando: Esc")


def scroll_to_top(marker: str) -> None:
    """Scroll the page to its top once per `marker` (the script runs when its element is new or
    changed): each slide starts with its title in view, not where the last one was scrolled to."""
    st.html(f"<script>/* {marker} */ window.scrollTo(0, 0); document.querySelectorAll("
            "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]').forEach(e => e.scrollTo(0, 0));"
            "</script>", unsafe_allow_javascript=True)


def _exit() -> None:
    st.session_state[KEY] = False


def show_slide(number: int) -> None:
    """The slideshow's buttons: go to slide `number` (from 1). A module function, not one written
    in the page: a widget keeps its callback, and a page's function keeps the page's variables."""
    st.query_params["bild"] = str(number)


def encode(items: list[dict]) -> str:
    raw = json.dumps([[i["id"], i["title"], i["call"]] for i in items], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode(text: str) -> list[dict]:
    """The slideshow from a URL; anything unreadable gives an empty show, never an error."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
        return [{"id": str(i), "title": str(t), "call": c} for i, t, c in json.loads(raw) if isinstance(c, dict)]
    except (ValueError, TypeError, json.JSONDecodeError):
        return []


def share_link(page_url: str | None, items: list[dict]) -> str:
    """The link that opens this slideshow in presentation mode: the Presentation page's address
    (as the browser shows it; a relative one without it) with the show in its query."""
    from urllib.parse import urlencode, urlsplit, urlunsplit

    query = urlencode({"bildspel": encode(items), "presentation": "true"})
    if not page_url:
        return f"presentation?{query}"
    parts = urlsplit(page_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def chosen() -> list[dict]:
    """The presenter's charts: [{id, title, call}], from this session or the link it came from."""
    if CHOSEN not in st.session_state:
        st.session_state[CHOSEN] = decode(st.query_params.get("bildspel", ""))
    return st.session_state[CHOSEN]


def chosen_ids() -> set[str]:
    return {i["id"] for i in chosen()}


def view_id(chart_id: str, call: dict | None) -> str:
    """A slide's id: the chart and the view it shows (the arguments it is built with), so the
    same chart for 2022 and for 2023 are two slides."""
    if call is None:
        return chart_id
    digest = hashlib.sha256(json.dumps(call, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    return f"{chart_id}~{digest[:8]}"


def toggle_choice(view: str, title: str, call: dict | None, key: str) -> None:
    items = [i for i in chosen() if i["id"] != view]
    if st.session_state.get(key) and call is not None:
        items.append({"id": view, "title": title, "call": call})
    st.session_state[CHOSEN] = items
