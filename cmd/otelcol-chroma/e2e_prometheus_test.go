package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// contractNames are the Prometheus names of the metric contract
// (../shared/DESIGN.md), as the remote-write exporter must produce them.
var contractNames = []string{
	"chroma_backup_last_success_time_seconds", "chroma_backup_age_seconds", "chroma_backup_size_bytes",
	"chroma_backup_added_size_bytes", "chroma_backup_count", "chroma_backup_last_attempt_success",
	"chroma_backup_consecutive_failures", "chroma_backup_restore_test_last_success_time_seconds",
	"chroma_backup_restore_test_age_seconds", "chroma_backup_restore_test_last_attempt_success",
	"chroma_backup_duration_seconds", "chroma_backup_writer_stall_seconds",
	"chroma_backup_restore_test_duration_seconds", "chroma_bucket_up", "chroma_bucket_size_bytes",
	"chroma_persist_up", "chroma_persist_size_bytes", "chroma_persist_collections", "chroma_persist_records",
	"chroma_persist_volume_available_bytes", "chroma_persist_volume_size_bytes",
}

// startPrometheus runs Debian's prometheus with its remote-write receiver
// on 127.0.0.1 and returns its base URL.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("REQUIRE_REAL_COMPONENTS") == "1" {
			t.Fatalf("REQUIRE_REAL_COMPONENTS=1 but prometheus is not installed (apt-get install prometheus)")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("global: {}\n"), 0o600))
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("prometheus output:\n%s", &out)
		}
	})
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "prometheus never became ready:\n%s", &out)
	return base
}

// promValue returns the value of the one series of name, or "" if none.
func promValue(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(name))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 {
		return ""
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return v
}

// The collector, with the chromabackup receiver probing a snapshot taken
// by the CLI into versitygw, sends every metric of the contract through
// the prometheus_remote_write exporter into a real Prometheus, under the
// contract's Prometheus names.
func TestMetricsReachPrometheus(t *testing.T) {
	bin := binary(t)
	prom := startPrometheus(t)
	gw := versitygw.Start(t)
	env := s3Env(t, gw)
	persist := chromatest.CopyDemo(t)
	bucketURL := gw.URLWithPrefix("prom")
	id := cliSnapshotNow(t, bin, env, "--bucket", bucketURL, "--persist-directory", persist, "--instance", "e2e")

	ctx := e2eContext(t)
	repo := engineRepo(ctx, t, bucketURL, storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret}, snapshot.Keys{})
	now := time.Now()
	require.NoError(t, repo.WriteRestoreTest(ctx, &snapshot.RestoreTestRecord{
		SnapshotID: id, Started: now.Add(-3 * time.Second), Finished: now, Success: true, LastSuccess: now,
	}))

	cfg := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `receivers:
  chromabackup:
    persist_directory: %s
    instance: e2e
    collection_interval: 500ms
    initial_delay: 0s
    bucket:
      url: %s
exporters:
  prometheus_remote_write:
    endpoint: %s/api/v1/write
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [chromabackup]
      exporters: [prometheus_remote_write]
`, persist, bucketURL, prom), 0o600))
	cmd := exec.CommandContext(ctx, bin, "--config", cfg)
	cmd.Env = env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	for _, name := range contractNames {
		require.Eventually(t, func() bool { return promValue(t, prom, name) != "" }, 2*time.Minute, 100*time.Millisecond,
			"%s never reached Prometheus; collector output:\n%s", name, &out)
	}
	assert.Equal(t, "1", promValue(t, prom, "chroma_backup_count"))
	assert.Equal(t, "1", promValue(t, prom, "chroma_bucket_up"))
	assert.Equal(t, "1", promValue(t, prom, "chroma_backup_last_attempt_success"))
	assert.Equal(t, "3", promValue(t, prom, "chroma_backup_restore_test_duration_seconds"))
	m := engineManifest(context.Background(), t, repo, id)
	assert.Equal(t, fmt.Sprint(m.Stats.LogicalBytes), promValue(t, prom, "chroma_backup_size_bytes"))
}
