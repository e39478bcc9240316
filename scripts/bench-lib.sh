# Helpers shared by the snapshot benchmarks (scripts/bench-snapshot.sh and
# scripts/bench-snapshot-real.sh): timing with GNU time, page-cache and
# dirty-page control, repository sizes, restore checks, medians and the
# machine description of a report. Source it after setting ROOT, SCRATCH
# and STEP_TIMEOUT; timed and the restore helpers write under $RUN.

log() { printf '%s bench: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# require_tools CMD...: every command must be installed, and GNU time.
require_tools() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "$c is not installed"
	done
	[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing: apt-get install -y time"
}

# reset_scratch: empty $SCRATCH except its cache folder (filled data kept
# between runs), then create $SCRATCH/data and $SCRATCH/bin.
reset_scratch() {
	mkdir -p "$SCRATCH"
	find "$SCRATCH" -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +
	mkdir -p "$SCRATCH/data" "$SCRATCH/bin"
}

# require_free BYTES: that much free space under $SCRATCH.
require_free() {
	local free
	free=$(df -B1 --output=avail "$SCRATCH" | tail -1 | tr -d ' ')
	[ "$free" -gt "$1" ] || die "need $(($1 >> 20)) MiB free under $SCRATCH, have $((free >> 20)) MiB"
}

# build_ours: the collector from this checkout, into $SCRATCH/bin; sets
# OURS and ENGINE_SUM (a digest of the engine's sources, for the report).
build_ours() {
	log "building otelcol-chroma"
	(cd "$ROOT" && go build -trimpath -o "$SCRATCH/bin/otelcol-chroma" ./cmd/otelcol-chroma) || die "go build failed"
	OURS=$SCRATCH/bin/otelcol-chroma
	ENGINE_SUM=$(cd "$ROOT" && cat internal/snapshot/*.go internal/storage/file/*.go internal/chromadb/*.go | sha256sum | cut -c1-12)
}

# warm PATH...: read the next command's input into the page cache, then
# flush dirty pages so earlier writes are not charged to it.
warm() {
	find "$@" -type f -print0 | xargs -0 -r cat >/dev/null
	sync
}

# timed NAME CMD...: run CMD; append "NAME wall_s peak_kib user_s sys_s"
# to $RUN/times.
timed() {
	local name=$1
	shift
	local tf=$RUN/time.$name
	if ! timeout "$STEP_TIMEOUT" /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >"$RUN/$name.out" 2>"$RUN/$name.err"; then
		cat "$RUN/$name.err" >&2
		die "$name failed (log: $RUN/$name.err)"
	fi
	echo "$name $(tail -1 "$tf")" >>"$RUN/times"
}

# elapsed_ns CMD...: run CMD (output discarded) and print its wall time in
# nanoseconds; for the floor measurements, which are too short for GNU
# time's hundredths.
elapsed_ns() {
	local t0
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || die "$* failed"
	echo $(($(date +%s%N) - t0))
}

# tree_sums DIR: "path size mode mtime sha256" per regular file, sorted.
tree_sums() {
	(cd "$1" && find . -type f -printf '%P %s %m %T@\n' | sort >"$RUN/meta.tmp" &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum | awk '{print $2, $1}' | sed 's|^\./||' | sort >"$RUN/sums.tmp" &&
		join "$RUN/meta.tmp" "$RUN/sums.tmp")
}

repo_bytes() { du -sb "$1" | cut -f1; }

ours_added() { # REPO [KEYARGS...]: added_bytes of the newest snapshot
	local repo=$1
	shift
	"$OURS" snapshot list --json --bucket "file://$repo" "$@" | jq -r '.[0].added_bytes'
}

# timed_restore TOOL REPO TARGET [KEYARGS...]: restore the newest snapshot
# with a warm repository, then time a sync, and record TOOL.restore,
# TOOL.sync and TOOL.restore+sync in $RUN/times. restic does not fsync
# what it restores, ours does.
timed_restore() {
	local tool=$1 repo=$2 target=$3
	shift 3
	warm "$repo"
	if [ "$tool" = restic ]; then
		RESTIC_REPOSITORY=$repo timed "$tool.restore" restic restore latest --target "$target"
	else
		timed "$tool.restore" "$OURS" snapshot restore latest --bucket "file://$repo" --to "$target" "$@"
	fi
	timed "$tool.sync" sync
	awk -v t="$tool" '$1 == t ".restore" {r = $0} $1 == t ".sync" {s = $0} END {
		split(r, a); split(s, b); print t ".restore+sync", a[2] + b[2], a[3], a[4] + b[4], a[5] + b[5] }' "$RUN/times" >>"$RUN/times"
}

# restore_verdict TOOL SRC DST: compare the restored tree with its source
# file by file; prints "identical" or "same content; mode/mtime differ",
# and stops the benchmark when a file's content or size differs or a file
# is missing or extra. Leaves the source's sums in $RUN/TOOL.src.
restore_verdict() {
	local tool=$1 src=$2 dst=$3
	tree_sums "$src" >"$RUN/$tool.src"
	tree_sums "$dst" >"$RUN/$tool.dst"
	if cmp -s "$RUN/$tool.src" "$RUN/$tool.dst"; then
		echo identical
	elif cmp -s <(awk '{print $1, $2, $5}' "$RUN/$tool.src") <(awk '{print $1, $2, $5}' "$RUN/$tool.dst"); then
		echo "same content; mode/mtime differ"
	else
		diff "$RUN/$tool.src" "$RUN/$tool.dst" >&2 || true
		die "$tool: restored data differs from the source"
	fi
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# verdict 1|0: "met" or "MISSED".
verdict() { if [ "$1" = 1 ]; then echo met; else echo MISSED; fi; }

# machine_lines: the report's machine and version bullets.
machine_lines() {
	local cpu_model cpu_flags disk
	cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	cpu_flags=$(grep -o 'sha_ni\|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')
	disk=$(df --output=source,fstype "$SCRATCH" | tail -1 | awk '{print $1 ", " $2}')
	echo "- machine: $(nproc) CPUs, $cpu_model (\`grep -o 'sha_ni\\|avx512f' /proc/cpuinfo | sort -u\`: ${cpu_flags:-none}), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, local disk ($disk); shared with other work, see the load averages"
	echo "- $(restic version | cut -d' ' -f1-5); $(go version | cut -d' ' -f3); otelcol-chroma built from commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- internal cmd 2>/dev/null || echo ' with uncommitted changes'), engine sources sha256 $ENGINE_SUM"
}

# report_notes FILE: the section of an existing report that starts with
# "<!-- notes -->" (kept when the report is regenerated).
report_notes() {
	if [ -f "$1" ] && grep -q '^<!-- notes -->' "$1"; then
		sed -n '/^<!-- notes -->/,$p' "$1"
	fi
}
