package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

const drillConfig = `extensions:
  snapshot:
    persist_directory: %[1]q
    instance: e2e-drill
    bucket:
      url: %[2]q
      access_key_id: %[3]q
      secret_access_key: %[4]q
    interval: 1h
    on_start: true
    drill:
      interval: 2s
      chroma_command: %[5]q
      scratch_directory: %[6]q
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[7]s
exporters:
  debug: {}
service:
  extensions: [snapshot]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`

// TestExtensionDrillsOnSchedule runs the collector with drills every 2 s
// and a real Chroma against versitygw: drills pass and `snapshot status`
// shows their recovery time; once a block is overwritten in the gateway's
// data folder, the next drill fails and the last success stays known.
func TestExtensionDrillsOnSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: a collector, a Chroma binary and an S3 server")
	}
	bin := binary(t)
	chromaBin := chromatest.Binary(t)
	gw := versitygw.Start(t)
	ctx := e2eContext(t)
	env := cliEnv(t)
	scratch := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "collector.yaml")
	cfg := fmt.Sprintf(drillConfig, chromatest.CopyDemo(t), gw.URLWithPrefix("drills"), gw.AccessKey, gw.Secret, chromaBin, scratch, freeAddr(t))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	col := startCollector(t, bin, env, cfgPath)
	col.waitCount(ctx, t, "Restore drill passed", 2)
	passed := drillStatus(t, bin, env, "--config", cfgPath)
	if !passed.Success || passed.Recovery <= 0 || passed.LastSuccess.IsZero() {
		t.Fatalf("status after passing drills: %+v", passed)
	}
	t.Logf("drill: %s", firstLineWith(col.log(), "Restore drill passed"))

	blocks, err := filepath.Glob(filepath.Join(gw.DataDir, gw.Bucket, "drills", "blocks", "*", "*"))
	if err != nil || len(blocks) == 0 {
		t.Fatalf("no block objects in the gateway's folder: %v", err)
	}
	for _, b := range blocks {
		if err := os.WriteFile(b, []byte("tampered"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	col.waitCount(ctx, t, "Restore drill failed: an object in the bucket is damaged", 1)
	col.stop(ctx, t)
	failed := drillStatus(t, bin, env, "--config", cfgPath)
	if failed.Success || failed.ErrorClass != "repository" || failed.LastSuccess.Before(passed.LastSuccess) {
		t.Fatalf("status after a drill of a tampered snapshot: %+v (before: %+v)", failed, passed)
	}
	if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
		t.Errorf("drills left %v in the scratch directory", entries)
	}
}

// drillStatus is the restore test as `snapshot status --json` reports it,
// for the bucket args name.
func drillStatus(t *testing.T, bin string, env []string, args ...string) restoreTest {
	t.Helper()
	res := requireCLI(t, bin, env, append([]string{"snapshot", "status", "--json"}, args...)...)
	var st statusReport
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil || st.RestoreTest == nil {
		t.Fatalf("status: %v\n%s", err, res)
	}
	if strings.TrimSpace(st.RestoreErr) != "" {
		t.Fatalf("restore-test record: %s", st.RestoreErr)
	}
	return *st.RestoreTest
}
