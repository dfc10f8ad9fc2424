"""Browser tests: the app started on a free localhost port against a private copy of the data,
driven by Playwright in Debian's Chromium (never a browser Playwright downloads).

What they need is installed by scripts/install_test_deps.sh (`make test` runs it). When something
is missing they fail in CI (CI=true) and skip with the reason elsewhere."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser_helpers import AXE_JS, PROJECT, SCREENSHOTS, WRITTEN, new_page, open_page

CHROMIUM = Path(os.environ.get("AMNSTATS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: end-to-end test in Chromium (tests/browser); needs "
                                       "scripts/install_test_deps.sh")


def pytest_terminal_summary(terminalreporter):
    if WRITTEN:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{len(WRITTEN)} screenshots of the pages (look at them): {SCREENSHOTS}")


def _missing() -> list[str]:
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or run "
                       "scripts/install_test_deps.sh as root)")
    if not AXE_JS.is_file():
        missing.append(f"axe-core not installed ({AXE_JS}; run: npm ci)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package is not installed (pip install -r requirements.txt)")
    return missing


@pytest.fixture(scope="session")
def browser_requirements() -> None:
    missing = _missing()
    if missing:
        reason = "browser tests need: " + "; ".join(missing)
        if IN_CI:
            pytest.fail(reason + " (CI=true: a missing browser is a failure, not a skip)", pytrace=False)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class App:
    def __init__(self, base: str, data_dir: Path, proc: subprocess.Popen, log: Path):
        self.base, self.data_dir, self.proc, self.log = base, data_dir, proc, log

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"the Streamlit server stopped (exit {self.proc.returncode}):\n{self.log_tail()}",
                        pytrace=False)


@pytest.fixture(scope="session")
def app(browser_requirements, tmp_path_factory) -> App:
    """`streamlit run app.py` on a free port, with AMNSTATS_DATA_DIR a copy of data/raw and an empty
    processed folder: uploads in the tests never touch the project's data (data/geo is read from the
    project)."""
    root = tmp_path_factory.mktemp("browser-app")
    data = root / "data"
    shutil.copytree(PROJECT / "data" / "raw", data / "raw", ignore=shutil.ignore_patterns("uploads"))
    (data / "processed").mkdir()
    env = {**os.environ, "AMNSTATS_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("AMNSTATS_READ_ONLY", None)  # the upload page must be there
    build = subprocess.run([sys.executable, "-m", "amnstats", "build"], cwd=PROJECT, env=env,
                           capture_output=True, text=True, timeout=600)
    if build.returncode:
        pytest.fail(f"amnstats build failed:\n{build.stdout}\n{build.stderr}", pytrace=False)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = root / "streamlit.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    server = App(base, data, proc, log)
    try:
        deadline = time.monotonic() + 90
        while not _healthy(base):
            server.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"Streamlit did not answer /_stcore/health within 90 s:\n{server.log_tail()}",
                            pytrace=False)
            time.sleep(0.3)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


class _Chromium:
    """Playwright and Chromium, started by the first browser test and stopped after the last one.

    Not a session fixture: Playwright's sync API leaves its asyncio loop marked as running while it
    is started, and later tests in the same process that call asyncio.run() would fail."""
    playwright = None
    browser = None

    @classmethod
    def get(cls):
        if cls.browser is None:
            from playwright.sync_api import sync_playwright

            for old in SCREENSHOTS.glob("*.png") if not WRITTEN else ():  # only this run's pictures
                old.unlink()
            cls.playwright = sync_playwright().start()
            cls.browser = cls.playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                         args=CHROMIUM_ARGS)
        return cls.browser

    @classmethod
    def stop(cls):
        if cls.browser is not None:
            try:
                cls.browser.close()
            finally:
                cls.playwright.stop()
                cls.browser = cls.playwright = None


@pytest.fixture
def browser(browser_requirements):
    return _Chromium.get()


@pytest.hookimpl(trylast=True)  # after the test's own fixtures (its browser context) are torn down
def pytest_runtest_teardown(item, nextitem):
    if nextitem is None or "browser" not in nextitem.fixturenames:
        _Chromium.stop()


def pytest_sessionfinish(session):
    _Chromium.stop()


@pytest.fixture(scope="session")
def warm_app(app, browser_requirements) -> App:
    """One visit to the start page before the tests: the first session on a fresh server registers
    the navigation (see amnstats/ui/frame.py), so every test sees the app as users do after that."""
    page = new_page(_Chromium.get())
    try:
        open_page(page, app.base, "")
    finally:
        page.context.close()
    return app


@pytest.fixture
def page(browser, warm_app):
    """A fresh browser context, so a fresh Streamlit session."""
    p = new_page(browser)
    yield p
    p.context.close()
    warm_app.check_alive()
