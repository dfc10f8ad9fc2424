#!/usr/bin/env bash
# What the tests need beyond the Python packages in requirements.txt:
#   - Debian's Chromium at /usr/bin/chromium (Playwright drives it in tests/browser; it never downloads a
#     browser of its own) and a font so text renders;
#   - from npm, pinned in package.json / package-lock.json: axe-core (node_modules/axe-core, injected into
#     each page by tests/browser) and Azurite (node_modules/.bin/azurite-blob, the Azure Storage emulator
#     tests/test_storage.py publishes the abfs:// store to).
# Idempotent and quick when everything is there. Called by `make test`.
# Missing pieces are a failure in CI (CI=true) and a clear message elsewhere: the browser tests then skip
# with the same reason.
set -uo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${AMNSTATS_CHROMIUM:-/usr/bin/chromium}"
IN_CI=false
[ "${CI:-}" = "true" ] && IN_CI=true
missing=()

say() { echo "install_browser_deps: $*"; }

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Chromium and fonts from Debian packages"
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
                chromium chromium-driver fonts-dejavu-core >/dev/null; }; then
            say "apt-get install chromium failed"
        fi
    else
        say "Chromium is missing at $CHROMIUM and this user cannot install it."
        say "Install it as root:  apt-get install chromium chromium-driver fonts-dejavu-core"
    fi
    [ -x "$CHROMIUM" ] || missing+=("chromium ($CHROMIUM)")
fi
if [ -x "$CHROMIUM" ] && ! fc-list 2>/dev/null | grep -qi dejavu; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        say "installing fonts-dejavu-core"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null \
            || say "apt-get install fonts-dejavu-core failed"
    fi
fi

# npm ci when axe-core or Azurite is missing or package-lock.json changed since the last install
if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -x node_modules/.bin/azurite-blob ] \
        || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    if command -v npm >/dev/null 2>&1; then
        say "npm ci (axe-core, azurite)"
        npm ci --no-audit --no-fund --loglevel=error || say "npm ci failed"
    elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        say "installing npm from Debian packages, then npm ci (axe-core, azurite)"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends npm >/dev/null; } \
            || say "apt-get install npm failed"
        command -v npm >/dev/null 2>&1 && { npm ci --no-audit --no-fund --loglevel=error || say "npm ci failed"; }
    else
        say "npm is missing: install Node.js and npm, then run: npm ci"
    fi
    [ -f node_modules/axe-core/axe.min.js ] || missing+=("axe-core (node_modules/axe-core)")
    [ -x node_modules/.bin/azurite-blob ] || missing+=("azurite (node_modules/.bin/azurite-blob)")
fi

if [ ${#missing[@]} -gt 0 ]; then
    say "missing: ${missing[*]}"
    if $IN_CI; then
        say "CI=true: the browser or storage tests cannot run, failing."
        exit 1
    fi
    say "the tests that need them will be skipped (they fail when CI=true)."
fi
exit 0
