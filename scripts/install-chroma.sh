#!/usr/bin/env bash
# Installs a real Chroma server (Rust core, shipped through npm) into
# $REPO/.tools/npm and prints the path of its `chroma` binary.
# Idempotent: does nothing when the binary is already there.
#
# The bindings are pinned: newer ones need glibc 2.38+.
set -euo pipefail

CHROMADB_VERSION="3.0.3"
BINDINGS_PACKAGE="chromadb-js-bindings-linux-x64-gnu"
BINDINGS_VERSION="1.0.1"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${repo}/.tools/npm"
bin="${dir}/node_modules/.bin/chroma"

has_version() {
  # has_version PACKAGE VERSION
  grep -Eq "\"version\": *\"$2\"" "${dir}/node_modules/$1/package.json" 2>/dev/null
}

installed() {
  [[ -x "$bin" ]] &&
    has_version chromadb "$CHROMADB_VERSION" &&
    has_version "$BINDINGS_PACKAGE" "$BINDINGS_VERSION"
}

if ! installed; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-chroma: npm is required (Node.js 20+)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  echo "install-chroma: installing chromadb@${CHROMADB_VERSION} and ${BINDINGS_PACKAGE}@${BINDINGS_VERSION} into ${dir}" >&2
  npm install --prefix "$dir" --save-exact --no-audit --no-fund --loglevel=error \
    "chromadb@${CHROMADB_VERSION}" "${BINDINGS_PACKAGE}@${BINDINGS_VERSION}" >&2
fi

if ! installed; then
  echo "install-chroma: ${bin} missing after npm install" >&2
  exit 1
fi

echo "$bin"
