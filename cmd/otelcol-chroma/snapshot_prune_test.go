package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// TestSnapshotCLIPrune: prune frees what forget left unreferenced, keeps
// young blocks under the grace period, and the kept snapshot reads back.
func TestSnapshotCLIPrune(t *testing.T) {
	persist := chromatest.CopyDemo(t)
	pad := newSegmentPadding(t, persist, 2<<20, 2<<20)
	bucket := "file://" + filepath.Join(t.TempDir(), "bucket")
	flags := []string{"--bucket", bucket, "--persist-directory", persist}
	pad.fill(t, 1)
	mustCLI(t, append([]string{"now", "--time", "2026-03-01T10:00:00Z"}, flags...)...)
	pad.fill(t, 2)
	mustCLI(t, append([]string{"now", "--time", "2026-03-01T11:00:00Z"}, flags...)...)
	mustCLI(t, append([]string{"forget", "--keep-last", "1"}, flags...)...)

	var rep pruneReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"prune", "--json"}, flags...)...)), &rep))
	assert.Equal(t, 6, rep.BlocksUnused, "the first snapshot's padding: 2 MiB after each segment file's end, over 3 blocks each")
	assert.Equal(t, 6, rep.BlocksYoung)
	assert.Zero(t, rep.BlocksDeleted)

	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"prune", "--dry-run", "--grace-period", "0", "--json"}, flags...)...)), &rep))
	assert.True(t, rep.DryRun)
	assert.Equal(t, 6, rep.BlocksDeleted)

	out := mustCLI(t, append([]string{"prune", "--grace-period", "0"}, flags...)...)
	assert.Contains(t, out, "1 snapshots reference")
	assert.Contains(t, out, "deleted 6 blocks (4.0 MiB)")
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, append([]string{"prune", "--grace-period", "0", "--json"}, flags...)...)), &rep))
	assert.Zero(t, rep.BlocksUnused)
	assert.Contains(t, mustCLI(t, append([]string{"verify", "--read-data"}, flags...)...), "OK")
}
