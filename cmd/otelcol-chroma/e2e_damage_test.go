package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// cliKeys makes a key pair with the binary and returns the two files.
func cliKeys(t *testing.T, bin string, env []string) (writer, reader string) {
	t.Helper()
	dir := t.TempDir()
	writer, reader = filepath.Join(dir, "writer.key"), filepath.Join(dir, "reader.key")
	requireCLI(t, bin, env, "snapshot", "keygen", "--writer-key", writer, "--reader-key", reader)
	return writer, reader
}

// requireOutput fails unless stdout holds every one of wants.
func requireOutput(t *testing.T, res cliResult, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("stdout does not show %q:\n%s", w, res)
		}
	}
}

// A live chroma.sqlite3 with a page of junk, in an encrypted repository on
// a real S3 server: `now` stores the snapshot but fails loudly, list and
// status mark it, verify fails, restore refuses it, and restore --no-check
// gives its bytes back exactly.
func TestCLISnapshotOfDamagedDatabase(t *testing.T) {
	bin := binary(t)
	gw := versitygw.Start(t)
	env := s3Env(t, gw)
	writer, reader := cliKeys(t, bin, env)
	demo := chromatest.CopyDemo(t)
	bucket := []string{"--bucket", gw.URLWithPrefix("damaged"), "--instance", "e2e"}
	now := append([]string{"snapshot", "now", "--persist-directory", demo, "--writer-key", writer}, bucket...)
	withReader := func(args ...string) []string { return append(append(args, "--reader-key", reader), bucket...) }

	good := cliSnapshotNow(t, bin, env, now[2:]...)
	chromatest.DamageTable(t, demo, "embedding_metadata")
	res := runCLI(t, bin, env, now...)
	requireFailure(t, res, exitFailed, "damaged", "integrity_check", "stored anyway", "--no-check")
	m := snapshotIDLine.FindStringSubmatch(res.stdout)
	if m == nil || m[1] == good {
		t.Fatalf("no new snapshot id in the output:\n%s", res)
	}
	damaged := m[1]

	entries := cliList(t, bin, env, withReader()...)
	if len(entries) != 2 || entries[0].ID != damaged || !entries[0].SourceDamaged || len(entries[0].SourceProblems) == 0 || entries[1].SourceDamaged {
		t.Fatalf("list --json = %+v; want %s marked damaged, %s not", entries, damaged, good)
	}
	requireOutput(t, requireCLI(t, bin, env, withReader("snapshot", "list")...), sourceDamagedNote)
	requireOutput(t, requireCLI(t, bin, env, withReader("snapshot", "status")...),
		sourceDamagedNote, "e2e: FAILED", "(source_corrupt), 1 consecutive failures")

	requireFailure(t, runCLI(t, bin, env, withReader("snapshot", "verify", "--read-data")...), exitFailed, "damaged", damaged)
	target := filepath.Join(t.TempDir(), "restored")
	requireFailure(t, runCLI(t, bin, env, withReader("snapshot", "restore", "--to", target)...), exitFailed, "damaged", "--no-check")
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("a refused restore touched its target: %v", err)
	}
	for _, pair := range [][]string{{"--no-check", "--quick-check"}, {"--no-check", "--full-check"}, {"--quick-check", "--full-check"}} {
		requireFailure(t, runCLI(t, bin, env, withReader("snapshot", "restore", pair[0], pair[1], "--to", target)...), exitUsage, "give one of them")
	}
	res = requireCLI(t, bin, env, withReader("snapshot", "restore", "--no-check", "--to", target)...)
	requireOutput(t, res, "NOT checked")
	if !strings.Contains(res.stderr, "damaged") {
		t.Errorf("restore --no-check of a damaged snapshot gives no warning:\n%s", res)
	}
	if got, want := treeDigest(t, target), treeDigest(t, demo); !maps.Equal(got, want) {
		t.Fatalf("restore --no-check is not byte-exact:\n got %v\nwant %v", got, want)
	}
	// The good snapshot restores as before.
	requireCLI(t, bin, env, withReader("snapshot", "restore", good, "--to", filepath.Join(t.TempDir(), "good"))...)
}

// A live chroma.sqlite3 whose index disagrees with its table passes
// quick_check but fails the integrity_check a restore runs: `now` must fail
// on it and mark the snapshot damaged, and verify must say so, rather than
// report a snapshot that restore then refuses.
func TestCLISnapshotOfDamagedIndex(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	demo := chromatest.CopyDemo(t)
	bucket := []string{"--bucket", "file://" + t.TempDir()}
	chromatest.DamageIndex(t, demo)
	res := runCLI(t, bin, env, append([]string{"snapshot", "now", "--persist-directory", demo}, bucket...)...)
	requireFailure(t, res, exitFailed, "damaged", "integrity_check", "missing from index", "--no-check")
	requireFailure(t, runCLI(t, bin, env, append([]string{"snapshot", "verify", "--read-data"}, bucket...)...), exitFailed, "damaged")
	entries := cliList(t, bin, env, bucket...)
	if len(entries) != 1 || !entries[0].SourceDamaged {
		t.Fatalf("list --json = %+v; want the one snapshot marked damaged", entries)
	}
}

// In an encrypted repository a planted restore-test record never shows as
// passed, and deleting the newest manifest makes restore latest, verify
// latest and status say so instead of rolling back silently.
func TestCLIForgedStatusAndVanishedSnapshot(t *testing.T) {
	bin := binary(t)
	env := cliEnv(t)
	writer, reader := cliKeys(t, bin, env)
	demo := chromatest.CopyDemo(t)
	root := t.TempDir()
	bucket := []string{"--bucket", "file://" + root, "--instance", "e2e"}
	older := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", demo, "--writer-key", writer}, bucket...)...)
	newest := cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", demo, "--writer-key", writer}, bucket...)...)

	planted := `{"format":1,"snapshot_id":"` + newest + `","started":"2026-03-01T11:00:00Z","finished":"2026-03-01T11:00:42Z","success":true}`
	plantedPath := objectPath(root, "status/restore-test.json")
	if err := os.MkdirAll(filepath.Dir(plantedPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plantedPath, []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range [][]string{{"--reader-key", reader}, {"--writer-key", writer}} {
		res := requireCLI(t, bin, env, append(append([]string{"snapshot", "status"}, key...), bucket...)...)
		if strings.Contains(res.stdout, "restore test:     passed") {
			t.Fatalf("status shows a planted restore-test record as passed:\n%s", res)
		}
		requireOutput(t, res, "restore test:     UNTRUSTED")
	}
	requireOutput(t, requireCLI(t, bin, env, append([]string{"snapshot", "status"}, bucket...)...), "UNVERIFIED")

	if err := os.Remove(objectPath(root, manifestObjectKey(newest))); err != nil {
		t.Fatal(err)
	}
	withReader := append([]string{"--reader-key", reader}, bucket...)
	target := filepath.Join(t.TempDir(), "restored")
	requireFailure(t, runCLI(t, bin, env, append([]string{"snapshot", "restore", "latest", "--to", target}, withReader...)...),
		exitFailed, newest, "deleted outside retention", older)
	requireFailure(t, runCLI(t, bin, env, append([]string{"snapshot", "verify", "latest", "--read-data"}, withReader...)...),
		exitFailed, newest, "deleted outside retention")
	requireOutput(t, requireCLI(t, bin, env, append([]string{"snapshot", "status"}, withReader...)...), "WARNING", newest, "MISSING")
	requireCLI(t, bin, env, append([]string{"snapshot", "restore", older, "--to", target}, withReader...)...)
}
