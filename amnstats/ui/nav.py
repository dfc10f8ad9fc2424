"""The app's pages, declared once, and Streamlit's page objects for them.

`st.Page` resolves its file on the disk (a stat of every folder on the path, about 65 file
system calls for the app's 12 pages). Each call gives up the GIL, and with many sessions in one
process every run then waits for it again, once per call. So the objects are made once per
process and copied for each run: `st.navigation` marks the page it returns as the one to run,
and sessions must not share that mark.
"""

from __future__ import annotations

import copy
import threading

import streamlit as st

# (file, title, icon, url path, extra st.Page arguments)
PAGES: tuple[tuple[str, str, str | None, str, dict], ...] = (
    ("pages/oversikt.py", "Översikt", ":material/dashboard:", "start", {"default": True}),
    # The default page lives at / only: a shared link to /oversikt gets the same page.
    ("pages/oversikt.py", "Översikt", None, "oversikt", {"visibility": "hidden"}),
    ("pages/arbetsloshet.py", "Arbetslöshet", ":material/trending_up:", "arbetsloshet", {}),
    ("pages/jobbtorg.py", "Jobbtorg", ":material/work:", "jobbtorg", {}),
    ("pages/unga.py", "Unga (KAA och UVAS)", ":material/school:", "unga", {}),
    ("pages/vuxenutbildning.py", "Vuxenutbildning", ":material/menu_book:", "vuxenutbildning", {}),
    ("pages/stadsdelar.py", "Stadsdelsområden", ":material/map:", "stadsdelar", {}),
    ("pages/mal.py", "Mål och utfall", ":material/flag:", "mal", {}),
    ("pages/presentation.py", "Presentation", ":material/slideshow:", "presentation", {}),
    ("pages/ladda-upp.py", "Ladda upp data", ":material/upload:", "ladda-upp", {}),
    ("pages/data.py", "Data och källor", ":material/table:", "data", {}),
    ("pages/om-data.py", "Om data", ":material/info:", "om-data", {}),
)

_made: dict[str, list] = {}  # per main script folder (tests run other apps in the same process)
_lock = threading.Lock()


def _main_folder() -> str:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return str(ctx.pages_manager.main_script_parent) if ctx else ""


def pages(*, with_upload: bool = True) -> list:
    """This run's own copies of the page objects (without the upload page for public screens)."""
    folder = _main_folder()
    made = _made.get(folder)
    if made is None:
        with _lock:
            made = _made.get(folder)
            if made is None:
                made = _made[folder] = [
                    st.Page(path, title=title, icon=icon, url_path=url_path, **extra)
                    for path, title, icon, url_path, extra in PAGES
                ]
    return [copy.copy(p) for p in made if with_upload or p.url_path != "ladda-upp"]
