"""Every page in Chromium, in normal and presentation mode: it loads without an error box or a dialog,
no text is cut off with an ellipsis, its charts are drawn, axe-core finds no serious or critical
WCAG 2.1 A/AA violation, every control has a label, every control is reached with Tab and shows where
the focus is, every chart has a text alternative, and the text in the charts has enough contrast.
Each page is visited once per mode (a screenshot is saved then); the tests below assert on what that
visit saw."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from browser_helpers import (SCREENSHOTS, CHART_PAGES, NORMAL, PAGES, PROJECTOR, after_rerun, chart_text_contrast,
                             clipped_texts, describe_violations, dump, error_boxes, new_page, open_page, run_axe,
                             screenshot, serious, tab_walk, unlabelled_controls, wait_ready)

pytestmark = pytest.mark.browser

MODES = ["normal", "presentation"]
FAILURES = SCREENSHOTS.parent / "failures"  # what a page looked like when a step had to be retried


@dataclass
class Visit:
    errors: list[str]
    dialogs: list[str]
    lang: str
    clipped: list[str]
    js_errors: list[str]
    title: str
    sidebar_visible: bool
    charts: list[dict]
    chart_contrast: list[str]
    panels: list[dict]
    violations: list[dict]
    unlabelled: list[str]
    keyboard: dict
    screenshots: list = field(default_factory=list)


_visits: dict[tuple[str, str], Visit] = {}


def _chart_facts(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(c => {
      const g = c.querySelector('svg.marks, canvas');
      const r = g ? g.getBoundingClientRect() : {width: 0, height: 0};
      return {label: c.getAttribute('aria-label') || '', role: c.getAttribute('role') || '',
              width: r.width, height: r.height,
              marks: g ? g.querySelectorAll('path, rect, line, text').length : 0,
              texts: g ? [...g.querySelectorAll('text')].map(t => t.textContent) : [],
              panel: (c.closest('[class*="st-key-panel-"]') || {className: ''}).className
                       .split(' ').find(k => k.startsWith('st-key-panel-')) || ''};
    })""")


def _panel_facts(page) -> list[dict]:
    """Each chart panel: its sentence, and its 'Visa som tabell' expander with the table inside."""
    return page.evaluate("""() => [...document.querySelectorAll('[class*="st-key-panel-"]')].map(p => {
      const key = p.className.split(' ').find(k => k.startsWith('st-key-panel-'));
      const exp = [...p.querySelectorAll('[data-testid="stExpander"]')]
                   .find(e => e.innerText.includes('Visa som tabell'));
      return {key, hasChart: !!p.querySelector('[data-testid="stVegaLiteChart"]'),
              sentence: (p.querySelector('.amn-sentence') || {innerText: ''}).innerText.trim(),
              source: [...p.querySelectorAll('[data-testid="stCaptionContainer"]')].map(c => c.innerText)
                        .find(t => t.startsWith('Källa')) || '',
              tableExpander: !!exp,
              table: !!(exp && exp.querySelector('[data-testid="stDataFrame"]'))};
    })""")


def visit(browser, app, name: str, mode: str) -> Visit:
    key = (name, mode)
    path = PAGES[name][0]
    if key in _visits:
        return _visits[key]
    presentation = mode == "presentation"
    page = new_page(browser, PROJECTOR if presentation else NORMAL)
    try:
        if presentation:
            open_page(page, app.base, path, presentation="true")
        else:
            open_page(page, app.base, path)
        # the picture first, as the page opens (the Tab walk below moves focus and scrolls tables)
        shots = screenshot(page, f"{name}-{mode}", presentation=presentation)
        result = Visit(
            errors=error_boxes(page),
            dialogs=page.locator('[role=dialog]').all_inner_texts(),
            lang=page.evaluate("document.documentElement.lang"),
            clipped=clipped_texts(page),
            js_errors=list(page.js_errors),
            title=page.locator('[data-testid="stMain"] h1').first.inner_text().strip(),
            sidebar_visible=page.locator('[data-testid="stSidebar"]').is_visible(),
            charts=_chart_facts(page),
            chart_contrast=chart_text_contrast(page),
            panels=_panel_facts(page),
            violations=run_axe(page),
            unlabelled=unlabelled_controls(page),
            keyboard=tab_walk(page),
            screenshots=shots,
        )
    finally:
        page.context.close()
    app.check_alive()
    _visits[key] = result
    return result


PARAMS = [pytest.param(p, m, id=f"{p}-{m}") for p in PAGES for m in MODES]


@pytest.mark.parametrize("name,mode", PARAMS)
def test_page_loads_without_error(browser, warm_app, name, mode):
    v = visit(browser, warm_app, name, mode)
    assert v.title == PAGES[name][1]
    assert not v.errors, f"error box on {name}: {v.errors}"
    assert not v.dialogs, f"a dialog covers {name}: {v.dialogs}"
    assert v.lang == "sv", "the page is Swedish: screen readers choose their voice by <html lang>"
    assert not v.js_errors, f"JavaScript errors on {name}: {v.js_errors}"
    if mode == "presentation":
        assert not v.sidebar_visible, "presentation mode hides the sidebar"
    else:
        assert v.sidebar_visible


@pytest.mark.parametrize("name,mode", [
    pytest.param(p, m, id=f"{p}-{m}")
    for p in PAGES for m in MODES])
def test_no_text_is_cut_off(browser, warm_app, name, mode):
    v = visit(browser, warm_app, name, mode)
    assert not v.clipped, f"text cut off on {name}: {v.clipped}"


@pytest.mark.parametrize("name", CHART_PAGES)
def test_charts_are_drawn(browser, warm_app, name):
    v = visit(browser, warm_app, name, "normal")
    panels = [c for c in v.charts if c["panel"]]
    assert panels, f"no chart drawn on {name}"
    for c in v.charts:
        assert c["width"] > 100 and c["height"] > 20, c
        # a panel chart has axes or labels and marks; a sparkline (Översikt) at least its line
        assert c["marks"] > (3 if c["panel"] else 0), f"an empty chart on {name}: {c['label']}"


@pytest.mark.parametrize("name,mode", PARAMS)
def test_no_serious_accessibility_violations(browser, warm_app, name, mode):
    v = visit(browser, warm_app, name, mode)
    bad = serious(v.violations)
    assert not bad, f"axe-core on {name} ({mode}):\n{describe_violations(bad)}"


@pytest.mark.parametrize("name,mode", PARAMS)
def test_every_control_has_a_label(browser, warm_app, name, mode):
    v = visit(browser, warm_app, name, mode)
    assert not v.unlabelled, f"controls without an accessible name on {name}:\n" + "\n".join(v.unlabelled)


@pytest.mark.parametrize("name,mode", PARAMS)
def test_keyboard_reaches_every_control(browser, warm_app, name, mode):
    v = visit(browser, warm_app, name, mode)
    k = v.keyboard
    assert not k["stuck"], f"focus is trapped on {name}"
    assert not k["unreached"], f"not reachable with Tab on {name}: {dump(k['unreached'])}"
    assert not k["noIndicator"], f"no visible focus indicator on {name}: {dump(k['noIndicator'])}"


@pytest.mark.parametrize("name,mode", [pytest.param(p, m, id=f"{p}-{m}") for p in CHART_PAGES for m in MODES])
def test_every_chart_has_a_text_alternative(browser, warm_app, name, mode):
    v = visit(browser, warm_app, name, mode)
    for c in v.charts:
        assert c["role"] in ("graphics-document", "img"), c
        assert len(c["label"]) >= 10, f"chart without a description on {name}: {c}"
    panels = [p for p in v.panels if p["hasChart"]]
    assert panels
    for p in panels:
        assert p["sentence"].endswith(".") and len(p["sentence"]) > 20, p
        assert p["source"].startswith("Källa"), p
        if mode == "normal":
            assert p["tableExpander"], f"no table view in {p['key']} on {name}"
    if mode == "normal":  # the table view is built when opened: open each one
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page = new_page(browser, NORMAL)
        try:
            open_page(page, warm_app.base, PAGES[name][0])
            for p in panels:
                box = page.locator(f".{p['key']}")
                summary = box.locator("summary", has_text="Visa som tabell")
                after_rerun(page, summary.click)
                table = box.locator('[data-testid="stDataFrame"]')
                try:
                    table.wait_for(state="visible", timeout=30_000)
                except PlaywrightTimeout:
                    # Under CI load (3 times in about 27 runs) a box opened empty and stayed empty when
                    # closed and opened again: the page had stopped reaching the server. What a user
                    # would do then is reload; the table must show after that. The page as it was is
                    # kept for a look (test-artifacts/failures).
                    FAILURES.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(FAILURES / f"table-view-{name}-{p['key']}.png"), full_page=True)
                    status = page.locator('[data-testid="stStatusWidget"]').all_inner_texts()
                    print(f"table view of {p['key']} on {name} stayed empty; status widget: {status}")
                    page.reload(wait_until="domcontentloaded")
                    wait_ready(page)
                    after_rerun(page, summary.click)
                    table.wait_for(state="visible", timeout=60_000)
        finally:
            page.context.close()


@pytest.mark.parametrize("name,mode", [
    pytest.param(p, m, id=f"{p}-{m}")
    for p in CHART_PAGES for m in MODES])
def test_chart_text_contrast(browser, warm_app, name, mode):
    """Every text drawn in a chart (axis, legend, value and map labels) against what is under it."""
    v = visit(browser, warm_app, name, mode)
    assert not v.chart_contrast, "\n".join(v.chart_contrast)
