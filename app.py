"""amnstats: Arbetsmarknadsnämndens statistik. Start with `make run`."""

import sys

import pandas  # noqa: F401  - imported once up front: lazy imports from parallel sessions race
import streamlit as st

# Every session runs in its own thread of one interpreter, and each message a run sends
# gives up the GIL for a moment. With Python's default 5 ms switch interval a run waits up
# to 5 ms per message to get it back while others compute; 0.5 ms cut the median response
# with 50 sessions about threefold (bench/concurrency.py, docs/performance.md).
sys.setswitchinterval(0.0005)

from amnstats.ui import access, frame, presentation, upload_cache
from amnstats.ui import nav as nav_pages

# Streamlit's file uploader has English texts built in: replace them with Swedish ones.
SWEDISH_UPLOADER_CSS = """<style>
[data-testid="stFileUploaderDropzoneInstructions"] span { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"]::after {
  content: "Dra och släpp en fil här (högst 50 MB; CSV eller Excel .xlsx)"; font-size: 0.9rem; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "Välj fil"; }
</style>"""

st.set_page_config(page_title="amnstats – Arbetsmarknadsnämndens statistik", page_icon="📊", layout="wide")

nav = st.navigation(nav_pages.pages(with_upload=not access.read_only()))  # public screens: no upload page
if nav.url_path != "ladda-upp":
    upload_cache.forget()  # an analyst who leaves the upload page does not keep the file's tables
frame.mark()
with st.sidebar:
    presentation.sidebar_toggle()
    st.caption(
        "amnstats visar statistik från Stockholms stads arbetsmarknadsnämnd: rapporter, "
        "SCB och egna uppladdningar. Varje siffra har sin källa angiven."
    )
st.html(SWEDISH_UPLOADER_CSS)
presentation.apply_css()  # after the toggle, so the first run already knows the mode
nav.run()
