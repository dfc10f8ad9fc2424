"""Every page runs inside app.py's frame (navigation, presentation mode, shared sidebar).

Streamlit treats a `pages/` folder as an old-style multipage app until st.navigation has
run once in the process: the very first request to a fresh server for a deep link such as
/arbetsloshet would run the page script alone. `ensure()` notices that and reruns through
app.py, so shared links work from the first click.
"""

from __future__ import annotations

import streamlit as st

FLAG = "_amnstats_frame"


def mark() -> None:
    """Called by app.py before it runs the page."""
    st.session_state[FLAG] = True


def ensure() -> None:
    if st.session_state.get(FLAG):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()
