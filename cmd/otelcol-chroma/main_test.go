package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// binary returns the collector binary under test: $OTELCOL_CHROMA_BIN when set
// (make test builds it once), otherwise a fresh build.
func binary(t *testing.T) string { return testutil.CollectorBinary(t) }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer = testutil.SyncBuffer

// TestRunsEmbeddedDefaultConfig starts the binary the way `make run` does, without
// --config, and checks that it snapshots and probes the demo persist directory
// and the snapshots' bucket, prints the metrics, answers its health check and
// stops cleanly on SIGINT.
func TestRunsEmbeddedDefaultConfig(t *testing.T) {
	bin := binary(t)
	persist := chromatest.CopyDemo(t)
	want := chromatest.DemoExpected(t)
	health := freeAddr(t)
	otlpHTTP := freeAddr(t)
	bucket := t.TempDir() // a folder bucket must exist

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CHROMA_PERSIST_DIR="+persist,
		"CHROMA_PROBE_INTERVAL=200ms",
		"CHROMA_INSTANCE=demo-test",
		"DEBUG_VERBOSITY=detailed",
		"OTLP_GRPC_ENDPOINT="+freeAddr(t),
		"OTLP_HTTP_ENDPOINT="+otlpHTTP,
		"HEALTH_CHECK_ENDPOINT="+health,
		"SNAPSHOT_BUCKET_URL=file://"+bucket,
	)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + health + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "health check never answered; output:\n%s", &out)

	require.Eventually(t, func() bool {
		return metricValue(out.String(), "chroma.persist.records") == fmt.Sprint(want.Records)
	}, time.Minute, 50*time.Millisecond, "chroma.persist.records never printed as %d; output:\n%s", want.Records, &out)
	assert.Equal(t, fmt.Sprint(want.Collections), metricValue(out.String(), "chroma.persist.collections"))

	// The snapshot extension takes one at start, into the configured bucket.
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Snapshot taken") },
		time.Minute, 50*time.Millisecond, "no snapshot at start; output:\n%s", &out)
	repo := engineRepo(context.Background(), t, bucket, storage.Options{}, snapshot.Keys{})
	summaries, err := repo.List(context.Background())
	require.NoError(t, err)
	require.Len(t, summaries, 1)
	m := engineManifest(context.Background(), t, repo, summaries[0].ID)
	assert.Equal(t, int64(want.Records), m.Records())
	assert.Equal(t, "demo-test", m.Instance)
	assert.Equal(t, "1", metricValue(out.String(), "chroma.persist.up"))
	// The receiver reads the snapshots' bucket too: the backup metrics.
	require.Eventually(t, func() bool {
		return metricValue(out.String(), "chroma.backup.count") == "1" &&
			metricValue(out.String(), "chroma.backup.last_attempt.success") == "1"
	}, time.Minute, 50*time.Millisecond, "the bucket's backup metrics never showed the snapshot; output:\n%s", &out)
	assert.Contains(t, out.String(), "demo-test")
	assert.NotContains(t, out.String(), persist, "no path in the telemetry or the logs")

	// Chroma's real telemetry, with planted secrets, goes through the vendor
	// policy before it is printed.
	sent := replayCorpus(t, "http://"+otlpHTTP)
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "GET /api/v2/heartbeat") &&
			strings.Contains(out.String(), "http.route")
	}, time.Minute, 50*time.Millisecond, "the scrubbed spans were never printed; output:\n%s", &out)
	require.Positive(t, sent)
	lower := strings.ToLower(out.String())
	for _, secret := range []string{"canary", "/home/runner", "127.0.0.1:80"} {
		assert.NotContains(t, lower, secret, "a planted value reached the output")
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-done:
		assert.NoError(t, err, "exit status after SIGINT; output:\n%s", &out)
		done <- err
	case <-time.After(time.Minute):
		t.Fatalf("collector did not stop within a minute of SIGINT")
	}
}

// replayCorpus posts the traces and metrics a real Chroma server exported
// (../shared/corpus) to an OTLP/HTTP endpoint and returns how many requests
// were accepted.
func replayCorpus(t *testing.T, endpoint string) int {
	t.Helper()
	root, err := chromatest.RepoRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "..", "shared", "corpus", "chroma-1.0.1", "run1-default.otlp.jsonl"))
	require.NoError(t, err, "the telemetry corpus is expected in ../shared beside the repository")
	sent := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct {
			Signal string          `json:"signal"`
			Body   json.RawMessage `json:"otlp_json"`
		}
		require.NoError(t, json.Unmarshal(line, &rec))
		resp, err := http.Post(endpoint+"/v1/"+rec.Signal, "application/json", bytes.NewReader(rec.Body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "OTLP/HTTP %s", rec.Signal)
		sent++
	}
	return sent
}

// metricValue finds the last "Value: N" the debug exporter printed for a metric.
func metricValue(output, name string) string {
	var value string
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inMetric := false
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "-> Name: ") {
			inMetric = strings.HasSuffix(strings.TrimSpace(line), "-> Name: "+name)
			continue
		}
		if inMetric && strings.Contains(line, "Value: ") {
			value = strings.TrimSpace(line[strings.Index(line, "Value: ")+len("Value: "):])
			inMetric = false
		}
	}
	return value
}
