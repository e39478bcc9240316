package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// drillJSON runs `snapshot drill --json ARGS...` and decodes its report.
func drillJSON(t *testing.T, args ...string) (drillReport, string, int) {
	t.Helper()
	out, errOut, code := cli(t, append([]string{"drill", "--json"}, args...)...)
	var rep drillReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "drill output: %s / %s", out, errOut)
	return rep, errOut, code
}

// The drill subcommand runs where the reader key is: with the writer key
// alone it fails and says so; with the reader key and a real Chroma it
// passes and records the outcome that `status` shows; a damaged block
// fails it with exit code 1.
func TestSnapshotCLIDrill(t *testing.T) {
	chroma := chromatest.Binary(t)
	dir, persist, bucket, writer, reader := encryptedCLIBucket(t)
	mustCLI(t, "now", "--bucket", bucket, "--persist-directory", persist, "--writer-key", writer, "--instance", "ci")
	scratch := t.TempDir()

	_, errOut, code := cli(t, "drill", "--bucket", bucket, "--writer-key", writer, "--scratch-directory", scratch)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "reader key")

	rep, errOut, code := drillJSON(t, "--bucket", bucket, "--reader-key", reader, "--instance", "ci",
		"--scratch-directory", scratch, "--chroma-command", chroma)
	require.Zero(t, code, errOut)
	assert.True(t, rep.Passed)
	assert.True(t, rep.ChromaChecked)
	assert.True(t, rep.Recorded)
	assert.Positive(t, rep.Recovery)
	assert.Equal(t, rep.Restore+rep.ChromaReady, rep.Recovery)
	entries, err := os.ReadDir(scratch)
	require.NoError(t, err)
	assert.Empty(t, entries, "the scratch folder is deleted")

	var st statusReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "status", "--json", "--bucket", bucket, "--reader-key", reader)), &st))
	require.NotNil(t, st.RestoreTest)
	assert.True(t, st.RestoreTest.Success)
	assert.Equal(t, rep.SnapshotID, st.RestoreTest.SnapshotID)
	assert.InDelta(t, rep.Recovery.Seconds(), st.RestoreTest.Recovery, 1e-6)

	// Damage every block object: the next drill fails, exit code 1.
	blocks, err := filepath.Glob(filepath.Join(dir, "bucket", "blocks", "*", "*"))
	require.NoError(t, err)
	for _, b := range blocks {
		require.NoError(t, os.WriteFile(b, []byte("tampered"), 0o644))
	}
	rep, errOut, code = drillJSON(t, "--bucket", bucket, "--reader-key", reader, "--scratch-directory", scratch)
	assert.Equal(t, exitFailed, code)
	assert.False(t, rep.Passed)
	assert.Equal(t, "repository", rep.ErrorClass)
	assert.Contains(t, errOut, "restore drill FAILED")
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "status", "--json", "--bucket", bucket, "--reader-key", reader)), &st))
	assert.False(t, st.RestoreTest.Success)
	assert.Equal(t, "repository", st.RestoreTest.ErrorClass)
	assert.Contains(t, mustCLI(t, "status", "--bucket", bucket), "FAILED", "without a key the class stands in for the message")
	assert.False(t, st.RestoreTest.LastSuccess.IsZero(), "the last success is kept")
}
