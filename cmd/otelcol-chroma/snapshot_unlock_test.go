package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plantLockFile writes a lock object into a file bucket as another process
// would have.
func plantLockFile(t *testing.T, root, name string, exclusive bool, refreshed time.Time) {
	t.Helper()
	data, err := json.Marshal(map[string]any{"format": 1, "exclusive": exclusive, "operation": "prune",
		"created": refreshed, "time": refreshed, "hostname": "gone-host", "pid": 4242})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "locks"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "locks", name+".json"), data, 0o600))
}

func TestSnapshotCLIUnlock(t *testing.T) {
	root := filepath.Join(t.TempDir(), "bucket")
	bucket := "file://" + root
	plantLockFile(t, root, "aaaa", true, time.Now().Add(-time.Hour))
	plantLockFile(t, root, "bbbb", false, time.Now())
	// A lock dated far ahead never ages: it must not block the bucket until then.
	plantLockFile(t, root, "cccc", true, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))

	var rep unlockReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "unlock", "--json", "--bucket", bucket)), &rep))
	removed := rep.Removed
	require.Len(t, removed, 2)
	assert.Equal(t, "locks/aaaa.json", removed[0].Key)
	assert.Contains(t, removed[0].Stale, "not refreshed for")
	assert.Equal(t, "locks/cccc.json", removed[1].Key)
	assert.Contains(t, removed[1].Stale, "in the future")
	assert.FileExists(t, filepath.Join(root, "locks", "bbbb.json"))

	out := mustCLI(t, "unlock", "--bucket", bucket)
	assert.Contains(t, out, "removed 0 locks; 1 live locks remain")
	assert.Contains(t, out, "live: shared lock locks/bbbb.json of prune by pid 4242 on gone-host", "the live lock's holder is named")
	assert.Contains(t, out, "--force removes it")
	out = mustCLI(t, "unlock", "--force", "--bucket", bucket)
	assert.Contains(t, out, "removed shared lock locks/bbbb.json of prune by pid 4242 on gone-host")
	assert.NoFileExists(t, filepath.Join(root, "locks", "bbbb.json"))
}
