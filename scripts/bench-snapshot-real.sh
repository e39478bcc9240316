#!/usr/bin/env bash
# Side-by-side benchmark on real Chroma data: otelcol-chroma snapshots
# (unencrypted and encrypted) against restic, on a persist directory filled
# and then changed through a real Chroma server's HTTP API.
#
#   scripts/bench-snapshot-real.sh          (or DATA=real scripts/bench-snapshot.sh)
#
# Environment:
#   RECORDS      records per size, one or more (default "60000 240000":
#                about 500 MiB and 2 GiB at dimension 1536)
#   DIM, COLLECTIONS, SEED   the fill (default 1536, 3, 1)
#   ROUNDS       change rounds, each followed by an incremental (3)
#   ADD, UPSERT, DELETE      records per round (600, 60, 30)
#   REPEAT       runs per size, median reported (3)
#   RACY_WAIT    seconds between a change and the incremental (3): the
#                engine reads a file modified less than 2 s before twice
#   CHROMA_BIN   chroma executable (.tools/npm/node_modules/.bin/chroma)
#   REPORT       where the report goes (scripts/bench-snapshot-real.md)
#   REPORT_ONLY  1: write the report again from the last run's figures
#
# Per size, one pristine persist directory is filled by scripts/chromafill
# (Chroma started on it, records added through the API in batches of 500,
# Chroma stopped). It is kept under .scratch/bench/cache and reused by later
# runs with the same records, dimension, collections, seed, Chroma version
# and chromafill source; filling 240,000 records took 28 minutes here.
#
# Per run: one copy of the pristine directory; every tool takes its full
# snapshot of it in turn; then ROUNDS times: one chromafill change round
# (Chroma adds, upserts and deletes records in place through the API), and
# every tool takes its incremental in turn, so all tools see the same data
# and restic skips unchanged files by their metadata as it would in real
# life. The tools' order rotates between runs. Last, each tool restores its
# newest snapshot, compared file by file with the directory (content and
# size; mode and mtime reported). Wall time, CPU and peak RSS come from GNU
# time, stored bytes from `du -sb` of the repository before and after. The
# page cache is warm for every command (its input is read just before) and
# dirty data is flushed before timing. The first round of the first size's
# first run also goes through scripts/blockdiff ("where the bytes go"), and
# the physical floors (page-cache read, SHA-256, zstd, direct write, SQLite
# integrity_check and quick_check) are measured on the first size's data.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The command line for the report: the settings given, then the script.
COMMAND=""
for v in RECORDS DIM COLLECTIONS SEED ROUNDS ADD UPSERT DELETE REPEAT RACY_WAIT REPORT; do
	[ -n "${!v:-}" ] && COMMAND="$COMMAND$v='${!v#"$ROOT"/}' "
done
COMMAND="${COMMAND}scripts/bench-snapshot-real.sh"
SCRATCH=$ROOT/.scratch/bench
REPORT=${REPORT:-$ROOT/scripts/bench-snapshot-real.md}
read -r -a RECORD_SIZES <<<"${RECORDS:-60000 240000}"
DIM=${DIM:-1536}
COLLECTIONS=${COLLECTIONS:-3}
SEED=${SEED:-1}
ROUNDS=${ROUNDS:-3}
ADD=${ADD:-600}
UPSERT=${UPSERT:-60}
DELETE=${DELETE:-30}
REPEAT=${REPEAT:-3}
RACY_WAIT=${RACY_WAIT:-3}
CHROMA_BIN=${CHROMA_BIN:-$ROOT/.tools/npm/node_modules/.bin/chroma}
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
TOOLS=(restic ours ours-enc)

# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"

require_tools restic go jq sha256sum timeout openssl zstd sqlite3 dd
[ -x "$CHROMA_BIN" ] || die "chroma not found at $CHROMA_BIN: run scripts/install-chroma.sh or set CHROMA_BIN"
for n in "${RECORD_SIZES[@]}" "$DIM" "$COLLECTIONS" "$ROUNDS" "$REPEAT"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "RECORDS, DIM, COLLECTIONS, ROUNDS and REPEAT take positive whole numbers, got '$n'"
done
CHROMA_VERSION=$(jq -r .version "$(dirname "$(readlink -f "$CHROMA_BIN")")/../package.json" 2>/dev/null || echo unknown)
FILL_SUM=$(sha256sum "$ROOT/scripts/chromafill/main.go" | cut -c1-12)

cd "$ROOT"
# Free space: per record about 9 KiB of data (dimension 1536) in the cache,
# the working copy, three repositories, one restore and the blockdiff copy.
max_records=$(printf '%s\n' "${RECORD_SIZES[@]}" | sort -n | tail -1)
need=$((max_records * (DIM * 4 + 3000) * 8 + (2 << 30)))

cleanup() { rm -rf "$SCRATCH/data" "$SCRATCH/bin" "$SCRATCH/floor"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${REPORT_ONLY:-}" ]; then
	reset_scratch
	require_free "$need"
	build_ours
	go build -o "$SCRATCH/bin/chromafill" ./scripts/chromafill
	go build -o "$SCRATCH/bin/blockdiff" ./scripts/blockdiff
	date -u '+%Y-%m-%d %H:%M UTC' >"$SCRATCH/started"
	echo "$COMMAND" >"$SCRATCH/command"
	machine_lines >"$SCRATCH/machine"
	declare -p RECORD_SIZES DIM COLLECTIONS SEED ROUNDS ADD UPSERT DELETE REPEAT RACY_WAIT CHROMA_VERSION >"$SCRATCH/settings"
else
	# shellcheck source=/dev/null
	. "$SCRATCH/settings"
fi
FILL=(timeout "$STEP_TIMEOUT" "$SCRATCH/bin/chromafill" -chroma "$CHROMA_BIN" -dim "$DIM" -collections "$COLLECTIONS" -seed "$SEED")

export RESTIC_PASSWORD=bench-password

# pristine RECORDS: the filled persist directory for RECORDS, from the
# cache or filled now.
pristine() {
	local records=$1
	local dir=$SCRATCH/cache/real-r$records-d$DIM-c$COLLECTIONS-s$SEED-chroma$CHROMA_VERSION-fill$FILL_SUM
	if [ -d "$dir" ]; then
		log "$records records: using the persist directory filled earlier ($dir)"
	else
		log "$records records: filling through Chroma's API, which takes minutes (60,000 records: 3.5 min here, 240,000: 28 min with the machine loaded); kept for later runs"
		rm -rf "$dir.tmp"
		SECONDS=0
		"${FILL[@]}" -dir "$dir.tmp" -records "$records" 2>"$SCRATCH/fill-$records.log" ||
			die "chromafill failed (log: $SCRATCH/fill-$records.log)"
		mv "$dir.tmp" "$dir"
		log "$records records: filled in $SECONDS s"
	fi
	echo "$dir"
}

init_repo() {
	local tool=$1
	mkdir -p "$DIR/$tool/repo"
	case $tool in
	restic) RESTIC_REPOSITORY=$DIR/$tool/repo restic init --repository-version 2 -q >/dev/null ;;
	ours-enc) "$OURS" snapshot keygen --writer-key "$DIR/$tool/writer.key" --reader-key "$DIR/$tool/reader.key" >/dev/null ;;
	esac
}

# backup TOOL OP: a snapshot of $WORK by TOOL, timed as TOOL.OP; appends
# "TOOL.OP added_bytes repo_bytes cli_added" to $RUN/bytes.
backup() {
	local tool=$1 op=$2 repo=$DIR/$1/repo before after cli=-
	local -a wk=() rk=()
	[ "$tool" = ours-enc ] && wk=(--writer-key "$DIR/$tool/writer.key") rk=(--reader-key "$DIR/$tool/reader.key")
	warm "$WORK"
	before=$(repo_bytes "$repo")
	if [ "$tool" = restic ]; then
		(cd "$WORK" && RESTIC_REPOSITORY=$repo timed "$tool.$op" restic backup --host bench .)
	else
		timed "$tool.$op" "$OURS" snapshot now --bucket "file://$repo" --persist-directory "$WORK" --scratch-directory "$DIR/$tool" "${wk[@]}"
		cli=$(ours_added "$repo" "${rk[@]}")
		echo "$tool.$op $(grep -o 'writer stall [^ ;,]*' "$RUN/$tool.$op.out" | cut -d' ' -f3)" >>"$RUN/stalls"
	fi
	after=$(repo_bytes "$repo")
	echo "$tool.$op $((after - before)) $after $cli" >>"$RUN/bytes"
}

# change ROUND: one application round through Chroma's API, in place;
# appends "incROUND bytes_of_changed_files" to $RUN/changed.
change() {
	local round=$1 marker=$RUN/round$1.start
	touch "$marker"
	"${FILL[@]}" -dir "$WORK" -records "$RECORDS_NOW" -round "$round" -add "$ADD" -upsert "$UPSERT" -delete "$DELETE" 2>>"$RUN/change.err" ||
		die "chromafill round $round failed (log: $RUN/change.err)"
	echo "inc$round $(find "$WORK" -type f -newer "$marker" -printf '%s\n' | awk '{s += $1} END {print s + 0}')" >>"$RUN/changed"
}

restore() {
	local tool=$1 target=$DIR/restore-$1 v
	local -a rk=()
	[ "$tool" = ours-enc ] && rk=(--reader-key "$DIR/$tool/reader.key")
	timed_restore "$tool" "$DIR/$tool/repo" "$target" "${rk[@]}"
	v=$(restore_verdict "$tool" "$WORK" "$target")
	echo "$tool $v" >>"$RUN/verdicts"
	rm -rf "$target"
}

# one_run RECORDS PRISTINE RUN_INDEX BLOCKDIFF_OUT: full snapshots, ROUNDS
# change rounds with incrementals, restores. BLOCKDIFF_OUT, when not empty,
# receives scripts/blockdiff's table for the first round.
one_run() {
	local records=$1 src=$2 r=$3 bdiff=$4 round tool
	local -a order=("${TOOLS[@]:$(((r - 1) % 3))}" "${TOOLS[@]:0:$(((r - 1) % 3))}")
	DIR=$SCRATCH/data/r$records
	WORK=$DIR/persist
	RECORDS_NOW=$records
	export RESTIC_CACHE_DIR=$DIR/restic-cache
	rm -rf "$DIR"
	mkdir -p "$DIR" "$RUN"
	cp -a "$src" "$WORK"
	for tool in "${order[@]}"; do init_repo "$tool"; done
	for tool in "${order[@]}"; do
		log "$records records run $r/$REPEAT: $tool full (load $(cut -d' ' -f1-3 /proc/loadavg))"
		backup "$tool" full
	done
	for round in $(seq 1 "$ROUNDS"); do
		[ -n "$bdiff" ] && [ "$round" = 1 ] && cp -a "$WORK" "$DIR/before"
		log "$records records run $r/$REPEAT: change round $round through Chroma"
		change "$round"
		if [ -n "$bdiff" ] && [ "$round" = 1 ]; then
			"$SCRATCH/bin/blockdiff" "$DIR/before" "$WORK" >"$bdiff" || die "blockdiff failed"
			rm -rf "$DIR/before"
		fi
		sleep "$RACY_WAIT"
		for tool in "${order[@]}"; do
			log "$records records run $r/$REPEAT: $tool incremental $round"
			backup "$tool" "inc$round"
		done
	done
	echo "logical $(du -sb "$WORK" | cut -f1)" >"$RUN/sizes"
	echo "sqlite $(stat -c %s "$WORK/chroma.sqlite3")" >>"$RUN/sizes"
	for tool in "${order[@]}"; do
		log "$records records run $r/$REPEAT: $tool restore"
		restore "$tool"
	done
	rm -rf "$DIR"
}

# floors DIR: this machine's speeds for the work every snapshot tool does,
# measured on DIR (warm page cache), written as "key value" lines to
# $SCRATCH/floors: bytes per second, zstd ratios, and the seconds of
# PRAGMA integrity_check and quick_check per byte of database.
floors() {
	local src=$1 f=$SCRATCH/floor hnsw sqlite total out
	mkdir -p "$f"
	hnsw=$(find "$src" -name data_level0.bin -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
	sqlite=$src/chroma.sqlite3
	total=$(du -sb "$src" | cut -f1)
	out=$SCRATCH/floors
	: >"$out"
	rate() { # KEY BYTES CMD...: median of 3 runs, bytes per second
		local key=$1 bytes=$2 i
		shift 2
		for i in 1 2 3; do elapsed_ns "$@"; done | median | awk -v k="$key" -v b="$bytes" '{printf "%s %.0f\n", k, b / ($1 / 1e9)}' >>"$out"
	}
	warm "$src"
	rate read "$total" sh -c 'find "$1" -type f -print0 | xargs -0 cat' _ "$src"
	openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null | awk '$1 == "sha256" {sub(/k$/, "", $NF); printf "sha256 %.0f\n", $NF * 1000}' >>"$out"
	for kind in hnsw sqlite; do
		local file=${!kind} size
		size=$(stat -c %s "$file")
		zstd -q -T1 -1 -c "$file" >"$f/$kind.zst"
		echo "ratio_$kind $(awk -v c="$(stat -c %s "$f/$kind.zst")" -v s="$size" 'BEGIN {printf "%.3f", c / s}')" >>"$out"
		rate "zstd1_$kind" "$size" zstd -q -T1 -1 -c "$file"
		rate "unzstd_$kind" "$size" zstd -q -d -c "$f/$kind.zst"
	done
	rate write "$total" sh -c 'find "$1" -type f -print0 | xargs -0 cat | dd of="$2" bs=1M iflag=fullblock oflag=direct conv=fdatasync' _ "$src" "$f/dd"
	rm -f "$f/dd"
	for pragma in integrity_check quick_check; do
		for i in 1 2 3; do elapsed_ns sqlite3 -readonly "$sqlite" "PRAGMA $pragma"; done | median |
			awk -v s="$(stat -c %s "$sqlite")" -v k="$pragma" '{printf "%s %.3g\n", k, ($1 / 1e9) / s}' >>"$out"
	done
	echo "hnsw_file ${hnsw#"$src"/}" >>"$out"
	rm -rf "$f"
}

RUNS=$SCRATCH/runs
BLOCKDIFF=$SCRATCH/blockdiff.txt
run_all() {
	local records src r bd
	: >"$SCRATCH/loads"
	for records in "${RECORD_SIZES[@]}"; do
		src=$(pristine "$records")
		if [ ! -f "$SCRATCH/floors" ]; then
			log "measuring this machine's floors on $records records"
			floors "$src"
		fi
		echo "$records records start: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SCRATCH/loads"
		for r in $(seq 1 "$REPEAT"); do
			RUN=$RUNS/r$records/$r
			bd=""
			[ "$records" = "${RECORD_SIZES[0]}" ] && [ "$r" = 1 ] && bd=$BLOCKDIFF
			one_run "$records" "$src" "$r" "$bd"
		done
		echo "$records records end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SCRATCH/loads"
		du -sb "$src" | cut -f1 >"$RUNS/r$records/pristine-bytes"
		stat -c %s "$src/chroma.sqlite3" >"$RUNS/r$records/pristine-sqlite"
	done
}

# Medians over the runs of one size ($runs): t wall s, c CPU s, m peak RSS
# MiB of TOOL.OP; stored TOOL.OP COL: column COL of $RUN/bytes (2 added,
# 3 repository, 4 the snapshot's own added_bytes); changed ROUND.
t() { cat "$runs"/*/times | awk -v k="$1.$2" '$1 == k {print $2}' | median; }
c() { cat "$runs"/*/times | awk -v k="$1.$2" '$1 == k {print $4 + $5}' | median; }
m() { cat "$runs"/*/times | awk -v k="$1.$2" '$1 == k {printf "%.0f\n", $3 / 1024}' | median; }
stored() { cat "$runs"/*/bytes | awk -v k="$1.$2" -v c="$3" '$1 == k {print $c}' | median; }
changed() { cat "$runs"/*/changed | awk -v k="inc$1" '$1 == k {print $2}' | median; }
size_of() { cat "$runs"/*/sizes | awk -v k="$1" '$1 == k {print $2}' | median; }
floor_of() { awk -v k="$1" '$1 == k {print $2}' "$SCRATCH/floors"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "-"; else printf "%.2f", a / b}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b)}'; }
ops() { echo full; seq -f 'inc%g' 1 "$ROUNDS"; echo restore restore+sync; }

report_head() {
	echo "# Snapshot benchmark on real Chroma data: otelcol-chroma vs restic"
	echo
	echo "Generated by \`$(cat "$SCRATCH/command")\`, started $(cat "$SCRATCH/started")."
	echo
	cat "$SCRATCH/machine"
	echo "- data: \`chromafill -records N -dim $DIM -collections $COLLECTIONS -seed $SEED\` through the HTTP API of Chroma $CHROMA_VERSION (\`chroma run\`, local persist directory): normalized Gaussian embeddings, a document of 15-75 words and 4 metadata keys per record, added in batches of 500; cached between runs"
	echo "- change: $ROUNDS rounds of \`chromafill -round K -add $ADD -upsert $UPSERT -delete $DELETE\` on the working copy (Chroma started on it, records added, upserted and deleted through the API, Chroma stopped), each followed by every tool's incremental; $RACY_WAIT s pause before the incrementals"
	echo "- each figure is the median of $REPEAT run(s); within a run all tools back up the same directory in turns (the order rotates between runs); warm page cache and no dirty pages before each timed command"
	echo "- restic: \`restic init --repository-version 2\` (compression auto), \`restic backup .\`, \`restic restore latest --target DIR\`; ours: \`otelcol-chroma snapshot now --bucket file://REPO --persist-directory DIR [--writer-key F]\`, \`snapshot restore latest --bucket file://REPO --to DIR [--reader-key F]\` (checks every block's SHA-256, the record counts and \`PRAGMA quick_check\`: the capture ran \`integrity_check\` on these very bytes)"
	echo
}

report_table() {
	local records op rs os es stored_col sr so se
	echo "| records | operation | restic s | ours s | ours-enc s | speed-up ours / enc | CPU s restic / ours / enc | peak RSS MiB restic / ours / enc | RSS ours / restic | stored MiB restic / ours / enc | stored ours / restic (enc) |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for records in "${RECORD_SIZES[@]}"; do
		runs=$RUNS/r$records
		for op in $(ops); do
			rs=$(t restic "$op") os=$(t ours "$op") es=$(t ours-enc "$op")
			printf '| %s | %s | %s | %s | %s | %sx / %sx | %s / %s / %s | %s / %s / %s | %s |' "$records" "$op" "$rs" "$os" "$es" \
				"$(div "$rs" "$os")" "$(div "$rs" "$es")" "$(c restic "$op")" "$(c ours "$op")" "$(c ours-enc "$op")" \
				"$(m restic "$op")" "$(m ours "$op")" "$(m ours-enc "$op")" "$(div "$(m ours "$op")" "$(m restic "$op")")"
			case $op in
			full) stored_col=3 ;;
			inc*) stored_col=2 ;;
			*) stored_col="" ;;
			esac
			if [ -n "$stored_col" ]; then
				sr=$(stored restic "$op" $stored_col) so=$(stored ours "$op" $stored_col) se=$(stored ours-enc "$op" $stored_col)
				printf ' %s / %s / %s | %s (%s) |\n' "$(mib "$sr")" "$(mib "$so")" "$(mib "$se")" "$(div "$so" "$sr")" "$(div "$se" "$sr")"
			else
				printf ' | |\n'
			fi
		done
	done
	echo
	echo "Speed-up: restic's wall time over ours (unencrypted / encrypted). CPU: user + system seconds. RSS: GNU time's peak resident set. Stored: for full, the repository's size after it (\`du -sb\`); for an incremental, how much it grew the repository. restore+sync: the restore plus a \`sync\` right after it (restic leaves what it restored unflushed; ours fsyncs every file before it returns)."
	echo
}

# stall_range: the shortest and longest writer stall of our snapshots in
# $runs, in milliseconds (the CLI prints Go durations).
stall_range() {
	cat "$runs"/*/stalls | awk '{v = $2; u = v; sub(/^[0-9.]+/, "", u); v += 0
		if (u == "s") v *= 1000; else if (u == "µs" || u == "us") v /= 1000; else if (u == "ns") v /= 1e6
		if (NR == 1 || v < lo) lo = v; if (NR == 1 || v > hi) hi = v}
		END {if (NR == 0) print "(not reported)"; else printf "%.1f-%.1f ms\n", lo, hi}'
}

report_details() {
	local records k stalls
	for records in "${RECORD_SIZES[@]}"; do
		runs=$RUNS/r$records
		printf -- "- %s records: pristine %s MiB (chroma.sqlite3 %s MiB), %s MiB after the rounds; bytes of the files each round changed:" \
			"$records" "$(mib "$(cat "$runs/pristine-bytes")")" "$(mib "$(cat "$runs/pristine-sqlite")")" "$(mib "$(size_of logical)")"
		for k in $(seq 1 "$ROUNDS"); do printf ' %s MiB' "$(mib "$(changed "$k")")"; done
		printf '; our own added_bytes (`snapshot list --json`):'
		for k in $(seq 1 "$ROUNDS"); do printf ' %s MiB' "$(mib "$(stored ours "inc$k" 4)")"; done
		echo "; Chroma's writers waited (writer stall) $(stall_range) during our snapshots"
	done
	echo
	echo "Load average (1, 5, 15 min) at the start and end of each size:"
	echo
	sed 's/^/- /' "$SCRATCH/loads"
	echo
}

report_checks() {
	local records op k ok_o ok_e so se sr line
	echo "Issue 16's goals, checked per size (ours / encrypted; restores compared file by file with the source):"
	echo
	for records in "${RECORD_SIZES[@]}"; do
		runs=$RUNS/r$records
		line=""
		for op in $(ops); do
			[ "$op" = restore+sync ] && continue
			k=3
			[ "$op" = restore ] && k=2
			ok_o=$(awk -v r="$(t restic "$op")" -v o="$(t ours "$op")" -v k=$k 'BEGIN {print (r / o >= k)}')
			ok_e=$(awk -v r="$(t restic "$op")" -v o="$(t ours-enc "$op")" -v k=$k 'BEGIN {print (r / o >= k)}')
			line="$line; $op >= ${k}x $(verdict "$ok_o") / $(verdict "$ok_e")"
		done
		echo "- $records records, speed: ${line#; }"
		line=""
		for op in $(ops); do
			case $op in full) k=3 ;; inc*) k=2 ;; *) continue ;; esac
			sr=$(stored restic "$op" $k) so=$(stored ours "$op" $k) se=$(stored ours-enc "$op" $k)
			line="$line; $op $(verdict "$(le "$so" "$sr")") / $(verdict "$(le "$se" "$sr")") ($(div "$so" "$sr") / $(div "$se" "$sr"))"
		done
		echo "- $records records, stored bytes <= restic's (full: repository size): ${line#; }"
		line=""
		for op in $(ops); do
			[ "$op" = restore+sync ] && continue
			line="$line; $op $(verdict "$(le "$(m ours "$op")" 100)") / $(verdict "$(le "$(m ours-enc "$op")" 100)")"
		done
		echo "- $records records, peak RSS <= 100 MiB: ${line#; }"
		echo "- $records records, restore equals source: $(cat "$runs"/*/verdicts | sort -u | paste -sd, | sed 's/,/, /g')"
	done
	echo
}

# report_floors: what the hardware allows for each operation.
report_floors() {
	local n read sha write full quick records lp sp lf sf cpu op repo added ch
	n=$(nproc) read=$(floor_of read) sha=$(floor_of sha256) write=$(floor_of write)
	full=$(floor_of integrity_check) quick=$(floor_of quick_check)
	echo "## Floors on this machine"
	echo
	echo "Measured on the first size's pristine data (median of 3, one core, warm page cache):"
	echo
	echo "| work | speed |"
	echo "|---|---|"
	echo "| read the persist directory from the page cache (\`cat\`) | $(mib "$read") MiB/s |"
	echo "| SHA-256 (\`openssl speed -evp sha256 -bytes 1048576\`) | $(mib "$sha") MiB/s |"
	echo "| zstd -1 of $(floor_of hnsw_file) (\`zstd -T1 -1\`) | $(mib "$(floor_of zstd1_hnsw)") MiB/s, to $(floor_of ratio_hnsw) of its size; decompress $(mib "$(floor_of unzstd_hnsw)") MiB/s |"
	echo "| zstd -1 of chroma.sqlite3 | $(mib "$(floor_of zstd1_sqlite)") MiB/s, to $(floor_of ratio_sqlite) of its size; decompress $(mib "$(floor_of unzstd_sqlite)") MiB/s |"
	echo "| write to the scratch disk (\`dd oflag=direct conv=fdatasync\`, the data itself) | $(mib "$write") MiB/s |"
	echo "| \`PRAGMA integrity_check\` (\`sqlite3\`) | $(awk -v c="$full" 'BEGIN {printf "%.2f", c * 1048576 * 100}') s per 100 MiB of database |"
	echo "| \`PRAGMA quick_check\` (\`sqlite3\`) | $(awk -v c="$quick" 'BEGIN {printf "%.2f", c * 1048576 * 100}') s per 100 MiB of database |"
	echo
	echo "Floor of each operation: its CPU work at those speeds spread over the $n cores, or its disk writes, whichever takes longer. Full: read, hash and compress every byte, write the stored bytes. Incremental: read and hash the files the round changed (what file metadata cannot rule out), write the stored bytes (compressing the changed blocks is left out). Restore: read the repository, decompress, hash and write every byte. Ours also checks the database: \`PRAGMA integrity_check\` at capture (on its copy), \`quick_check\` at restore (the restored file is, by SHA-256, the one that passed integrity_check); restic checks nothing, so its ratio is to the floor without the check. With the check, the floor is also at least the check itself, which reads the whole database serially."
	echo
	echo "| records | operation | work | CPU s (one core) | floor s | check s | floor with check s | ours s | ours / floor with check | restic s | restic / floor |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for records in "${RECORD_SIZES[@]}"; do
		runs=$RUNS/r$records
		lp=$(cat "$runs/pristine-bytes") sp=$(cat "$runs/pristine-sqlite") lf=$(size_of logical) sf=$(size_of sqlite)
		for op in $(ops); do
			case $op in
			full)
				repo=$(stored ours full 3)
				cpu=$(awk -v l="$lp" -v s="$sp" -v r="$read" -v h="$sha" -v zs="$(floor_of zstd1_sqlite)" -v zh="$(floor_of zstd1_hnsw)" 'BEGIN {print l / r + l / h + s / zs + (l - s) / zh}')
				floor_row "read, hash, compress $(mib "$lp") MiB; write $(mib "$repo") MiB" "$cpu" "$repo" "$(awk -v s="$sp" -v c="$full" 'BEGIN {print s * c}')"
				;;
			inc*)
				ch=$(changed "${op#inc}") added=$(stored ours "$op" 2)
				cpu=$(awk -v c="$ch" -v r="$read" -v h="$sha" 'BEGIN {print c / r + c / h}')
				floor_row "read, hash $(mib "$ch") MiB; write $(mib "$added") MiB" "$cpu" "$added" "$(awk -v s="$sf" -v c="$full" 'BEGIN {print s * c}')"
				;;
			restore)
				repo=$(stored ours "inc$ROUNDS" 3)
				cpu=$(awk -v p="$repo" -v l="$lf" -v s="$sf" -v r="$read" -v h="$sha" -v zs="$(floor_of unzstd_sqlite)" -v zh="$(floor_of unzstd_hnsw)" 'BEGIN {print p / r + s / zs + (l - s) / zh + l / h}')
				floor_row "read $(mib "$repo") MiB, decompress, hash, write $(mib "$lf") MiB" "$cpu" "$lf" "$(awk -v s="$sf" -v c="$quick" 'BEGIN {print s * c}')"
				;;
			esac
		done
	done
	echo
}

# floor_row WORK CPU_S WRITTEN_BYTES CHECK_S: one row of the floor table
# for $records and $op, from report_floors' n and write.
floor_row() {
	local f fc ck=$4
	f=$(awk -v c="$2" -v n="$n" -v b="$3" -v w="$write" 'BEGIN {f = c / n; if (b / w > f) f = b / w; printf "%.2f", f}')
	fc=$(awk -v c="$2" -v k="$ck" -v n="$n" -v b="$3" -v w="$write" 'BEGIN {f = (c + k) / n; if (b / w > f) f = b / w; if (k > f) f = k; printf "%.2f", f}')
	printf '| %s | %s | %s | %.2f | %s | %.2f | %s | %s | %sx | %s | %sx |\n' "$records" "$op" "$1" "$2" "$f" "$ck" "$fc" \
		"$(t ours "$op")" "$(div "$(t ours "$op")" "$fc")" "$(t restic "$op")" "$(div "$(t restic "$op")" "$f")"
}

report_blockdiff() {
	[ -f "$BLOCKDIFF" ] || return 0
	echo "## Where the bytes go"
	echo
	echo "\`scripts/blockdiff\` between the ${RECORD_SIZES[0]}-record directory before and after the first change round: per file and block size, the blocks that differ, their raw size and their size with zstd (klauspost/compress levels fastest, default, better; a block that does not shrink counts raw)."
	echo
	echo '```'
	cat "$BLOCKDIFF"
	echo '```'
	echo
}

report() {
	report_head
	report_table
	report_details
	report_checks
	report_floors
	report_blockdiff
}

# REPORT_ONLY=1 writes the report again from the figures and settings of
# the last run.
if [ -z "${REPORT_ONLY:-}" ]; then run_all; fi
notes=$(report_notes "$REPORT")
{
	report
	if [ -n "$notes" ]; then printf '\n%s\n' "$notes"; fi
} >"$SCRATCH/report.md"
mv "$SCRATCH/report.md" "$REPORT"
cat "$REPORT"
log "report written to $REPORT; raw figures in $RUNS"
