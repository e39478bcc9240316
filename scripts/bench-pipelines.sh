#!/usr/bin/env bash
# Overload figures of the shipped configuration (BENCHMARKS.md "Pipelines:
# memory under overload"): builds the binary and runs TestOverloadPlateau,
# a bounded load generator on 127.0.0.1 that stops by itself after
# OVERLOAD_SECONDS. GOMEMLIMIT, OVERLOAD_SENDERS and OVERLOAD_SECONDS change
# the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CGO_ENABLED=1
go build -trimpath -o bin/otelcol-chroma ./cmd/otelcol-chroma
OVERLOAD_BENCH=1 OTELCOL_CHROMA_BIN="$root/bin/otelcol-chroma" \
  go test -count=1 -v -timeout 10m -run '^TestOverloadPlateau$' ./cmd/otelcol-chroma/ |
  grep -E 'GOMEMLIMIT=|^(--- |ok|FAIL)'
