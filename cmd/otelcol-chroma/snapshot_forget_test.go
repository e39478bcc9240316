package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

func TestParseSnapshotTime(t *testing.T) {
	got, err := parseSnapshotTime("2025-01-03 07:00:00")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 3, 7, 0, 0, 0, time.Local), got)
	got, err = parseSnapshotTime("2025-01-03T07:00:00+02:00")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 3, 5, 0, 0, 0, time.UTC).Unix(), got.Unix())
	_, err = parseSnapshotTime("yesterday")
	require.Error(t, err)
	assert.Equal(t, exitUsage, exitCode(err))
	assert.Contains(t, err.Error(), "RFC 3339")
}

// forgetFixture takes snapshots of the demo recorded at the given times.
func forgetFixture(t *testing.T, instance string, times ...string) (bucket string, persist string) {
	persist = chromatest.CopyDemo(t)
	bucket = "file://" + t.TempDir()
	for _, tm := range times {
		mustCLI(t, "now", "--bucket", bucket, "--persist-directory", persist, "--instance", instance, "--time", tm)
	}
	return bucket, persist
}

func TestSnapshotCLIForget(t *testing.T) {
	bucket, persist := forgetFixture(t, "ci", "2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", "2026-03-03T10:00:00Z")
	mustCLI(t, "now", "--bucket", bucket, "--persist-directory", persist, "--instance", "other", "--time", "2026-03-01T09:00:00Z")

	var rep forgetReport
	out := mustCLI(t, "forget", "--keep-daily", "2", "--dry-run", "--json", "--bucket", bucket, "--instance", "ci")
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Groups, 1)
	g := rep.Groups[0]
	assert.Equal(t, "ci", g.Instance)
	require.Len(t, g.Keep, 2)
	assert.Equal(t, "2026-03-03T10:00:00Z", g.Keep[0].Time.Format(time.RFC3339))
	assert.Equal(t, []string{"daily snapshot"}, g.Keep[0].Reasons)
	assert.Equal(t, "2026-03-02T11:00:00Z", g.Keep[1].Time.Format(time.RFC3339))
	require.Len(t, g.Remove, 2)
	assert.Empty(t, rep.Removed)

	var list []listEntry
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "list", "--json", "--bucket", bucket)), &list))
	require.Len(t, list, 5, "a dry run removes nothing")

	out = mustCLI(t, "forget", "--keep-daily", "2", "--dry-run", "--scope", "bucket", "--bucket", bucket)
	assert.Contains(t, out, "\nall instances: keep 3, remove 2\n", "scope bucket is one group of every instance's snapshots")
	out = mustCLI(t, "forget", "--keep-daily", "2", "--bucket", bucket)
	assert.Contains(t, out, "no snapshots in scope")
	assert.Contains(t, out, "--scope per_instance")
	out = mustCLI(t, "forget", "--keep-daily", "2", "--bucket", bucket, "--instance", "ci")
	assert.Contains(t, out, "removed 2 snapshots")
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "list", "--json", "--bucket", bucket)), &list))
	require.Len(t, list, 3)
	assert.Equal(t, "other", list[2].Instance, "another instance's snapshot stays")
}

// TestSnapshotCLIForgetConfig: without --keep-* flags the config's
// retention applies, defaults filled in.
func TestSnapshotCLIForgetConfig(t *testing.T) {
	bucket, _ := forgetFixture(t, "ci", "2026-03-01T10:00:00Z", "2026-03-01T10:30:00Z", "2026-03-02T10:00:00Z")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("extensions:\n  snapshot:\n    instance: ci\n    bucket: {url: \""+bucket+"\"}\n    retention: {keep_hourly: 0, keep_daily: 1}\n"), 0o600))
	var rep forgetReport
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, "forget", "--config", cfg, "--json")), &rep))
	assert.Equal(t, "keep 1 daily, keep 4 weekly, keep 3 monthly", rep.Policy)
	require.Len(t, rep.Groups, 1)
	assert.Len(t, rep.Groups[0].Keep, 2) // the newest (daily, weekly, monthly) and 2026-03-01 10:30 (weekly)
	assert.Len(t, rep.Removed, 1)
}

func TestSnapshotCLIForgetUsage(t *testing.T) {
	bucket, _ := forgetFixture(t, "ci", "2026-03-01T10:00:00Z")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"forget"}, "no retention policy"},
		{[]string{"forget", "--keep-within", "30s"}, "keep_within"},
		{[]string{"forget", "--keep-last", "-1"}, "keep_last is -1"},
		{[]string{"forget", "--keep-last", "1", "--scope", "all"}, "unknown scope"},
		{[]string{"forget", "--keep-last", "1", "--time-zone", "Nowhere/Land"}, "not a time zone"},
		{[]string{"now", "--time", "noon"}, "--time"},
	} {
		_, errOut, code := cli(t, append(c.args, "--bucket", bucket)...)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.want, "%v", c.args)
	}
}
