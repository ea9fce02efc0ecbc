#!/usr/bin/env bash
# Setup step: Debian's podman, buildah, runc and debootstrap for `make image` and the container tests
# (tests/image/). Idempotent and quiet when they are there; a clear message (and exit 0, so
# `make setup` goes on) when they cannot be installed — the container tests then skip with that reason.
# The runtime settings of this host (runc, ulimits) are in .ci/containers.conf (CONTAINERS_CONF), not
# in the system's containers.conf.
set -uo pipefail
# shellcheck source=.ci/lib/apt-install.sh
source "$(dirname "$0")/../lib/apt-install.sh"

for tool in podman buildah runc debootstrap; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        apt_install_or_explain "make image and the container tests need them; those tests will be skipped" \
            podman buildah runc debootstrap
        break
    fi
done
exit 0
