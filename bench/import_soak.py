"""Memory of one `streamlit run` server through repeated large imports, as an analyst makes them:
SYNTHETIC 1 008 000-row CSV files (bench/import.py's generator, a different seed each, labelled
SYNTETISK) uploaded, mapped and imported on the upload page in headless Chromium, a chart page
(Jobbtorg) opened after each import.

    .venv/bin/python bench/import_soak.py                    # 4 imports of ~1M rows
    .venv/bin/python bench/import_soak.py --imports 2 --rows 100000

Printed after each import: the server's resident memory (VmRSS) at the preview, just after the
import, and 10 s after Jobbtorg opened in a new session. At the end, after --settle seconds and
a new session: the importing server against the straightforward alternative, a fresh server
started on the same data and showing the same page (what the data alone costs). The files
share their keys, so each import replaces the previous one's preferred values while the store
keeps every row (4 imports: about 4 million rows). Nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("AMNSTATS_CHROMIUM") or os.environ.get("CHROMIUM") or "/usr/bin/chromium"  # as tests/browser
PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT / "bench"), str(PROJECT / "tests" / "browser"), str(PROJECT)]

from concurrency import data_copy, rss_mb, streamlit_server  # noqa: E402


def _import_file(page, base: str, path: Path) -> None:
    from browser_helpers import after_rerun, choose, wait_ready

    page.goto(f"http://{base}/ladda-upp")
    page.wait_for_selector("input[type=file]", state="attached", timeout=60_000)
    wait_ready(page)
    after_rerun(page, lambda: page.locator("input[type=file]").set_input_files(str(path)), timeout=180_000)
    choose(page, "serie", "Komvux")
    choose(page, "matt", "Helårsplatser komvux")
    after_rerun(page, lambda: page.locator(".st-key-hur-group").get_by_text("Kolumn i filen").click(), timeout=180_000)
    choose(page, "kol-group", "Utbildningsform")
    # a multiselect keeps its list open after a choice, and the open list hides the rest of the
    # page from the accessibility tree (the Importera button): closed as a keyboard user would
    page.keyboard.press("Escape")


def _open(page, base: str, path: str, settle: float) -> None:
    from browser_helpers import wait_ready

    page.goto(f"http://{base}/{path}")
    wait_ready(page, timeout=180_000)
    time.sleep(settle)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--imports", type=int, default=4)
    ap.add_argument("--rows", type=int, default=1_008_000, help="about this many rows per file (multiples of 10 080)")
    ap.add_argument("--settle", type=float, default=130.0,
                    help="seconds to wait at the end (Streamlit keeps a closed tab's session for 120 s)")
    ap.add_argument("--chromium", default=CHROMIUM)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from browser_helpers import after_rerun, new_page

    generate_csv = importlib.import_module("import").generate_csv
    tmp = Path(tempfile.mkdtemp(prefix="amnstats-bench-import-soak-"))
    files = []
    for i in range(args.imports):
        data, n_rows = generate_csv(n_groups=max(1, round(args.rows / (14 * 240 * 3))), seed=1000 + i)
        files.append(tmp / f"SYNTETISK_import_{i + 1}.csv")
        files[-1].write_bytes(data)
    print(f"bench/import_soak.py: {args.imports} SYNTETISKA files of {n_rows:,} rows".replace(",", " ")
          + f" ({len(data) / 2**20:.1f} MiB) each, imported through the upload page in headless Chromium")
    data_dir = data_copy()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            with streamlit_server(data_dir) as (base, pid):
                page = new_page(browser, viewport={"width": 1400, "height": 1400})
                _open(page, base, "jobbtorg", 5)
                print(f"  start (Jobbtorg open)             {rss_mb(pid):6.0f} MB")
                for i, path in enumerate(files, 1):
                    t = time.perf_counter()
                    _import_file(page, base, path)
                    preview = rss_mb(pid)
                    after_rerun(page, lambda: page.get_by_role("button", name="Importera").click(), timeout=600_000)
                    said = [t for t in page.locator("[data-testid=stAlertContentSuccess]").all_inner_texts()
                            if t.startswith("Importerat")]
                    if not said:
                        raise SystemExit(f"import {i} did not succeed: {page.locator('[data-testid=stMain]').inner_text()[:500]}")
                    imported = rss_mb(pid)
                    _open(page, base, "jobbtorg", 10)
                    print(f"  import {i}: preview {preview:6.0f} MB, imported {imported:6.0f} MB, "
                          f"Jobbtorg 10 s later {rss_mb(pid):6.0f} MB   ({time.perf_counter() - t:.0f} s in the browser)")
                time.sleep(args.settle)
                _open(page, base, "om-data", 2)
                _open(page, base, "jobbtorg", 10)
                after = rss_mb(pid)
            with streamlit_server(data_dir) as (base, pid):
                page = new_page(browser, viewport={"width": 1400, "height": 1000})
                _open(page, base, "jobbtorg", 10)
                fresh = rss_mb(pid)
            browser.close()
        print(f"  importing server, {args.settle:.0f} s later, Jobbtorg open: {after:6.0f} MB")
        print(f"  fresh server on the same data, Jobbtorg open:   {fresh:6.0f} MB")
        print(f"  ratio importing / fresh: {after / fresh:.2f}x ({after - fresh:+.0f} MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(data_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
