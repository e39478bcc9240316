#!/usr/bin/env bash
# Reproduces every generated file: the OCB sources of cmd/otelcol-chroma and the
# mdatagen output of each component. `make generate` runs it; CI checks that the
# committed copy matches.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools="$root/.tools/bin"
out="$root/.tools/ocb-out"

rm -rf "$out"
"$tools/builder" --config builder-config.yaml --skip-compilation --skip-get-modules >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
for f in main.go main_others.go main_windows.go components.go; do
  cp "$out/$f" "cmd/otelcol-chroma/$f"
done
# The distribution adds operator subcommands and an embedded default config to
# the collector's command: route the generated main through newCommand.
sed -i 's/cmd := otelcol.NewCommand(params)/cmd := newCommand(params)/' cmd/otelcol-chroma/main.go
# Exit codes tell a failed operation (1) from a wrong command line (2).
sed -i 's/\t\tos.Exit(1)$/\t\tos.Exit(exitCode(err))/' cmd/otelcol-chroma/main.go
grep -q 'cmd := newCommand(params)' cmd/otelcol-chroma/main.go && grep -q 'os.Exit(exitCode(err))' cmd/otelcol-chroma/main.go || {
  echo "generate: the OCB main.go no longer has the lines to patch; update scripts/generate.sh" >&2
  exit 1
}
gofmt -w cmd/otelcol-chroma/main.go cmd/otelcol-chroma/main_others.go cmd/otelcol-chroma/main_windows.go cmd/otelcol-chroma/components.go

for meta in receiver/*/metadata.yaml processor/*/metadata.yaml exporter/*/metadata.yaml extension/*/metadata.yaml; do
  [ -f "$meta" ] || continue
  (cd "$(dirname "$meta")" && "$tools/mdatagen" metadata.yaml)
done
