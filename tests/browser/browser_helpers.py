"""Driving the running app in Chromium: waiting for Streamlit, screenshots, axe-core, labels, keyboard.

Streamlit renders in steps (websocket, script run, skeletons, then Vega draws the charts), so every
check waits for a quiet page first: the script is not running, no status widget or skeleton, the
page has its title and every chart has drawn something."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:  # imported without playwright too: the conftest then skips (or fails in CI) with the reason
    from playwright.sync_api import Page

PROJECT = Path(__file__).resolve().parents[2]
AXE_JS = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT / "test-artifacts" / "screenshots"
WRITTEN: list[Path] = []  # screenshots saved in this test session

# page -> (url path, the page's h1). Översikt is the default page: Streamlit serves it at "/"; a
# hidden twin serves it at /oversikt too (see test_oversikt_has_its_own_url in test_browser_flows.py).
PAGES = {
    "oversikt": ("", "Översikt"),
    "arbetsloshet": ("arbetsloshet", "Arbetslöshet"),
    "jobbtorg": ("jobbtorg", "Jobbtorg Stockholm"),
    "unga": ("unga", "Unga: KAA, UVAS och feriejobb"),
    "vuxenutbildning": ("vuxenutbildning", "Vuxenutbildning: sfi och komvux"),
    "stadsdelar": ("stadsdelar", "Stadsdelsområden"),
    "mal": ("mal", "Mål och utfall"),
    "presentation": ("presentation", "Presentation"),
    "ladda-upp": ("ladda-upp", "Ladda upp data"),
    "data": ("data", "Data och källor"),
    "om-data": ("om-data", "Om data"),
}
CHART_PAGES = ["oversikt", "arbetsloshet", "jobbtorg", "unga", "vuxenutbildning", "stadsdelar", "mal"]
NORMAL = {"width": 1400, "height": 900}
PROJECTOR = {"width": 1920, "height": 1080}

# Counts finished script runs, so a test can wait for the rerun its click caused (a rerun can be
# over before the test looks at the page).
INIT_SCRIPT = """
window.__amnRuns = 0;
new MutationObserver(records => {
  for (const r of records) {
    if (r.target.getAttribute('data-test-script-state') === 'notRunning' && r.oldValue !== 'notRunning') {
      window.__amnRuns += 1;
    }
  }
}).observe(document, {attributes: true, subtree: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""

QUIET = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"], '
                             + '[data-testid="stAppSkeleton"]')) return false;
  return !!document.querySelector('[data-testid="stMain"] h1');
}"""

# every Vega chart has drawn marks: an <svg> or <canvas> of non-zero size with something in it
CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].every(c => {
  const g = c.querySelector('svg.marks, canvas');
  if (!g) return false;
  const r = g.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return false;
  return g.tagName.toLowerCase() === 'canvas' || g.querySelectorAll('path, rect, text, line').length > 0;
})"""


def url(base: str, path: str, **query: str) -> str:
    return f"{base}/{path}" + (f"?{urlencode(query)}" if query else "")


def new_page(browser, viewport=None):
    """A page in a new browser context: its own cookies, so its own Streamlit session."""
    context = browser.new_context(viewport=viewport or NORMAL, accept_downloads=True, locale="sv-SE",
                                  reduced_motion="reduce")
    context.add_init_script(INIT_SCRIPT)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda e: page.js_errors.append(str(e)))
    return page


def wait_ready(page: Page, timeout: float = 90_000) -> None:
    """Until the script has run, nothing is loading and every chart has drawn."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(QUIET, timeout=timeout)
    page.wait_for_function(CHARTS_DRAWN, timeout=timeout)
    page.wait_for_timeout(300)  # a last layout pass (the chart width follows its column)
    page.wait_for_function(QUIET, timeout=timeout)


def runs(page: Page) -> int:
    return page.evaluate("window.__amnRuns")


def after_rerun(page: Page, action, timeout: float = 90_000) -> None:
    """Do `action` (a click, a key) and wait until the script run it causes has finished.

    A run of a few milliseconds (everything on the page already built) can start and end
    within one frame: the frontend then never shows it as running, and the counter does not
    move. So the counter is awaited for a while only; after that the page must be quiet (not
    running, nothing pending), which a run that has not started yet cannot fake for long."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = runs(page)
    action()
    try:
        page.wait_for_function(f"window.__amnRuns > {before}", timeout=min(timeout, 10_000))
    except PlaywrightTimeout:
        page.wait_for_timeout(500)
    wait_ready(page, timeout)


def open_page(page: Page, base: str, path: str, **query: str) -> None:
    page.goto(url(base, path, **query), wait_until="domcontentloaded")
    wait_ready(page)


def error_boxes(page: Page) -> list[str]:
    """Streamlit's exception boxes and st.error boxes on the page."""
    return page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').all_inner_texts()


def choose(page: Page, key: str, option: str) -> None:
    """Pick an option in the select box with this widget key by typing, as a keyboard user would."""
    box = page.locator(f".st-key-{key} input[role=combobox]")
    if box.input_value() == option:
        return  # already chosen: no rerun would follow
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).first.wait_for()
    after_rerun(page, lambda: page.keyboard.press("Enter"))


def combobox_value(page: Page, key: str) -> str:
    return page.locator(f".st-key-{key} input[role=combobox]").input_value()


def subheaders(page: Page) -> list[str]:
    return [t.strip() for t in page.locator('[data-testid="stMain"] h3').all_inner_texts()]


def chart_fingerprint(page: Page, panel_id: str) -> str:
    """What the chart in this panel draws (its SVG text and geometry), to tell two drawings apart."""
    return page.locator(f".st-key-panel-{panel_id} [data-testid=stVegaLiteChart] svg.marks").first.inner_html()


def main_scroll_height(page: Page) -> int:
    return page.evaluate("""() => {
      const m = document.querySelector('[data-testid="stMain"]');
      return Math.ceil(Math.max(m ? m.scrollHeight : 0, document.documentElement.scrollHeight));
    }""")


def screenshot(page: Page, name: str, presentation: bool = False) -> list[Path]:
    """Save what the page shows. Normal pages: the whole page in one picture (the viewport grows to
    the page's height: Streamlit scrolls inside its main section, not the document). Presentation
    mode: screen by screen as a projector shows it (its panels are sized to the screen)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    out: list[Path] = []
    if not presentation:
        height = min(main_scroll_height(page), 16_000)
        if height > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": height})
            page.wait_for_timeout(400)
            page.wait_for_function(CHARTS_DRAWN)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        out.append(path)
        WRITTEN.append(path)
        page.set_viewport_size(size)
        page.wait_for_timeout(200)
        return out
    total = main_scroll_height(page)
    screens = min(max(1, -(-total // size["height"])), 6)
    for i in range(screens):
        page.evaluate(f"""() => {{ const m = document.querySelector('[data-testid="stMain"]');
                                  if (m) m.scrollTop = {i * size['height']}; }}""")
        page.wait_for_timeout(150)
        path = SCREENSHOTS / f"{name}-{i + 1}.png"
        page.screenshot(path=str(path))
        out.append(path)
        WRITTEN.append(path)
    page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]'); if (m) m.scrollTop = 0; }""")
    return out


# --- axe-core -----------------------------------------------------------------------------------------

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Findings of axe that are not barriers, each with the rule, a precise selector and why. Only these
# nodes are dropped from the results; everything else on the element is still checked.
AXE_IGNORE: list[tuple[str, str, str]] = [
    # app.py replaces Streamlit's English "Upload" with "Välj fil" through CSS generated content
    # (::after). Chromium's accessibility tree names the button "Välj fil" (checked by
    # unlabelled_controls below, which asks the browser itself); axe-core does not read generated
    # content and so reports a button without a name.
    ("button-name", '[data-testid="stFileUploaderDropzone"] button[data-testid="stBaseButton-secondary"]',
     "named by CSS generated content, which axe-core ignores"),
]


def inject_axe(page: Page) -> None:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))


def run_axe(page: Page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, less the AXE_IGNORE nodes."""
    inject_axe(page)
    return page.evaluate(
        """async ([tags, ignore]) => {
             const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
                                                elementRef: true});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.filter(n => !ignore.some(([rule, sel]) => rule === v.id && n.element
                                                                      && n.element.matches(sel)))
                 .map(n => ({target: n.target.join(' '), html: n.html.slice(0, 300), summary: n.failureSummary}))}))
               .filter(v => v.nodes.length > 0);
           }""",
        [WCAG_TAGS, [[rule, sel] for rule, sel, _why in AXE_IGNORE]],
    )


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for n in v["nodes"][:5]:
            lines.append(f"    {n['target']}  {n['html'][:160]}")
            if n.get("summary"):
                lines.append("      " + n["summary"].replace("\n", " ")[:300])
    return "\n".join(lines)


# --- labels -------------------------------------------------------------------------------------------

# Controls a user operates. Not "grid": st.dataframe's table (glide-data-grid) has no name and Streamlit
# offers no parameter for one; the heading and caption above each table say what it holds.
INTERACTIVE_ROLES = {"button", "link", "textbox", "searchbox", "combobox", "checkbox", "switch", "radio",
                     "slider", "spinbutton", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "option",
                     "listbox"}


def unlabelled_controls(page: Page) -> list[str]:
    """Every control in Chromium's accessibility tree (what a screen reader gets) has a name."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Accessibility.enable")
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        out = []
        for n in nodes:
            if n.get("ignored"):
                continue
            role = (n.get("role") or {}).get("value", "")
            name = ((n.get("name") or {}).get("value") or "").strip()
            if role in INTERACTIVE_ROLES and not name:
                html = ""
                if n.get("backendDOMNodeId"):
                    obj = cdp.send("DOM.resolveNode", {"backendNodeId": n["backendDOMNodeId"]})["object"]
                    html = cdp.send("Runtime.callFunctionOn", {
                        "objectId": obj["objectId"], "returnByValue": True,
                        "functionDeclaration": "function() { return (this.outerHTML || '').slice(0, 200); }",
                    })["result"].get("value", "")
                out.append(f"{role}: {html}")
        return out
    finally:
        cdp.detach()


# --- keyboard -------------------------------------------------------------------------------------------

TABBABLE = """() => {
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  return [...document.querySelectorAll(sel)].filter(el =>
      el.tabIndex >= 0 && !el.disabled && !el.closest('[inert], [aria-hidden="true"]')
      && el.checkVisibility({visibilityProperty: true, opacityProperty: false}))
    .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0
                    || getComputedStyle(el).opacity === '0'; });
}"""

FOCUS_STYLE = """(el) => {
  const parts = [];
  let e = el;
  for (let i = 0; e && i < 4; i++, e = e.parentElement) {
    const s = getComputedStyle(e);
    parts.push([s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor,
                s.backgroundColor, s.textDecorationLine].join('|'));
  }
  return parts.join(' / ');
}"""


WALK_INIT = f"""() => {{
  window.__walk = window.__walk || []; window.__walkLast = null; window.__walkSame = 0;
  const s = document.createElement('span'); s.id = 'amn-walk-start'; s.tabIndex = -1;
  document.body.prepend(s); s.focus();
  window.__walkListener = e => {{
    if (e.key !== 'Tab') return;
    const el = document.activeElement;
    if (!el || el === document.body || el.id === 'amn-walk-start') {{ window.__walkDone = true; return; }}
    if (!window.__walk.includes(el)) {{ window.__walk.push(el); el.__focusStyle = ({FOCUS_STYLE})(el); }}
    window.__walkSame = el === window.__walkLast ? window.__walkSame + 1 : 0;
    window.__walkLast = el;
  }};
  window.__walkDone = false;
  document.addEventListener('keyup', window.__walkListener, true);
}}"""


def tab_walk(page: Page, extra: int = 300, trap: int = 60, batch: int = 20) -> dict:
    """Press Tab through the whole page from the top. Returns the tabbable elements never reached,
    the elements reached that show no visible focus indicator, and whether focus got trapped.

    A data grid (st.dataframe) takes Tab for its own cells before letting focus go on, so focus may
    stay on one element for a few presses; `trap` presses in a row on one element is a trap. The
    grid draws its focus (the selected cell) inside its canvas, so canvases, and the cells of the
    grid's hidden accessibility table that sometimes hold the focus instead, are not checked for a
    CSS focus indicator. A grid that redraws while it has the focus can drop it to the page (the
    walk would then end early): when something was not reached, the walk is done once more and
    what either walk reached counts."""
    # no transitions: the focus style is read as soon as the focus moves
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; animation: none !important; }")
    page.evaluate("() => { window.__walk = []; }")
    trapped = False
    for _attempt in range(2):
        page.evaluate(WALK_INIT)
        n = page.evaluate(f"({TABBABLE})().length")
        for _ in range(0, n + extra, batch):
            for _ in range(batch):
                page.keyboard.press("Tab")
            done, same = page.evaluate("() => [window.__walkDone, window.__walkSame]")
            if done:
                break  # focus left the page after its last control: the walk is complete
            if same >= trap:
                trapped = True
                break
        page.evaluate("""() => { document.removeEventListener('keyup', window.__walkListener, true);
                                 document.activeElement && document.activeElement.blur();
                                 const s = document.getElementById('amn-walk-start'); if (s) s.remove(); }""")
        missing = page.evaluate(f"() => ({TABBABLE})().filter(el => !window.__walk.includes(el)).length")
        if trapped or not missing:
            break
    page.wait_for_timeout(150)
    result = page.evaluate(f"""() => {{
      const tabbable = ({TABBABLE})();
      const walk = window.__walk;
      const label = el => el.tagName.toLowerCase()
        + (el.getAttribute('role') ? `[role=${{el.getAttribute('role')}}]` : '')
        + ` "${{(el.getAttribute('aria-label') || el.innerText || el.value || '').trim().slice(0, 50)}}"`;
      const unreached = tabbable.filter(el => !walk.includes(el)).map(label);
      // a grid cell of st.dataframe's accessibility table: the grid draws the focused cell on its canvas
      const gridCell = el => el.getAttribute('role') === 'gridcell' && el.closest('[data-testid="stDataFrame"]');
      const noIndicator = walk.filter(el => el.isConnected && el.tagName !== 'CANVAS' && !gridCell(el)
                                       && el.__focusStyle !== undefined
                                       && el.__focusStyle === ({FOCUS_STYLE})(el)).map(label);
      return {{reached: walk.length, tabbable: tabbable.length, unreached, noIndicator, done: window.__walkDone}};
    }}""")
    result["stuck"] = trapped
    return result


CLIPPED = """() => [
  ...[...document.querySelectorAll('[data-testid="stMain"] *, [data-testid="stSidebar"] *')]
    .filter(e => { const s = getComputedStyle(e);
                   return s.textOverflow === 'ellipsis' && s.overflow !== 'visible' && e.scrollWidth > e.clientWidth + 1
                          && e.checkVisibility() && e.innerText.trim(); })
    .map(e => (e.getAttribute('data-testid') || e.tagName.toLowerCase()) + ': ' + e.innerText.trim().slice(0, 80)),
  // Vega shortens axis and legend labels longer than their labelLimit with an ellipsis
  ...[...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks text')]
    .filter(t => t.textContent.trim().endsWith('\u2026'))
    .map(t => 'chart label: ' + t.textContent.trim())]"""


def clipped_texts(page: Page) -> list[str]:
    """Texts cut off with an ellipsis (a label the reader cannot finish), on the page and in charts."""
    return page.evaluate(CLIPPED)


CHART_TEXT_CONTRAST = """() => {
  const rgb = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
                     const p = m[1].split(',').map(Number); return p.length > 3 && p[3] === 0 ? null : p.slice(0, 3); };
  const lum = c => { const l = c.map(v => { v /= 255;
                                            return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const out = [];
  for (const svg of document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks')) {
    const chart = svg.closest('[data-testid="stVegaLiteChart"]').getAttribute('aria-label') || '';
    const background = rgb(getComputedStyle(svg).backgroundColor) || [255, 255, 255];
    for (const t of svg.querySelectorAll('text')) {
      const s = getComputedStyle(t);
      const fg = rgb(s.fill);
      if (!t.textContent.trim() || !fg || s.opacity === '0' || s.visibility === 'hidden') continue;
      let r = t.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.top < 0 || r.bottom > innerHeight || r.left < 0 || r.right > innerWidth) {
        t.scrollIntoView({block: 'center', inline: 'center'});  // what is under it is found on screen only
        r = t.getBoundingClientRect();
      }
      const old = t.style.pointerEvents; t.style.pointerEvents = 'none';
      const under = document.elementsFromPoint(r.left + r.width / 2, r.top + r.height / 2)
        .find(e => e.closest('svg') === svg && ['path', 'rect', 'circle', 'ellipse', 'polygon'].includes(e.tagName)
                   && rgb(getComputedStyle(e).fill));
      t.style.pointerEvents = old;
      const bg = under ? rgb(getComputedStyle(under).fill) : background;
      const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      const c = ratio(fg, bg);
      if (c < need) out.push(`${t.textContent.trim()} (${s.fill} on rgb(${bg.join(', ')}): ${c.toFixed(2)}:1, `
                             + `needs ${need}:1) in "${chart.slice(0, 60)}"`);
    }
  }
  return out;
}"""


def chart_text_contrast(page: Page) -> list[str]:
    """Text drawn in the charts (labels on bars and map areas, axes, legends) against what is
    under it: 4.5:1, or 3:1 for large text (WCAG 1.4.3)."""
    return page.evaluate(CHART_TEXT_CONTRAST)


def compact(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1)
