#!/usr/bin/env bash
# Side-by-side benchmark: otelcol-chroma snapshots (unencrypted and
# encrypted) against restic, on generated Chroma persist directories.
#
#   scripts/bench-snapshot.sh [SIZE...]        default: 512MiB 2GiB
#
# Environment:
#   VECTORS    vector content, one or more of: unit (normalized Gaussian
#              floats, like sentence embeddings; zstd saves ~8%), random
#              (random bits: incompressible). Default: unit.
#   REPEAT     runs per size and data kind, median reported (default 3)
#   SEED       generator seed (default 42)
#   MUTATE     percent of 1 MiB blocks changed before the incremental (1)
#   RACY_WAIT  seconds between the change and the incremental (3): the
#              engine reads a file modified less than 2 s before twice
#   REPORT     where the report goes (default scripts/bench-snapshot.md)
#   DATA       generated (default), or real: a persist directory filled and
#              changed through a real Chroma server's API, see
#              scripts/bench-snapshot-real.sh (DATA=real runs it)
#
# For each data kind and size: one generated persist directory; per tool and
# run a fresh copy of it, a full backup, the same deterministic change
# (chromagen -mutate with the same seed, checked identical across tools),
# an incremental backup, and a restore compared file by file (content, size,
# mode, mtime) with the source. The page cache is warm for every command
# (its input is read just before) and dirty data is flushed before timing.
# Wall time, CPU time and peak RSS come from GNU time. A `sync` right after
# each restore is timed too: restic does not fsync what it restores, ours
# does. Everything runs under .scratch/bench, which is emptied at the start
# and whose large data is removed at the end; the report goes to
# scripts/bench-snapshot.md (a section starting with "<!-- notes -->" in an
# existing report is kept).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
case ${DATA:-generated} in
generated) ;;
real) exec "$ROOT/scripts/bench-snapshot-real.sh" "$@" ;;
*) echo "bench: DATA: unknown kind $DATA (generated, real)" >&2 && exit 1 ;;
esac
SCRATCH=$ROOT/.scratch/bench
REPORT=${REPORT:-$ROOT/scripts/bench-snapshot.md}
REPEAT=${REPEAT:-3}
SEED=${SEED:-42}
MUTATE=${MUTATE:-1}
RACY_WAIT=${RACY_WAIT:-3}
VECTORS=${VECTORS:-unit}
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
TOOLS=(restic ours ours-enc)
if [ $# -gt 0 ]; then SIZES=("$@"); else SIZES=(512MiB 2GiB); fi
read -r -a KINDS <<<"$VECTORS"
COMMAND="scripts/bench-snapshot.sh ${SIZES[*]}"
[ "$VECTORS" != unit ] && COMMAND="VECTORS='$VECTORS' $COMMAND"
[ "$REPEAT" != 3 ] && COMMAND="REPEAT=$REPEAT $COMMAND"
[ "$SEED" != 42 ] && COMMAND="SEED=$SEED $COMMAND"
[ "$MUTATE" != 1 ] && COMMAND="MUTATE=$MUTATE $COMMAND"
[ "$RACY_WAIT" != 3 ] && COMMAND="RACY_WAIT=$RACY_WAIT $COMMAND"
[ "$REPORT" != "$ROOT/scripts/bench-snapshot.md" ] && COMMAND="REPORT=${REPORT#"$ROOT"/} $COMMAND"

# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"

require_tools restic go jq sha256sum timeout numfmt
for k in "${KINDS[@]}"; do
	case $k in unit | random) ;; *) die "VECTORS: unknown kind $k (unit, random)" ;; esac
done

cd "$ROOT"
# Free space needed: the pristine copy, one working copy, one repository,
# one restore and the SQLite scratch copy, plus slack.
max_bytes=0
for s in "${SIZES[@]}"; do
	b=$(numfmt --from=iec-i "${s%B}" 2>/dev/null || numfmt --from=iec "${s%B}") || die "size $s: use e.g. 512MiB or 2GiB"
	[ "$b" -gt "$max_bytes" ] && max_bytes=$b
done
need=$((max_bytes * 5 + (2 << 30)))

cleanup() { rm -rf "$SCRATCH/data" "$SCRATCH/bin"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

reset_scratch
require_free "$need"

build_ours
go build -o "$SCRATCH/bin/chromagen" ./scripts/chromagen
GEN=$SCRATCH/bin/chromagen

export RESTIC_PASSWORD=bench-password
export RESTIC_CACHE_DIR=$SCRATCH/data/restic-cache

# run_tool TOOL DIR KIND: one full / incremental / restore cycle.
run_tool() {
	local tool=$1 dir=$2 kind=$3
	local work=$dir/$tool/persist repo=$dir/$tool/repo target=$dir/$tool/restore
	local keys=() rkeys=()
	rm -rf "${dir:?}/$tool"
	mkdir -p "$dir/$tool" "$repo"
	cp -a "$dir/pristine" "$work"
	case $tool in
	restic)
		export RESTIC_REPOSITORY=$repo
		restic init --repository-version 2 -q >/dev/null
		;;
	ours-enc)
		"$OURS" snapshot keygen --writer-key "$dir/$tool/writer.key" --reader-key "$dir/$tool/reader.key" >/dev/null
		keys=(--writer-key "$dir/$tool/writer.key")
		rkeys=(--reader-key "$dir/$tool/reader.key")
		;;
	esac
	local snap=("$OURS" snapshot now --bucket "file://$repo" --persist-directory "$work" --scratch-directory "$dir/$tool" "${keys[@]}")

	warm "$work"
	if [ "$tool" = restic ]; then
		(cd "$work" && timed "$tool.full" restic backup --host bench .)
	else
		timed "$tool.full" "${snap[@]}"
	fi
	local full_repo
	full_repo=$(repo_bytes "$repo")

	local changed
	changed=$("$GEN" -dir "$work" -mutate "$MUTATE" -seed "$SEED" -vectors "$kind" 2>>"$RUN/mutate.err")
	tree_sums "$work" | awk '{print $1, $2, $5}' >"$RUN/$tool.mutated"
	if [ -f "$RUN/reference.mutated" ]; then
		cmp -s "$RUN/reference.mutated" "$RUN/$tool.mutated" || die "$tool: mutated data differs from the other tools' (see $RUN)"
	else
		cp "$RUN/$tool.mutated" "$RUN/reference.mutated"
	fi
	sleep "$RACY_WAIT"
	warm "$work"
	local before after added_cli=-
	before=$(repo_bytes "$repo")
	if [ "$tool" = restic ]; then
		(cd "$work" && timed "$tool.incremental" restic backup --host bench .)
	else
		timed "$tool.incremental" "${snap[@]}"
	fi
	after=$(repo_bytes "$repo")
	if [ "$tool" != restic ]; then
		added_cli=$(ours_added "$repo" "${rkeys[@]}")
	fi

	timed_restore "$tool" "$repo" "$target" --full-check "${rkeys[@]}"
	local verdict
	verdict=$(restore_verdict "$tool" "$work" "$target")
	echo "$tool $changed $full_repo $((after - before)) $added_cli $verdict" >>"$RUN/bytes"

	# Restore again with the default database check, quick_check (restic:
	# its one restore).
	rm -rf "$target"
	if [ "$tool" = restic ]; then
		awk '$1 == "restic.restore" {$1 = "restic.restore-qc"; print}' "$RUN/times" >>"$RUN/times"
	else
		warm "$repo"
		timed "$tool.restore-qc" "$OURS" snapshot restore latest --quick-check --bucket "file://$repo" --to "$target" "${rkeys[@]}"
		tree_sums "$target" | cmp -s "$RUN/$tool.src" - || die "$tool: restore --quick-check differs from the source"
	fi
	rm -rf "${dir:?}/$tool"
}

{
	echo "# Snapshot benchmark: otelcol-chroma vs restic"
	echo
	echo "Generated by \`$COMMAND\`, started $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo
	machine_lines
	echo "- data: \`chromagen -size SIZE -seed $SEED -vectors KIND\`: testdata/chroma-demo plus 2 collections of dimension 384, ~20% chroma.sqlite3 (embeddings_queue, embeddings, embedding_metadata rows), the rest hnswlib files (data_level0.bin, link_lists.bin, length.bin, header.bin). KIND unit: normalized Gaussian vectors like sentence embeddings (zstd saves ~8%); random: random bits (incompressible)"
	echo "- change: \`chromagen -mutate $MUTATE -seed $SEED\`: one vector rewritten in each of $MUTATE% of the 1 MiB blocks (data_level0.bin in place; embeddings_queue rows by UPDATE), identical for every tool; $RACY_WAIT s pause before the incremental"
	echo "- each figure is the median of $REPEAT runs, tools interleaved within a run; warm page cache and no dirty pages before each timed command"
	echo "- restic: \`restic init --repository-version 2\` (compression auto), \`restic backup .\`, \`restic restore latest --target DIR\`; ours: \`otelcol-chroma snapshot now --bucket file://REPO --persist-directory DIR [--writer-key F]\`, \`snapshot restore latest --bucket file://REPO --to DIR [--reader-key F]\`"
	echo
} >"$SCRATCH/report.head"

TABLE=$SCRATCH/report.table
CHECKS=$SCRATCH/report.checks
{
	echo "| data | size | operation | restic s | ours s | ours-enc s | speedup ours / enc | CPU s restic / ours / enc | RSS MiB restic | RSS MiB ours | RSS MiB enc | changed bytes | added restic | added ours | added ours-enc | added / changed restic / ours / enc |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$TABLE"
: >"$CHECKS"
: >"$SCRATCH/loads"
: >"$SCRATCH/rss"

for kind in "${KINDS[@]}"; do
	for size in "${SIZES[@]}"; do
		dir=$SCRATCH/data/$kind-$size
		mkdir -p "$dir"
		log "$kind $size: generating"
		"$GEN" -dir "$dir/pristine" -size "$size" -seed "$SEED" -vectors "$kind" 2>"$SCRATCH/gen-$kind-$size.log"
		logical=$(du -sb "$dir/pristine" | cut -f1)
		echo "$kind $size start: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SCRATCH/loads"
		runs=$SCRATCH/runs/$kind-$size
		for r in $(seq 1 "$REPEAT"); do
			RUN=$runs/$r
			mkdir -p "$RUN"
			[ "$r" -gt 1 ] && cp "$runs/1/reference.mutated" "$RUN/"
			for tool in "${TOOLS[@]}"; do
				log "$kind $size run $r/$REPEAT: $tool (load $(cut -d' ' -f1-3 /proc/loadavg))"
				run_tool "$tool" "$dir" "$kind"
			done
		done
		echo "$kind $size end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SCRATCH/loads"
		rm -rf "$dir"

		t() { cat "$runs"/*/times | awk -v k="$1.$2" '$1 == k {print $2}' | median; }
		c() { cat "$runs"/*/times | awk -v k="$1.$2" '$1 == k {print $4 + $5}' | median; }
		m() { cat "$runs"/*/times | awk -v k="$1.$2" '$1 == k {printf "%.0f\n", $3 / 1024}' | median; }
		b() { cat "$runs"/*/bytes | awk -v k="$1" -v c="$2" '$1 == k {print $c}' | median; }
		changed=$(b restic 2)
		speed_line="" rss_line=""
		for op in full incremental restore restore+sync restore-qc; do
			rs=$(t restic "$op") os=$(t ours "$op") es=$(t ours-enc "$op")
			speed=$(awk -v r="$rs" -v o="$os" -v e="$es" 'BEGIN {printf "%.2fx / %.2fx", r / o, r / e}')
			row="| $kind | $size | $op | $rs | $os | $es | $speed | $(c restic "$op") / $(c ours "$op") / $(c ours-enc "$op") | $(m restic "$op") | $(m ours "$op") | $(m ours-enc "$op") |"
			case $op in
			full)
				row="$row logical $logical | repo $(b restic 3) | repo $(b ours 3) | repo $(b ours-enc 3) | - |"
				;;
			incremental)
				ar=$(b restic 4) ao=$(b ours 4) ae=$(b ours-enc 4)
				ratio=$(awk -v c="$changed" -v a="$ar" -v o="$ao" -v e="$ae" 'BEGIN {printf "%.2f / %.2f / %.2f", a / c, o / c, e / c}')
				row="$row $changed | $ar | $ao (cli $(b ours 5)) | $ae (cli $(b ours-enc 5)) | $ratio |"
				;;
			*)
				row="$row | | | | |"
				;;
			esac
			echo "$row" >>"$TABLE"
			so=$(awk -v r="$rs" -v v="$os" 'BEGIN {print (r / v >= 2)}')
			se=$(awk -v r="$rs" -v v="$es" 'BEGIN {print (r / v >= 2)}')
			speed_line="$speed_line; $op $(verdict "$so") / $(verdict "$se") ($speed)"
			if [ "$op" != restore+sync ] && [ "$op" != restore-qc ]; then
				mo=$(m ours "$op") me=$(m ours-enc "$op")
				rss_line="$rss_line; $op $(verdict $((mo <= 100))) / $(verdict $((me <= 100))) ($mo / $me MiB)"
				echo "$kind ours $op $size $mo" >>"$SCRATCH/rss"
				echo "$kind ours-enc $op $size $me" >>"$SCRATCH/rss"
			fi
		done
		echo "$kind $size, speed >= 2x restic (ours / enc): ${speed_line#; }" >>"$CHECKS"
		echo "$kind $size, peak RSS <= 100 MiB (ours / enc): ${rss_line#; }" >>"$CHECKS"
		ao=$(b ours 4) ae=$(b ours-enc 4)
		echo "$kind $size, incremental added <= 1.2x changed (ours / enc): $(verdict "$(awk -v a="$ao" -v c="$changed" 'BEGIN {print (a <= 1.2 * c)}')") / $(verdict "$(awk -v a="$ae" -v c="$changed" 'BEGIN {print (a <= 1.2 * c)}')") ($(awk -v a="$ao" -v e="$ae" -v c="$changed" 'BEGIN {printf "%.2fx / %.2fx", a / c, e / c}'))" >>"$CHECKS"
		echo "$kind $size, restore equals source: $(cat "$runs"/*/bytes | awk '{v = $6; for (i = 7; i <= NF; i++) v = v " " $i; print $1 " " v}' | sort -u | paste -sd, | sed 's/,/, /g')" >>"$CHECKS"
	done

	# RSS flat across sizes: within 10% (or 8 MiB) from smallest to largest.
	if [ "${#SIZES[@]}" -gt 1 ]; then
		first=${SIZES[0]} last=${SIZES[-1]} flat_line=""
		for op in full incremental restore; do
			cell="" vals=""
			for tool in ours ours-enc; do
				a=$(awk -v k="$kind" -v t=$tool -v o=$op -v s="$first" '$1 == k && $2 == t && $3 == o && $4 == s {print $5}' "$SCRATCH/rss")
				z=$(awk -v k="$kind" -v t=$tool -v o=$op -v s="$last" '$1 == k && $2 == t && $3 == o && $4 == s {print $5}' "$SCRATCH/rss")
				awk -v a="$a" -v z="$z" 'BEGIN {d = z - a; exit !(d <= 8 || d <= 0.1 * a)}' && ok=met || ok=MISSED
				cell="$cell / $ok" vals="$vals / $a -> $z"
			done
			flat_line="$flat_line; $op ${cell# / } (${vals# / } MiB)"
		done
		echo "$kind, peak RSS flat $first -> $last, within 10% or 8 MiB (ours / enc): ${flat_line#; }" >>"$CHECKS"
	fi
done

notes=$(report_notes "$REPORT")
{
	cat "$SCRATCH/report.head"
	cat "$TABLE"
	echo
	echo "Speedup: restic's wall time over ours (unencrypted / encrypted). CPU: user + system seconds. RSS: GNU time's peak resident set (for ours 32-50 MiB of it are pages of the 72 MB binary itself, more when the binary was just written). Added: growth of the repository folder (\`du -sb\`) during the incremental; \"cli\" is the snapshot's own added_bytes (\`snapshot list --json\`). Full rows show the repository size after the full backup. restore+sync: the restore plus a \`sync\` right after it (restic leaves what it restored unflushed; ours fsyncs every file before it returns). restore: ours with \`--full-check\` (PRAGMA integrity_check on the restored database); restore-qc: ours with \`--quick-check\` (PRAGMA quick_check, what a restore runs by default when the snapshot's capture passed integrity_check), against restic's one restore."
	echo
	echo "Load average (1, 5, 15 min) at the start and end of each size:"
	echo
	sed 's/^/- /' "$SCRATCH/loads"
	echo
	echo "Targets, checked per size (restore checks compare content, size, mode and mtime of every file with the source):"
	echo
	sed 's/^/- /' "$CHECKS"
	if [ -n "$notes" ]; then
		echo
		echo "$notes"
	fi
} >"$REPORT"
cat "$REPORT"
log "report written to $REPORT; raw figures in $SCRATCH/runs"
