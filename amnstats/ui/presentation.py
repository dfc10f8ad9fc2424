"""Presentation mode: no sidebar or toolbar, large fonts and thick lines, one chart per
screen, and a slideshow of charts chosen by the presenter.

State lives in the URL so a link opens the same show: `?presentation=true` (bound to the
sidebar toggle) and `?bildspel=id1,id2&bild=2` on the Presentation page.
"""

from __future__ import annotations

import streamlit as st

KEY = "presentation"
CHOSEN = "bildspel_ids"

CSS_ON = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stToolbar"],
[data-testid="stHeader"], [data-testid="stDecoration"], footer { display: none !important; }
.block-container { padding-top: 1.2rem !important; max-width: 100% !important; }
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
h1 { font-size: 2.6rem !important; } h3 { font-size: 2.0rem !important; }
.amn-sentence { font-size: 1.6rem; line-height: 1.4; }
[data-testid="stCaptionContainer"] { font-size: 1.1rem !important; }
[class*="st-key-panel-"] { min-height: 88vh; }
</style>
"""
CSS_ALWAYS = """
<style>
.amn-sentence { font-size: 1.1rem; margin: 0.2rem 0 0.2rem 0; }
</style>
"""


def is_on() -> bool:
    return bool(st.session_state.get(KEY, False))


def sidebar_toggle() -> None:
    st.toggle("Presentationsläge", key=KEY, bind="query-params",
              help="Döljer menyer, förstorar text och linjer för projektor. Länken behåller läget.")


def apply_css() -> None:
    st.markdown(CSS_ALWAYS, unsafe_allow_html=True)
    if is_on():
        st.markdown(CSS_ON, unsafe_allow_html=True)
        st.button("Avsluta presentationsläget", key="exit-presentation", on_click=_exit, shortcut="Esc",
                  help="Kortkommando: Esc")


def _exit() -> None:
    st.session_state[KEY] = False


def chosen() -> list[str]:
    if CHOSEN not in st.session_state:
        raw = st.query_params.get("bildspel", "")
        st.session_state[CHOSEN] = [x for x in raw.split(",") if x]
    return st.session_state[CHOSEN]


def toggle_choice(chart_id: str) -> None:
    ids = chosen()
    if st.session_state.get(f"pick-{chart_id}"):
        if chart_id not in ids:
            ids.append(chart_id)
    elif chart_id in ids:
        ids.remove(chart_id)
    st.session_state[CHOSEN] = ids
