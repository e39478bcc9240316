#!/usr/bin/env bash
# Side-by-side benchmark of the scrub processor, the contrib redaction
# processor (v0.161.0, closest equivalent configuration) and a no-op floor that
# only visits every attribute, on the Chroma telemetry corpus and on synthetic
# spans, logs and metrics. One `go test -bench` run measures all of them on the
# same inputs; this script prints the raw output and a table of medians.
#
#   scripts/bench-scrub.sh
#
# Environment: COUNT (runs per benchmark, median reported; default 5),
# BENCHTIME (go test -benchtime; default 1s), OUT (raw output file; default
# .scratch/bench-scrub.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
OUT=${OUT:-$ROOT/.scratch/bench-scrub.txt}
mkdir -p "$(dirname "$OUT")"

cd "$ROOT"
cmd=(go test -run '^$' -bench '^BenchmarkScrub$' -benchmem -count "$COUNT" -benchtime "$BENCHTIME" ./processor/scrubprocessor)
echo "# ${cmd[*]}" | tee "$OUT"
"${cmd[@]}" | tee -a "$OUT"

# Median of each figure per benchmark, then scrub and the floor against contrib.
awk '
function median(key,    n, i, j, t, a) {
  n = cnt[key]
  for (i = 1; i <= n; i++) a[i] = val[key, i]
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^BenchmarkScrub\// {
  name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkScrub\//, "", name)
  if (!(name in seen)) { seen[name] = 1; order[++names] = name }
  for (i = 3; i < NF; i += 2) { key = name SUBSEP $(i + 1); cnt[key]++; val[key, cnt[key]] = $i }
}
END {
  print ""
  print "| input | mode | implementation | ns/op | B/op | allocs/op | items/op | items/s | allocs/item | throughput vs contrib |"
  print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for (k = 1; k <= names; k++) {
    name = order[k]; split(name, p, "/")
    base = p[1] "/" p[2] "/contrib"
    ns = median(name SUBSEP "ns/op"); items = median(name SUBSEP "items/op")
    allocs = median(name SUBSEP "allocs/op")
    ratio = median(base SUBSEP "ns/op") / ns
    printf "| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.1fx |\n", \
      p[1], p[2], p[3], ns, median(name SUBSEP "B/op"), allocs, items, median(name SUBSEP "items/s"), allocs / items, ratio
  }
}' "$OUT"
