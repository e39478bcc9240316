#!/usr/bin/env bash
# Installs Azurite, Microsoft's Azure Storage emulator (npm), into
# $REPO/.tools/azurite for the Azure Blob backend's tests and prints the path
# of its `azurite-blob` binary. Idempotent: does nothing when the pinned
# version is already there.
set -euo pipefail

AZURITE_VERSION="3.37.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${repo}/.tools/azurite"
bin="${dir}/node_modules/.bin/azurite-blob"

installed() {
  [[ -x "$bin" ]] &&
    grep -Eq "\"version\": *\"${AZURITE_VERSION}\"" "${dir}/node_modules/azurite/package.json" 2>/dev/null
}

if ! installed; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-azurite: npm is required (Node.js 20+)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  echo "install-azurite: installing azurite@${AZURITE_VERSION} into ${dir}" >&2
  npm install --prefix "$dir" --save-exact --no-audit --no-fund --loglevel=error \
    "azurite@${AZURITE_VERSION}" >&2
fi

if ! installed; then
  echo "install-azurite: ${bin} missing after npm install" >&2
  exit 1
fi

echo "$bin"
