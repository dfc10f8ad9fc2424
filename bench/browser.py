"""Browser: time from navigation to the first chart drawn, in headless Chromium, per page.

    .venv/bin/python bench/browser.py               # every page, 3 visits each
    .venv/bin/python bench/browser.py --repeat 5 --chromium /usr/bin/chromium

One `streamlit run app.py` on 127.0.0.1 with a temporary copy of data/raw (the embedded
data; --data for another AMNSTATS_DATA_DIR). Each visit is a new browser context (a new
session, nothing cached in the browser). The time is the page's own clock
(performance.now(), zero at navigation start) at the first 20 ms poll where a Vega
chart has drawn marks (a canvas or an SVG with marks inside a stVegaLiteChart element);
pages without a chart (Data och källor, Om data, Ladda upp data, Presentation before any
chart is chosen) report their first table, text or heading instead, marked "(no chart)".

In the same run, two references:
- the floor: the same visits to an otherwise empty Streamlit page with one small Altair line
  chart of SYNTHETIC numbers (written to a temporary folder, default settings). No Streamlit
  page with a Vega chart can be faster on this machine; the ratio is amnstats / floor.
- the very first visit after the server started (cold: Python imports, the store read from
  Parquet, nothing cached in the process), against the median of the warm visits.
And the presenter's path: a slideshow link as a presenter shares it (two Jobbtorg charts chosen
on the page with "Ta med i presentationen", the link of the Presentation page in
presentation mode), opened the same ways; a slide shows one chart.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("AMNSTATS_CHROMIUM") or os.environ.get("CHROMIUM") or "/usr/bin/chromium"  # as tests/browser
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))

from concurrency import data_copy, streamlit_server  # noqa: E402
from pages import app_pages  # noqa: E402

CHART = ('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg .mark-group, '
         '[data-testid="stVegaLiteChart"] svg path')
CONTENT = ('[data-testid="stDataFrame"], [data-testid="stTable"], [data-testid="stFileUploader"], h2, '
           '[data-testid="stAlert"], [data-testid="stMarkdownContainer"] p')
READY_JS = """([chart, content, chartless]) => {
  if (document.querySelector(chart)) return {t: performance.now(), what: 'chart'};
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  if (chartless && !running && document.querySelector('h1') && document.querySelector(content))
    return {t: performance.now(), what: 'content'};
  return false;
}"""
CHARTLESS = {"data", "om-data", "ladda-upp", "presentation"}
FLOOR_APP = '''import altair as alt
import streamlit as st

st.title("SYNTETISKA TESTDATA: golvet för bench/browser.py")
values = [{"x": i, "y": i % 7} for i in range(24)]
st.altair_chart(alt.Chart(alt.Data(values=values)).mark_line().encode(x="x:Q", y="y:Q"), use_container_width=True)
'''


def visit(browser, url: str, slug: str, timeout_s: float, context=None) -> tuple[float, str]:
    """One visit in a new tab: of a new browser context (nothing cached), or of `context`
    (a returning browser: Streamlit's script files in its cache; still a new session)."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    try:
        page.goto(f"{url}/{slug}", wait_until="commit")
        handle = page.wait_for_function(READY_JS, arg=[CHART, CONTENT, slug in CHARTLESS], polling=20,
                                        timeout=timeout_s * 1000)
        result = handle.json_value()
        return result["t"] / 1000, result["what"]
    finally:
        page.close()
        if own:
            context.close()


SLIDESHOW_JS = """
import sys
sys.path.insert(0, {tests!r})
from apptest_helpers import run_page
at = run_page("jobbtorg")
at.toggle(key="pick-jobbtorg-malgrupp").set_value(True).run()
at.toggle(key="pick-jobbtorg-unika").set_value(True).run()
at.switch_page("pages/presentation.py").run()
shared = at.query_params["bildspel"]
print(shared if isinstance(shared, str) else shared[0])
"""


def shared_slideshow(data: Path) -> str:
    """The path and query of a slideshow link as a presenter shares it, made by the app itself
    (AppTest clicks, in a process of its own on the same data)."""
    env = {**os.environ, "AMNSTATS_DATA_DIR": str(data)}
    out = subprocess.run([sys.executable, "-c", SLIDESHOW_JS.format(tests=str(PROJECT / "tests"))], env=env,
                         cwd=PROJECT, capture_output=True, text=True, check=True, timeout=300)
    return f"presentation?bildspel={out.stdout.strip().splitlines()[-1]}&presentation=true"


def floor(browser, data: Path, repeat: int, timeout_s: float) -> tuple[float, float]:
    """Median seconds to the chart of FLOOR_APP: (new browser, returning browser)."""
    folder = Path(tempfile.mkdtemp(prefix="amnstats-bench-floor-"))
    (folder / "floor_app.py").write_text(FLOOR_APP, encoding="utf-8")
    try:
        with streamlit_server(data, app=folder / "floor_app.py") as (host, _pid):
            url = f"http://{host}"
            visit(browser, url, "", timeout_s)  # the server's first run
            returning = browser.new_context(viewport={"width": 1400, "height": 1000})
            visit(browser, url, "", timeout_s, returning)
            new = [visit(browser, url, "", timeout_s)[0] for _ in range(repeat)]
            again = [visit(browser, url, "", timeout_s, returning)[0] for _ in range(repeat)]
            returning.close()
        return statistics.median(new), statistics.median(again)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chromium", default=CHROMIUM)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data = args.data or data_copy()
    print(f"bench/browser.py: headless Chromium ({args.chromium}), navigation -> first chart drawn, "
          f"{args.repeat} warm visits per page; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    try:
        with streamlit_server(data) as (host, _pid), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
            url = f"http://{host}"
            pages = app_pages()
            t = time.perf_counter()
            cold, what = visit(browser, url, pages[0][1], args.timeout)
            print(f"  cold first visit ({pages[0][1]}, server just started): {cold:.2f} s to {what} "
                  f"({time.perf_counter() - t:.1f} s wall)")
            returning = browser.new_context(viewport={"width": 1400, "height": 1000})
            visit(browser, url, "", args.timeout, returning)  # fills the browser cache once
            rows = []
            for _, slug in pages:
                times, again, what = [], [], ""
                for _ in range(args.repeat):
                    try:
                        t, what = visit(browser, url, slug, args.timeout)
                        times.append(t)
                        again.append(visit(browser, url, slug, args.timeout, returning)[0])
                    except Exception as exc:  # noqa: BLE001 - report and go on
                        what = f"error: {type(exc).__name__}"
                rows.append((slug, statistics.median(times) if times else float("nan"),
                             statistics.median(again) if again else float("nan"), what))
            show = shared_slideshow(data)
            slides = [(visit(browser, url, show, args.timeout), visit(browser, url, show, args.timeout, returning))
                      for _ in range(args.repeat)]
            returning.close()
            floor_new, floor_back = floor(browser, data, args.repeat, args.timeout)
            browser.close()
        print(f"  {'page':16s} {'new browser':>12s} {'returning browser':>18s}")
        for slug, t, t2, what in rows:
            print(f"  {slug:16s} {t:10.2f} s {t2:16.2f} s   "
                  f"{'' if what == 'chart' else '(no chart: first content)' if what == 'content' else what}")
        print(f"  {'shared slideshow':16s} {statistics.median(n[0] for n, _ in slides):10.2f} s "
              f"{statistics.median(r[0] for _, r in slides):16.2f} s   (the presenter's link, presentation mode)")
        warm = [t for _, t, _, what in rows if what == "chart"]
        back = [t for _, _, t, what in rows if what == "chart"]
        if warm:
            print(f"  returning browser: slowest page {max(back):.2f} s, median {statistics.median(back):.2f} s")
            print(f"  new browser: slowest page {max(warm):.2f} s, median {statistics.median(warm):.2f} s; "
                  f"ratio cold first visit / warm median: {cold / statistics.median(warm):.1f}x")
            print(f"  floor (one Altair chart on an otherwise empty Streamlit page): new browser {floor_new:.2f} s, "
                  f"returning {floor_back:.2f} s; ratio amnstats median / floor: new "
                  f"{statistics.median(warm) / floor_new:.2f}x, returning {statistics.median(back) / floor_back:.2f}x")
    finally:
        if args.data is None:
            shutil.rmtree(data.parent, ignore_errors=True)
    print(f"  load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
