package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// collectorProcess is the binary running as a collector, with its log.
type collectorProcess struct {
	cmd     *exec.Cmd
	out     *lineWriter
	changed chan struct{} // gets a value when a log line arrives
	done    chan error
}

// startCollector runs the collector on cfgPath; more are further --config
// values (files or yaml: overrides), merged in order.
func startCollector(t *testing.T, bin string, env []string, cfgPath string, more ...string) *collectorProcess {
	t.Helper()
	c := &collectorProcess{changed: make(chan struct{}, 1), done: make(chan error, 1)}
	c.out = &lineWriter{onLine: func(string) {
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}}
	args := []string{"--config", cfgPath}
	for _, m := range more {
		args = append(args, "--config", m)
	}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = env
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("collector log:\n%s", c.log())
		}
	})
	return c
}

func (c *collectorProcess) log() string { return c.out.all.String() }

// count is how many log lines so far contain msg.
func (c *collectorProcess) count(msg string) int { return strings.Count(c.log(), msg) }

// waitFor waits until cond holds for the log, failing if the collector
// exits or ctx ends first.
func (c *collectorProcess) waitFor(ctx context.Context, t *testing.T, what string, cond func(log string) bool) {
	t.Helper()
	for !cond(c.log()) {
		select {
		case <-c.changed:
		case err := <-c.done:
			c.done <- err
			t.Fatalf("the collector exited (%v) while waiting for %s", err, what)
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// waitCount waits until at least n log lines contain msg.
func (c *collectorProcess) waitCount(ctx context.Context, t *testing.T, msg string, n int) {
	t.Helper()
	c.waitFor(ctx, t, fmt.Sprintf("%d lines %q", n, msg), func(log string) bool { return strings.Count(log, msg) >= n })
}

// stop sends SIGINT and requires a clean exit.
func (c *collectorProcess) stop(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			t.Fatalf("the collector exited with %v after SIGINT", err)
		}
	case <-ctx.Done():
		t.Fatal("the collector did not stop after SIGINT")
	}
}

// kill sends SIGKILL and waits for the process to end.
func (c *collectorProcess) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.done <- <-c.done
}

// killWhileLocked SIGKILLs the collector as soon as a lock object for
// operation appears in locksDir (a file bucket's or versitygw's folder).
func killWhileLocked(ctx context.Context, t *testing.T, c *collectorProcess, locksDir, operation string) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		entries, _ := os.ReadDir(locksDir)
		for _, e := range entries {
			var lock snapshot.LockInfo
			data, err := os.ReadFile(filepath.Join(locksDir, e.Name()))
			if err != nil || json.Unmarshal(data, &lock) != nil || lock.Operation != operation {
				continue // gone meanwhile, still being written, or another operation's
			}
			c.kill(t)
			t.Logf("killed while holding %s", data)
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the collector never held a lock in the bucket")
		}
	}
}

// postTrace sends one empty OTLP/HTTP trace request and returns the status.
func postTrace(t *testing.T, endpoint string) int {
	t.Helper()
	resp, err := http.Post("http://"+endpoint+"/v1/traces", "application/json", strings.NewReader(`{"resourceSpans":[]}`))
	if err != nil {
		t.Fatalf("post a trace to the collector: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const extensionConfig = `extensions:
  health_check:
    endpoint: %[1]s
  snapshot:
    persist_directory: %[2]q
    instance: e2e-scheduled
    bucket:
      url: %[3]q
      access_key_id: %[4]q
      secret_access_key: %[5]q
    interval: 2s
    on_start: true
    timeout: 2m
    prune_interval: 5s
    retention:
      keep_last: %[7]d
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[6]s
exporters:
  debug: {}
service:
  extensions: [health_check, snapshot]
  telemetry:
    logs:
      level: debug
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`

// TestExtensionSnapshotsOnSchedule runs the collector with the snapshot
// extension on a schedule of seconds against a real Chroma under writes and
// a real S3 server: snapshots happen and retention keeps what it should;
// with the bucket down, attempts fail with a clear line while the other
// pipelines keep running, and succeed again once it is back; a SIGKILL
// mid-attempt and a restart leave nothing broken; SIGINT cancels an attempt
// stuck retrying a stopped bucket; every snapshot verifies byte for byte and
// restores with the manifest's counts.
func TestExtensionSnapshotsOnSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: a collector, a Chroma server and an S3 server")
	}
	bin := binary(t)
	chromaBin := chromatest.Binary(t)
	gw := versitygw.Start(t)
	ctx := e2eContext(t)
	env := cliEnv(t)

	chroma := startChromaUnderLoad(ctx, t, chromaBin, chromatest.LoadOptions{Collections: 2, BatchSize: 50, MaxOps: 1_000_000, Seed: 12})
	persist := chroma.persist

	otlpHTTP, health := freeAddr(t), freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "collector.yaml")
	const keepLast = 3
	cfg := fmt.Sprintf(extensionConfig, health, persist, gw.URLWithPrefix("scheduled"), gw.AccessKey, gw.Secret, otlpHTTP, keepLast)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	col := startCollector(t, bin, env, cfgPath)
	col.waitCount(ctx, t, "Snapshot taken", keepLast+1)
	col.waitCount(ctx, t, "Retention forgot snapshots", 1)

	t.Log("bucket down")
	gw.Stop()
	before := col.count("Snapshot attempt failed")
	col.waitCount(ctx, t, "Snapshot attempt failed: cannot reach the bucket", 1)
	failure := firstLineWith(col.log(), "Snapshot attempt failed: cannot reach the bucket")
	t.Logf("with the bucket down: %s", failure)
	for _, want := range []string{`"error_class": "bucket"`, `"what_to_do": "check \"bucket::url\" (endpoint) and the network`} {
		if !strings.Contains(failure, want) {
			t.Errorf("the failure line lacks %s", want)
		}
	}
	if got := postTrace(t, otlpHTTP); got != http.StatusOK {
		t.Errorf("OTLP/HTTP answers %d while the bucket is down, want 200", got)
	}
	resp, err := http.Get("http://" + health + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("health check while the bucket is down: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	if col.count("Snapshot attempt failed") <= before {
		t.Fatal("no failed attempt counted")
	}

	t.Log("bucket back")
	gw.Start()
	taken := col.count("Snapshot taken")
	col.waitCount(ctx, t, "Snapshot taken", taken+1)

	t.Log("SIGKILL mid-attempt, while the snapshot holds its lock in the bucket")
	killWhileLocked(ctx, t, col, filepath.Join(gw.DataDir, gw.Bucket, "scheduled", "locks"), "snapshot")

	// The killed process's lock is stale: the next start takes it over
	// (retention and prune need the exclusive lock) and finishes.
	col = startCollector(t, bin, env, cfgPath)
	col.waitCount(ctx, t, "Snapshot taken", 2)
	col.waitCount(ctx, t, "Prune done", 1)
	col.waitCount(ctx, t, "Retention forgot snapshots", 1)
	if !strings.Contains(col.log(), "removed a stale lock") {
		t.Errorf("the restarted collector did not report taking over the killed one's lock")
	}
	for _, bad := range []string{"Retention failed", "Prune failed"} {
		if line := firstLineWith(col.log(), bad); line != "" {
			t.Errorf("after the restart: %s", line)
		}
	}

	t.Log("SIGINT while an attempt retries a stopped bucket")
	gw.Stop()
	started := col.count("Snapshot attempt started")
	col.waitCount(ctx, t, "Snapshot attempt started", started+1)
	col.stop(ctx, t)
	if !strings.Contains(col.log(), "Snapshot attempt cancelled") {
		t.Errorf("shutdown did not cancel the attempt")
	}
	if line := firstLineWith(col.log(), "did not stop in time"); line != "" {
		t.Errorf("the attempt held up shutdown: %s", line)
	}
	gw.Start()

	if err := chroma.stopLoad(); err != nil {
		t.Fatalf("load writer: %v", err)
	}
	n := checkEverySnapshotRestores(ctx, t, bin, env, cfgPath)
	// The last attempt may have ended at SIGINT between its snapshot and
	// its retention step.
	if n < keepLast || n > keepLast+1 {
		t.Errorf("retention keep_last %d: the bucket lists %d snapshots", keepLast, n)
	}
}

// checkEverySnapshotRestores verifies every listed snapshot byte for byte
// and restores it into a folder whose counts must match its manifest. It
// returns how many there are.
func checkEverySnapshotRestores(ctx context.Context, t *testing.T, bin string, env []string, cfgPath string) int {
	t.Helper()
	entries := cliList(t, bin, env, "--config", cfgPath)
	if len(entries) == 0 {
		t.Fatal("the bucket lists no snapshot")
	}
	for _, e := range entries {
		if e.Error != "" {
			t.Errorf("snapshot %s lists with an error: %s", e.ID, e.Error)
			continue
		}
		requireCLI(t, bin, env, "snapshot", "verify", e.ID, "--read-data", "--config", cfgPath)
		dir := filepath.Join(t.TempDir(), "restore")
		requireCLI(t, bin, env, "snapshot", "restore", e.ID, "--to", dir, "--config", cfgPath)
		collections, records := counts(t, dir)
		if e.Collections == nil || e.Records == nil || int64(*e.Collections) != collections || *e.Records != records {
			t.Errorf("snapshot %s restores %d collections and %d records; the list says %v and %v", e.ID, collections, records, e.Collections, e.Records)
		}
	}
	if ctx.Err() != nil {
		t.Fatal(ctx.Err())
	}
	t.Logf("%d snapshots verified and restored", len(entries))
	return len(entries)
}

func firstLineWith(log, msg string) string {
	for line := range strings.Lines(log) {
		if strings.Contains(line, msg) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
