"""What a user does, in Chromium: change a filter, share the link, download charts and tables,
upload a file and undo it, build a slideshow and step through it with the keyboard, present, and
use the whole thing without a mouse."""

from __future__ import annotations

import csv
import io
import struct
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlparse

import pytest

from browser_helpers import (NORMAL, PROJECTOR, after_rerun, choose, chart_fingerprint, combobox_value, compact,
                             error_boxes, new_page, open_page, screenshot, subheaders, wait_ready)

pytestmark = pytest.mark.browser

FIRST = "jobbtorg-malgrupp"  # the first chart on /jobbtorg


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def chart_texts(page, panel_id: str) -> str:
    """The text drawn in a chart (axis and value labels), spaces normalised."""
    texts = page.locator(f".st-key-panel-{panel_id} [data-testid=stVegaLiteChart] svg.marks text").all_text_contents()
    return compact(" | ".join(texts))


def test_changing_a_filter_changes_the_chart_and_the_link_restores_it(page, browser, warm_app):
    open_page(page, warm_app.base, "jobbtorg")
    assert combobox_value(page, "period") == "2023"
    assert subheaders(page)[0] == "Inskrivna per målgrupp och kön, 2023"
    before = chart_fingerprint(page, FIRST)

    choose(page, "period", "2022")
    assert subheaders(page)[0] == "Inskrivna per målgrupp och kön, 2022"
    after = chart_fingerprint(page, FIRST)
    assert after != before, "the chart was not redrawn for the new period"
    assert "3 229" in chart_texts(page, FIRST)  # Försörjningsstöd 2022, 002 line 668
    assert query(page).get("period") == "2022", page.url
    label = page.locator(f".st-key-panel-{FIRST} [data-testid=stVegaLiteChart]").get_attribute("aria-label")

    # the copied link in a new browser (a new session) shows the same view
    other = new_page(browser)
    try:
        other.goto(page.url, wait_until="domcontentloaded")
        wait_ready(other)
        assert combobox_value(other, "period") == "2022"
        assert subheaders(other)[0] == "Inskrivna per målgrupp och kön, 2022"
        chart = other.locator(f".st-key-panel-{FIRST} [data-testid=stVegaLiteChart]")
        assert chart.get_attribute("aria-label") == label
        assert chart_texts(other, FIRST) == chart_texts(page, FIRST)
    finally:
        other.context.close()


def test_chart_and_table_downloads_are_valid_files(page, warm_app):
    open_page(page, warm_app.base, "jobbtorg")
    panel = page.locator(f".st-key-panel-{FIRST}")
    panel.locator("summary", has_text="Visa som tabell och ladda ned").click()
    table = panel.locator("[data-testid=stDataFrame]")
    table.wait_for(state="visible")
    scope = panel  # the buttons of the first chart only

    def download(label):
        with page.expect_download(timeout=120_000) as info:
            scope.get_by_role("button", name=label, exact=True).click()
        d = info.value
        assert d.failure() is None, d.failure()
        return d.suggested_filename, open(d.path(), "rb").read()

    name, png = download("PNG (bild)")
    assert name == f"{FIRST}.png"
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 600 and height >= 300 and len(png) > 10_000, (width, height, len(png))

    name, svg = download("SVG (vektor)")
    assert name == f"{FIRST}.svg"
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "Försörjningsstöd" in texts

    name, raw = download("CSV")
    assert name == f"{FIRST}.csv"
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV without BOM (Excel would misread å, ä, ö)"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Inskrivna per målgrupp och kön, 2023"]  # a title row, then the table
    assert len(rows) > 5 and len(rows[1]) > 1, rows[:3]
    assert any("Försörjningsstöd" in ";".join(r) for r in rows)

    name, xlsx = download("Excel")
    assert name == f"{FIRST}.xlsx"
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    ws = wb.worksheets[0]
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert ws.max_row > 5 and any("Försörjningsstöd" == v for v in values)
    assert not error_boxes(page)


UPLOAD = ("Stadsdelsområde;Kvinnor;Män;Totalt\n"
          "Rinkeby - Kista;14,1;13,3;13,7\n"
          "Spånga - Tensta;11,3;10,1;10,7\n"
          "Skärholmen;9,8;9,2;9,5\n"
          "Bromma;3,1;3,3;3,2\n").encode("cp1252")
DISTRICTS = "arbetsloshet-stadsdelar"  # the chart of unemployment per district on /arbetsloshet


def test_upload_preview_commit_and_undo(page, warm_app):
    open_page(page, warm_app.base, "arbetsloshet")
    assert "dec 2023" not in subheaders(page)[1]
    assert "13,7 %" not in chart_texts(page, DISTRICTS)

    open_page(page, warm_app.base, "ladda-upp")
    after_rerun(page, lambda: page.locator("input[type=file]").set_input_files(
        {"name": "arbetsloshet_dec2023.csv", "mimeType": "text/csv", "buffer": UPLOAD}))
    assert "Windows-1252" in page.locator("[data-testid=stMain]").inner_text()
    choose(page, "serie", "Arbetslöshet")
    choose(page, "matt", "Arbetslösa (andel)")
    page.locator(".st-key-hur-period").get_by_text("Samma för hela filen").click()
    page.wait_for_timeout(200)
    wait_ready(page)
    field = page.get_by_label("Period för hela filen")
    field.fill("dec 2023")
    after_rerun(page, lambda: field.press("Enter"))

    main = page.locator("[data-testid=stMain]")
    assert "12 värden är giltiga." in main.inner_text()
    assert "Förhandsgranskning: det här ändras" in main.inner_text()
    screenshot(page, "flow-upload-preview")
    after_rerun(page, lambda: page.get_by_role("button", name="Importera").click())
    success = page.locator("[data-testid=stAlertContentSuccess]").all_inner_texts()
    assert any(t.startswith("Importerat: 12 värden") for t in success), success
    assert not error_boxes(page)

    # the new figures are on the dashboard: the latest district period is now dec 2023
    open_page(page, warm_app.base, "arbetsloshet")
    assert "Arbetslösa per stadsdelsområde, dec 2023" in subheaders(page)
    assert "13,7 %" in chart_texts(page, DISTRICTS)  # Rinkeby-Kista, totalt
    assert "Rinkeby-Kista" in chart_texts(page, DISTRICTS)

    # undo on the upload page: the figures are gone again
    open_page(page, warm_app.base, "ladda-upp")
    history = page.locator("[data-testid=stMain]").inner_text()
    assert "aktiv" in history
    after_rerun(page, lambda: page.get_by_role("button", name="Ångra").first.click())
    assert "ångrad" in page.locator("[data-testid=stMain]").inner_text()
    open_page(page, warm_app.base, "arbetsloshet")
    assert not any("dec 2023" in s for s in subheaders(page)), subheaders(page)
    assert "13,7 %" not in chart_texts(page, DISTRICTS)


def _pick(page, chart_id: str) -> None:
    toggle = page.locator(f".st-key-pick-{chart_id}")
    after_rerun(page, lambda: toggle.get_by_text("Ta med i presentationen").click())
    assert toggle.get_by_role("switch").is_checked()


def _press(page, key: str) -> None:
    """A keyboard shortcut with the focus on the page, not in a form field."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    after_rerun(page, lambda: page.keyboard.press(key))


def test_slideshow_steps_with_the_keyboard_and_downloads_a_meeting_pack(page, browser, warm_app):
    open_page(page, warm_app.base, "arbetsloshet")
    _pick(page, "arbetsloshet-bas")
    _pick(page, "arbetsloshet-stadsdelar")
    menu = page.locator("[data-testid=stSidebarNav]")
    after_rerun(page, lambda: menu.get_by_role("link", name="Presentation").click())
    assert page.locator("[data-testid=stMain] h1").inner_text() == "Presentation"
    assert "bildspel" in query(page)
    first = subheaders(page)[0]
    assert first.startswith("Arbetslöshet per månad"), first
    assert "Bild 1 av 2" in page.locator("[data-testid=stMain]").inner_text()

    _press(page, "ArrowRight")
    assert subheaders(page)[0].startswith("Arbetslösa per stadsdelsområde"), subheaders(page)
    assert query(page).get("bild") == "2"
    _press(page, "ArrowLeft")
    assert subheaders(page)[0] == first
    assert query(page).get("bild") == "1"
    _press(page, "ArrowRight")

    with page.expect_download(timeout=180_000) as info:
        page.get_by_role("button", name="Ladda ned som PowerPoint (mötespaket)").click()
    d = info.value
    assert d.suggested_filename == "amnstats-motespaket.pptx"
    from pptx import Presentation

    deck = Presentation(d.path())
    texts = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in deck.slides]
    assert len(deck.slides) >= 2
    assert any("Arbetslöshet per månad" in t for t in texts)
    assert any("Arbetslösa per stadsdelsområde" in t for t in texts)
    assert sum(1 for s in deck.slides for sh in s.shapes if sh.shape_type == 13) >= 2  # a picture per chart

    # the copied link opens the same show at the same slide, in presentation mode too
    shared = page.url
    other = new_page(browser, PROJECTOR)
    try:
        other.goto(shared + "&presentation=true", wait_until="domcontentloaded")
        wait_ready(other)
        assert subheaders(other)[0].startswith("Arbetslösa per stadsdelsområde")
        assert not other.locator("[data-testid=stSidebar]").is_visible()
        assert other.get_by_role("button", name="Avsluta presentationsläget").is_visible()
        screenshot(other, "flow-slideshow-presentation", presentation=True)
        scrolled = ("() => Math.max(window.scrollY, ...[...document.querySelectorAll("
                    "'[data-testid=stMain], [data-testid=stAppViewContainer]')].map(e => e.scrollTop))")
        other.mouse.wheel(0, 3000)
        other.wait_for_function(f"({scrolled})() > 0")
        _press(other, "ArrowLeft")
        assert subheaders(other)[0] == first
        assert query(other).get("bild") == "1"
        other.wait_for_function(f"({scrolled})() === 0")  # the next slide starts at its title
    finally:
        other.context.close()


def test_presentation_mode_hides_the_sidebar_enlarges_and_exits_with_esc(page, warm_app):
    open_page(page, warm_app.base, "arbetsloshet")
    normal_font = page.locator("[data-testid=stVegaLiteChart] svg.marks text").first.evaluate(
        "t => parseFloat(getComputedStyle(t).fontSize)")
    page.set_viewport_size(PROJECTOR)
    open_page(page, warm_app.base, "arbetsloshet", presentation="true")
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    assert not page.locator("[data-testid=stHeader]").is_visible()
    assert page.locator("[class*=st-key-pick-]").count() == 0, "no 'Ta med' toggles on a projected page"
    assert page.locator("[data-testid=stExpander]").count() == 0
    large_font = page.locator("[data-testid=stVegaLiteChart] svg.marks text").first.evaluate(
        "t => parseFloat(getComputedStyle(t).fontSize)")
    assert large_font >= 1.4 * normal_font, (normal_font, large_font)
    # one chart per screen: the first panel fills most of the projector's height
    box = page.locator("[class*=st-key-panel-]").first.bounding_box()
    assert box["height"] >= 0.8 * PROJECTOR["height"], box
    # the sentence under the chart is read from the back of the room: larger than the source line
    sentence, source = page.evaluate("""() => [document.querySelector('.amn-sentence'),
        document.querySelector('[class*=st-key-panel-] [data-testid=stCaptionContainer]')]
        .map(e => parseFloat(getComputedStyle(e).fontSize))""")
    assert sentence >= 1.3 * source and sentence >= 30, (sentence, source)

    _press(page, "Escape")
    assert page.locator("[data-testid=stSidebar]").is_visible()
    assert query(page).get("presentation") != "true", page.url
    assert page.locator("[class*=st-key-pick-]").count() > 0
    page.set_viewport_size(NORMAL)


def _tab_to(page, predicate_js: str, limit: int = 250) -> None:
    """Press Tab until the focused element satisfies the predicate (a JS function of the element)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({predicate_js})(el); }}"):
            return
    raise AssertionError(f"never reached with Tab: {predicate_js}")


def _start_from_top(page) -> None:
    page.evaluate("""() => { const s = document.createElement('span'); s.tabIndex = -1;
                             document.body.prepend(s); s.focus(); }""")


def test_the_app_works_with_the_keyboard_alone(page, warm_app):
    open_page(page, warm_app.base, "jobbtorg")
    _start_from_top(page)
    # the skip link comes first and moves the focus to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.innerText").strip() == "Skip to main content"

    # a filter: Tab to it, type, Enter
    _tab_to(page, "el => el.getAttribute('role') === 'combobox' && el.getAttribute('aria-label') === 'Period'")
    page.keyboard.type("2022")
    after_rerun(page, lambda: page.keyboard.press("Enter"))
    assert subheaders(page)[0] == "Inskrivna per målgrupp och kön, 2022"

    # the table view: Tab to it, Enter opens it; a download with Enter
    _start_from_top(page)
    _tab_to(page, "el => el.tagName === 'SUMMARY' && el.innerText.includes('Visa som tabell')")
    page.keyboard.press("Enter")
    panel = page.locator(f".st-key-panel-{FIRST}")
    panel.locator("[data-testid=stDataFrame]").wait_for(state="visible")
    _tab_to(page, "el => el.tagName === 'BUTTON' && el.innerText.trim() === 'CSV'")
    with page.expect_download(timeout=120_000) as info:
        page.keyboard.press("Enter")
    assert info.value.suggested_filename == f"{FIRST}.csv"

    # the 'ta med' toggle with Space
    _tab_to(page, "el => el.getAttribute('role') === 'switch' && el.closest('.st-key-pick-" + FIRST + "')")
    after_rerun(page, lambda: page.keyboard.press("Space"))
    assert page.locator(f".st-key-pick-{FIRST}").get_by_role("switch").is_checked()

    # another page through the sidebar menu with Enter: the chosen chart is in the slideshow
    _start_from_top(page)
    _tab_to(page, "el => el.tagName === 'A' && el.innerText.trim().endsWith('Presentation')")
    after_rerun(page, lambda: page.keyboard.press("Enter"))
    assert page.locator("[data-testid=stMain] h1").inner_text() == "Presentation"
    assert subheaders(page)[0] == "Inskrivna per målgrupp och kön, 2022"

    # presentation mode on and off from the keyboard: the sidebar toggle, then Esc
    _start_from_top(page)
    _tab_to(page, "el => el.getAttribute('role') === 'switch' "
                  "&& el.getAttribute('aria-label') === 'Presentationsläge'")
    after_rerun(page, lambda: page.keyboard.press("Space"))
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    _press(page, "Escape")
    assert page.locator("[data-testid=stSidebar]").is_visible()


def test_oversikt_has_its_own_url(page, warm_app):
    page.goto(f"{warm_app.base}/oversikt", wait_until="domcontentloaded")
    wait_ready(page)
    assert page.locator("[role=dialog]").count() == 0, page.locator("[role=dialog]").all_inner_texts()
    assert page.locator("[data-testid=stMain] h1").first.inner_text() == "Översikt"
    assert page.locator("[data-testid=stMetric]").count() >= 5  # the headline figures, not an empty page
