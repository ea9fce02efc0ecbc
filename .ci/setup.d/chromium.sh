#!/usr/bin/env bash
# Setup step: install Debian's chromium for the headless browser test (tests/dashboard/test_browser.py).
# Idempotent and quiet when chromium is already there; a clear message (and exit 0, so `make setup`
# goes on) when it cannot be installed — the browser test then skips with that reason.
set -uo pipefail

CHROMIUM="${EF_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: chromium is missing and apt-get is not available; install chromium yourself" \
        "(the browser test will be skipped)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "setup: chromium is missing and installing it needs root (apt-get install -y chromium);" \
            "the browser test will be skipped" >&2
        exit 0
    fi
fi

echo "setup: installing Debian's chromium for the browser test (apt-get install -y chromium) ..." >&2
log="$(mktemp)"
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
        >>"$log" 2>&1; then
    echo "setup: chromium installed: $(chromium --version 2>/dev/null || echo "$CHROMIUM")" >&2
    rm -f "$log"
else
    echo "setup: could not install chromium (see the apt-get output below); the browser test will be skipped" >&2
    tail -n 20 "$log" >&2
    rm -f "$log"
fi
exit 0
