#!/usr/bin/env bash
# What the browser tests (tests/browser) need beyond the Python packages in requirements.txt:
#   - Debian's Chromium at /usr/bin/chromium (Playwright drives it; it never downloads a browser of its own)
#     and a font so text renders;
#   - axe-core from npm (node_modules/axe-core), pinned in package.json / package-lock.json.
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

# npm ci when axe-core is missing or package-lock.json changed since the last install
if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    if command -v npm >/dev/null 2>&1; then
        say "npm ci (axe-core)"
        npm ci --no-audit --no-fund --loglevel=error || say "npm ci failed"
    elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        say "installing npm from Debian packages, then npm ci (axe-core)"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends npm >/dev/null; } \
            || say "apt-get install npm failed"
        command -v npm >/dev/null 2>&1 && { npm ci --no-audit --no-fund --loglevel=error || say "npm ci failed"; }
    else
        say "npm is missing: install Node.js and npm, then run: npm ci"
    fi
    [ -f node_modules/axe-core/axe.min.js ] || missing+=("axe-core (node_modules/axe-core)")
fi

if [ ${#missing[@]} -gt 0 ]; then
    say "missing: ${missing[*]}"
    if $IN_CI; then
        say "CI=true: the browser tests cannot run, failing."
        exit 1
    fi
    say "the browser tests will be skipped (they fail when CI=true)."
fi
exit 0
