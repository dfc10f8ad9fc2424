"""amnstats: Arbetsmarknadsnämndens statistik. Start with `make run`."""

import streamlit as st

from amnstats.ui import frame, presentation

st.set_page_config(page_title="amnstats – Arbetsmarknadsnämndens statistik", page_icon="📊", layout="wide")

pages = [
    st.Page("pages/oversikt.py", title="Översikt", icon=":material/dashboard:", url_path="oversikt", default=True),
    st.Page("pages/arbetsloshet.py", title="Arbetslöshet", icon=":material/trending_up:", url_path="arbetsloshet"),
    st.Page("pages/data.py", title="Data och källor", icon=":material/table:", url_path="data"),
]
nav = st.navigation(pages)
frame.mark()
presentation.apply_css()
with st.sidebar:
    presentation.sidebar_toggle()
    st.caption(
        "amnstats visar statistik från Stockholms stads arbetsmarknadsnämnd: rapporter, "
        "SCB och egna uppladdningar. Varje siffra har sin källa angiven."
    )
nav.run()
