package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// cli runs `otelcol-chroma snapshot ARGS...` in-process and returns stdout,
// stderr and the exit code the binary would have.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	providers := []confmap.ProviderFactory{envprovider.NewFactory(), fileprovider.NewFactory()}
	cmd := newSnapshotCommand(providers, "test")
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		return out.String(), errOut.String() + err.Error(), exitCode(err)
	}
	return out.String(), errOut.String(), 0
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, args...)
	require.Zero(t, code, "snapshot %s: %s", strings.Join(args, " "), errOut)
	return out
}

func counts(t *testing.T, dir string) (collections, records int64) {
	t.Helper()
	db, err := chromadb.Open(context.Background(), filepath.Join(dir, "chroma.sqlite3"), 0)
	require.NoError(t, err)
	defer db.Close()
	collections, records, err = db.Counts(context.Background())
	require.NoError(t, err)
	return collections, records
}

func TestSnapshotCLIRoundTrip(t *testing.T) {
	persist := chromatest.CopyDemo(t)
	want := chromatest.DemoExpected(t)
	bucket := "file://" + t.TempDir()

	out := mustCLI(t, "now", "--bucket", bucket, "--persist-directory", persist, "--instance", "ci")
	assert.Contains(t, out, "2270 records")
	mustCLI(t, "now", "--bucket", bucket, "--persist-directory", persist)

	var list []listEntry
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "list", "--json", "--bucket", bucket)), &list))
	require.Len(t, list, 2)
	assert.True(t, list[0].Time.After(list[1].Time) || list[0].Time.Equal(list[1].Time), "newest first")
	require.NotNil(t, list[1].Records)
	assert.Equal(t, int64(want.Records), *list[1].Records)
	assert.Equal(t, want.Collections, *list[1].Collections)
	assert.Positive(t, *list[1].Added)
	assert.Zero(t, *list[0].Added, "an unchanged persist dir adds no blocks")
	assert.Equal(t, "ci", list[1].Instance)

	var st statusReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "status", "--json", "--bucket", bucket)), &st))
	assert.Equal(t, 2, st.Snapshots)
	assert.Equal(t, list[0].ID, st.Newest.ID)
	assert.Positive(t, st.BucketBytes)
	assert.Contains(t, mustCLI(t, "status", "--bucket", bucket), "restore test:     never run")

	assert.Contains(t, mustCLI(t, "verify", list[1].ID, "--read-data", "--bucket", bucket), "OK")

	target := filepath.Join(t.TempDir(), "restored")
	out = mustCLI(t, "restore", "--bucket", bucket, "--to", target)
	assert.Contains(t, out, list[0].ID)
	c, r := counts(t, target)
	assert.Equal(t, int64(want.Collections), c)
	assert.Equal(t, int64(want.Records), r)

	// A non-empty target is refused, and kept, without --force.
	_, errOut, code := cli(t, "restore", "--bucket", bucket, "--to", target)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "--force")
	marker := filepath.Join(target, "keep-me")
	require.NoError(t, os.WriteFile(marker, []byte("x"), 0o600))
	_, _, code = cli(t, "restore", "--bucket", bucket, "--to", target)
	assert.Equal(t, exitFailed, code)
	assert.FileExists(t, marker)

	mustCLI(t, "restore", list[1].ID, "--bucket", bucket, "--to", target, "--force")
	assert.NoFileExists(t, marker)
	_, r = counts(t, target)
	assert.Equal(t, int64(want.Records), r)

	// The snapshot's database passed integrity_check when it was taken: the
	// restore runs quick_check on the same bytes by default, integrity_check
	// with --full-check.
	for flag, pragma := range map[string]string{"--quick-check": "quick_check", "--full-check": "integrity_check"} {
		dir := filepath.Join(t.TempDir(), "checked")
		assert.Contains(t, mustCLI(t, "restore", "--bucket", bucket, "--to", dir, flag), "record counts and PRAGMA "+pragma+" passed")
		_, r = counts(t, dir)
		assert.Equal(t, int64(want.Records), r)
	}
	assert.Contains(t, mustCLI(t, "restore", "--bucket", bucket, "--to", filepath.Join(t.TempDir(), "default")), "PRAGMA quick_check passed")
}

// encryptedCLIBucket makes a folder bucket (dir/bucket), a copy of the demo
// persist directory and a key pair made by keygen.
func encryptedCLIBucket(t *testing.T) (dir, persist, bucket, writer, reader string) {
	t.Helper()
	dir = t.TempDir()
	persist = chromatest.CopyDemo(t)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "bucket"), 0o755))
	bucket = "file://" + filepath.Join(dir, "bucket")
	writer, reader = filepath.Join(dir, "writer.key"), filepath.Join(dir, "reader.key")
	mustCLI(t, "keygen", "--writer-key", writer, "--reader-key", reader)
	return dir, persist, bucket, writer, reader
}

func TestSnapshotCLIEncrypted(t *testing.T) {
	dir, persist, bucket, writer, reader := encryptedCLIBucket(t)
	_, errOut, code := cli(t, "keygen", "--writer-key", writer, "--reader-key", filepath.Join(dir, "other.key"))
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "never overwrites")

	mustCLI(t, "now", "--bucket", bucket, "--persist-directory", persist, "--writer-key", writer)

	// Someone holding only the bucket sees no collection name.
	err := filepath.WalkDir(filepath.Join(dir, "bucket"), func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			for _, name := range []string{"articles", "products", "empty-archive", "chroma.sqlite3"} {
				assert.NotContains(t, string(b), name, "%s leaks %q", p, name)
			}
		}
		return nil
	})
	require.NoError(t, err)

	// With the writer key only ids and times are listed.
	out := mustCLI(t, "list", "--bucket", bucket, "--writer-key", writer)
	assert.Contains(t, out, "pass --reader-key")
	out = mustCLI(t, "list", "--bucket", bucket, "--reader-key", reader)
	assert.Contains(t, out, "2270")

	_, errOut, code = cli(t, "restore", "--bucket", bucket, "--to", filepath.Join(dir, "r1"), "--writer-key", writer)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "reader key")

	otherW, otherR := filepath.Join(dir, "w2.key"), filepath.Join(dir, "r2.key")
	mustCLI(t, "keygen", "--writer-key", otherW, "--reader-key", otherR)
	_, errOut, code = cli(t, "restore", "--bucket", bucket, "--to", filepath.Join(dir, "r2"), "--reader-key", otherR)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "does not match")
	assert.NoDirExists(t, filepath.Join(dir, "r2"))

	mustCLI(t, "restore", "--bucket", bucket, "--to", filepath.Join(dir, "r3"), "--reader-key", reader)
	_, r := counts(t, filepath.Join(dir, "r3"))
	assert.Equal(t, int64(chromatest.DemoExpected(t).Records), r)
}

func TestSnapshotCLIReadsCollectorConfig(t *testing.T) {
	dir := t.TempDir()
	persist := chromatest.CopyDemo(t)
	t.Setenv("TEST_BUCKET_DIR", t.TempDir())
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
receivers:
  chromabackup:
    persist_directory: `+persist+`
extensions:
  health_check: {}
  snapshot:
    persist_directory: `+persist+`
    instance: from-config
    bucket:
      url: file://${env:TEST_BUCKET_DIR}
`), 0o600))

	mustCLI(t, "now", "--config", cfg)
	var list []listEntry
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "list", "--json", "--config", cfg)), &list))
	require.Len(t, list, 1)
	assert.Equal(t, "from-config", list[0].Instance)

	// A flag overrides the config.
	other := "file://" + t.TempDir()
	mustCLI(t, "now", "--config", cfg, "--bucket", other, "--instance", "from-flag")
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "list", "--json", "--bucket", other)), &list))
	require.Len(t, list, 1)
	assert.Equal(t, "from-flag", list[0].Instance)
}

// On the command line a relative --bucket folder is the working
// directory's; in a configuration, which has none, it is refused.
func TestSnapshotCLIRelativeBucketFolder(t *testing.T) {
	dir := t.TempDir()
	persist := chromatest.CopyDemo(t)
	t.Chdir(dir)
	require.NoError(t, os.Mkdir("bucket", 0o755))
	mustCLI(t, "now", "--bucket", "bucket", "--persist-directory", persist)
	var list []listEntry
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "list", "--json", "--bucket", "file://"+filepath.Join(dir, "bucket"))), &list))
	require.Len(t, list, 1)

	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("extensions:\n  snapshot:\n    persist_directory: "+persist+"\n    bucket:\n      url: s3:/bucket\n"), 0o600))
	_, errOut, code := cli(t, "now", "--config", cfg)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `"bucket::url" is neither a URL nor an absolute folder path`)
	assert.NoDirExists(t, filepath.Join(dir, "s3:"), "nothing was written to the working directory")
}

func TestSnapshotCLIUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bucket := "file://" + filepath.Join(dir, "bucket")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"list"}, "no bucket"},
		{[]string{"now", "--bucket", bucket}, "no persist directory"},
		{[]string{"restore", "--bucket", bucket}, "--to"},
		{[]string{"verify", "a", "b", "--bucket", bucket}, "one snapshot id"},
		{[]string{"list", "--bogus"}, "unknown flag"},
		{[]string{"frobnicate"}, "unexpected argument"},
		{[]string{"keygen", "--writer-key", filepath.Join(dir, "w")}, "--reader-key"},
		{[]string{"list", "--extension", "x", "--bucket", bucket}, "--extension needs --config"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := cli(t, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, errOut, tt.msg)
		})
	}
}

func TestSnapshotCLIFailures(t *testing.T) {
	dir := t.TempDir()
	bucket := "file://" + t.TempDir()

	_, errOut, code := cli(t, "now", "--bucket", bucket, "--persist-directory", filepath.Join(dir, "missing"))
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "missing")

	_, errOut, code = cli(t, "now", "--bucket", bucket, "--persist-directory", t.TempDir())
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "Chroma")

	_, errOut, code = cli(t, "restore", "--bucket", bucket, "--to", filepath.Join(dir, "r"))
	assert.Equal(t, exitFailed, code)
	assert.NotEmpty(t, errOut)
	assert.NoDirExists(t, filepath.Join(dir, "r"))

	_, errOut, code = cli(t, "now", "--bucket", bucket, "--persist-directory", chromatest.CopyDemo(t), "--writer-key", filepath.Join(dir, "nokey"))
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "writer_key_file")
}
