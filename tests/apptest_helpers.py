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


def html_tables(at: AppTest) -> list:
    """The open tables a page shows (amnstats.ui.html_table), as pandas frames of their text."""
    from html.parser import HTMLParser

    import pandas as pd

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    frames = []
    for h in at.html:
        if "class='amn-table'" in h.value:
            parser = Rows()
            parser.feed(h.value)
            frames.append(pd.DataFrame(parser.rows[1:], columns=parser.rows[0]))
    return frames


def capture_downloads(monkeypatch) -> dict[str, bytes]:
    """{file name: bytes} of every download button the pages run from now on offer."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, bytes):
            files[filename] = path_or_data
        return load(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files
