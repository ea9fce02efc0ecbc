#!/usr/bin/env bash
# Sourced by the setup steps (.ci/setup.d/) that install Debian packages for tests:
#   apt_install_or_explain "<what needs them, the consequence>" PACKAGE...
# Installs with apt-get (as root, or with passwordless sudo); when it cannot, says why on stderr and
# returns 0, so `make setup` goes on and the tests that need the packages skip with that reason.

apt_install_or_explain() {
    local why="$1"
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: $* missing and apt-get is not available; install them yourself ($why)" >&2
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "setup: $* missing and installing them needs root (apt-get install -y $*; $why)" >&2
            return 0
        fi
    fi
    echo "setup: installing $* (apt-get install -y $*) ..." >&2
    local log
    log="$(mktemp)"
    if $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$log" 2>&1 \
        || { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$log" 2>&1 \
            && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$log" 2>&1; }; then
        echo "setup: installed $*" >&2
    else
        echo "setup: could not install $* (apt-get output below; $why)" >&2
        tail -n 20 "$log" >&2
    fi
    rm -f "$log"
    return 0
}
