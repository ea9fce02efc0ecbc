#!/usr/bin/env bash
# Setup step: install Debian's chromium for the headless browser test (tests/dashboard/test_browser.py).
# Idempotent and quiet when chromium is already there; a clear message (and exit 0, so `make setup`
# goes on) when it cannot be installed — the browser test then skips with that reason.
set -uo pipefail
# shellcheck source=.ci/lib/apt-install.sh
source "$(dirname "$0")/../lib/apt-install.sh"

CHROMIUM="${EF_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
apt_install_or_explain "the browser test will be skipped" chromium
exit 0
