#!/usr/bin/env bash
# Regenerates testdata/chroma-demo (a persist directory written by a real
# Chroma server) and testdata/chroma-demo.expected.json (the counts Chroma's
# API reported for it). Records are deterministic; UUIDs and timestamps are not.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

CHROMA_BIN="${CHROMA_BIN:-$(scripts/install-chroma.sh)}"
export CHROMA_BIN

go run ./internal/chromatest/cmd/gendemo \
  -out testdata/chroma-demo \
  -expected testdata/chroma-demo.expected.json
