package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

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
