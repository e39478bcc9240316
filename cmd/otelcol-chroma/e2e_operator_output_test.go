package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// `snapshot status` exits 1 whenever there is nothing to restore, and
// still prints its report (text and JSON): the only manifest damaged, its
// snapshot deleted, the bucket emptied of snapshots and records.
func TestStatusExits1WithNothingToRestore(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	root := t.TempDir()
	bucket := []string{"--bucket", "file://" + root, "--instance", "e2e"}
	id := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", chromatest.CopyDemo(t)}, bucket...)...)
	requireOutput(t, requireCLI(t, bin, env, append([]string{"snapshot", "status"}, bucket...)...), "newest:           "+id)

	manifest := objectPath(root, manifestObjectKey(id))
	flipByte(t, manifest, -1)
	requireNothingToRestore(t, bin, env, bucket, "none of the 1 snapshots", "intact manifest")

	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	requireNothingToRestore(t, bin, env, bucket, "holds no snapshot", "missing")

	if err := os.RemoveAll(filepath.Join(root, "status")); err != nil {
		t.Fatal(err)
	}
	requireNothingToRestore(t, bin, env, bucket, "holds no snapshot yet")
}

// requireNothingToRestore runs status and status --json: both exit 1,
// saying why, with the report on stdout.
func requireNothingToRestore(t *testing.T, bin string, env, bucket []string, wants ...string) {
	t.Helper()
	res := runCLI(t, bin, env, append([]string{"snapshot", "status"}, bucket...)...)
	requireFailure(t, res, exitFailed, append([]string{"nothing to restore"}, wants...)...)
	requireOutput(t, res, "newest:           none")
	res = runCLI(t, bin, env, append([]string{"snapshot", "status", "--json"}, bucket...)...)
	requireFailure(t, res, exitFailed, "nothing to restore")
	var st statusReport
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || !st.Initialized || st.Newest != nil {
		t.Errorf("status --json with nothing to restore: %v\n%s", err, res)
	}
}

// A path or URL where a snapshot id goes is a wrong command line (exit 2,
// nothing done) that says so and shows the flag that takes it, with the id
// given before it kept; a mistyped id stays "invalid snapshot id".
func TestPathWhereSnapshotIDGoes(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	root := t.TempDir()
	bucket := []string{"--bucket", "file://" + root}
	id := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", chromatest.CopyDemo(t)}, bucket...)...)
	target := filepath.Join(t.TempDir(), "data")
	for _, c := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"restore", target}, []string{"looks like a path", "otelcol-chroma snapshot restore latest --to " + target, "snapshot list"}},
		{[]string{"restore", "latest", target}, []string{"looks like a path", "snapshot restore latest --to " + target}},
		{[]string{"restore", id, "./data"}, []string{"snapshot restore " + id + " --to ./data"}},
		{[]string{"restore", "~/data"}, []string{"snapshot restore latest --to ~/data"}},
		{[]string{"drill", target}, []string{"snapshot drill latest --scratch-directory " + target}},
		{[]string{"restore-collection", "http://127.0.0.1:8000"}, []string{"looks like a URL", "--into http://127.0.0.1:8000"}},
		{[]string{"verify", target}, []string{"looks like a path", "verify takes a snapshot id"}},
		{[]string{"restore", "../../etc", "--to", target}, []string{"invalid snapshot id", "looks like a path", "restore takes a snapshot id"}},
		{[]string{"restore", "yesterday"}, []string{"invalid snapshot id"}},
	} {
		res := runCLI(t, bin, env, append(append([]string{"snapshot"}, c.args...), bucket...)...)
		requireFailure(t, res, exitUsage, c.wants...)
		requireMissing(t, target)
	}
}

// `unlock --json` lists the live locks it leaves in place beside the ones
// it removed, as the text output names them.
func TestUnlockJSONListsLiveLocks(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	root := filepath.Join(t.TempDir(), "bucket")
	bucket := []string{"--bucket", "file://" + root}
	refreshed := time.Now().UTC().Truncate(time.Second)
	plantLockFile(t, root, "stale", true, refreshed.Add(-time.Hour))
	plantLockFile(t, root, "live", false, refreshed)

	unlock := func() unlockReport {
		t.Helper()
		res := requireCLI(t, bin, env, append([]string{"snapshot", "unlock", "--json"}, bucket...)...)
		var rep unlockReport
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatalf("decode unlock --json: %v\n%s", err, res)
		}
		return rep
	}
	want := lockEntry{Key: "locks/live.json", Operation: "prune", Hostname: "gone-host", PID: 4242, Time: refreshed}
	rep := unlock()
	if len(rep.Removed) != 1 || rep.Removed[0].Key != "locks/stale.json" || len(rep.Live) != 1 || rep.Live[0] != want {
		t.Fatalf("unlock --json = %+v; want locks/stale.json removed and %+v live", rep, want)
	}
	rep = unlock()
	if rep.Removed == nil || len(rep.Removed) != 0 || len(rep.Live) != 1 || rep.Live[0] != want {
		t.Fatalf("second unlock --json = %+v; want nothing removed and %+v live", rep, want)
	}
}

// A DAMAGED row in `snapshot list` keeps the columns as wide as without
// it: the reason, in full as in --json, goes on a line of its own under
// the row.
func TestListDamagedReasonOnItsOwnLine(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	root := t.TempDir()
	bucket := []string{"--bucket", "file://" + root}
	persist := chromatest.CopyDemo(t)
	var ids []string
	for range 3 {
		ids = append(ids, cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", persist}, bucket...)...))
	}
	healthy := strings.Split(requireCLI(t, bin, env, append([]string{"snapshot", "list"}, bucket...)...).stdout, "\n")
	flipByte(t, objectPath(root, manifestObjectKey(ids[1])), -1)

	var reason string
	for _, e := range cliListDamaged(t, bin, env, bucket...) {
		if e.ID == ids[1] {
			reason = e.Error
		}
	}
	res := runCLI(t, bin, env, append([]string{"snapshot", "list"}, bucket...)...)
	requireFailure(t, res, exitFailed, "DAMAGED")
	lines := strings.Split(res.stdout, "\n")
	header := lines[0]
	if reason == "" || len(header) > len(healthy[0])+len("DAMAGED")-len("SIZE") {
		t.Fatalf("a damaged row widened the table (reason %q):\nbefore:\n%s\nafter:\n%s", reason, strings.Join(healthy, "\n"), res.stdout)
	}
	at := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, ids[1]) })
	if at < 0 || at+1 >= len(lines) || !strings.Contains(lines[at], "DAMAGED") || strings.TrimSpace(lines[at+1]) != "why: "+reason {
		t.Fatalf("want the row of %s marked DAMAGED with the full reason %q on the line under it:\n%s", ids[1], reason, res.stdout)
	}
	for _, l := range lines {
		if len(l) > len(header) && !strings.HasPrefix(l, "  why: ") {
			t.Errorf("a row is wider than the header:\n%s", res.stdout)
		}
	}
}

// The collector refuses at start a snapshot jitter as long as the shortest
// gap between two runs of its cron schedule, as it does for an interval.
func TestCollectorRefusesJitterLongerThanCronGap(t *testing.T) {
	bin := binary(t)
	cfg := filepath.Join(t.TempDir(), "collector.yaml")
	yaml := `extensions:
  snapshot:
    persist_directory: ` + chromatest.CopyDemo(t) + `
    bucket:
      url: file://` + t.TempDir() + `
    cron: "0 3,4 * * *"
    jitter: 2h
receivers:
  otlp:
    protocols:
      http:
        endpoint: ` + freeAddr(t) + `
exporters:
  debug: {}
service:
  extensions: [snapshot]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, bin, cliEnv(t), "--config", cfg)
	if res.code == 0 || !strings.Contains(res.stderr, `"jitter" (2h0m0s) must be shorter than the shortest gap between two runs of "cron" "0 3,4 * * *": 1h0m0s`) {
		t.Fatalf("want the collector refused at start, naming the jitter and the gap:\n%s", res)
	}
}
