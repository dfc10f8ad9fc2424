"""Running the app's pages under streamlit.testing.v1.AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = ["oversikt", "arbetsloshet", "jobbtorg", "unga", "vuxenutbildning", "stadsdelar", "mal", "presentation",
         "data", "om-data"]


def run_page(page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    return at


def sentences(at: AppTest) -> list[str]:
    return [h.value.split(">", 1)[1].rsplit("<", 1)[0] for h in at.html if "amn-sentence" in h.value]
