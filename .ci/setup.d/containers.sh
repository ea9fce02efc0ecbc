#!/usr/bin/env bash
# Setup step: Debian's podman, buildah, runc and debootstrap for `make image` and the container tests
# (tests/image/). Idempotent and quiet when they are there; a clear message (and exit 0, so
# `make setup` goes on) when they cannot be installed — the container tests then skip with that reason.
# The runtime settings of this host (runc, ulimits) are in .ci/containers.conf (CONTAINERS_CONF), not
# in the system's containers.conf.
set -uo pipefail

PACKAGES=(podman buildah runc debootstrap)
missing=()
for tool in podman buildah runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: ${missing[*]} missing and apt-get is not available; install them yourself" \
        "(make image and the container tests need them; the tests will be skipped)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "setup: ${missing[*]} missing and installing them needs root" \
            "(apt-get install -y ${PACKAGES[*]}); the container tests will be skipped" >&2
        exit 0
    fi
fi

echo "setup: installing ${PACKAGES[*]} for make image and the container tests ..." >&2
log="$(mktemp)"
install() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >>"$log" 2>&1; }
if install || { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$log" 2>&1 && install; }; then
    echo "setup: $(podman --version 2>/dev/null || echo podman), $(buildah --version 2>/dev/null | cut -d' ' -f1-3)" >&2
else
    echo "setup: could not install ${PACKAGES[*]} (apt-get output below); the container tests will be skipped" >&2
    tail -n 20 "$log" >&2
fi
rm -f "$log"
exit 0
