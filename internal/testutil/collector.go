package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// CollectorBinary returns the distribution's binary under test:
// $OTELCOL_CHROMA_BIN when set (make test builds bin/otelcol-chroma), else
// one built from cmd/otelcol-chroma into the test's temporary folder.
func CollectorBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("OTELCOL_CHROMA_BIN"); p != "" {
		return p
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("find the repository to build the collector: %v", err)
	}
	out := filepath.Join(t.TempDir(), "otelcol-chroma")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/otelcol-chroma")
	cmd.Dir, cmd.Stderr = root, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build the collector: %v", err)
	}
	return out
}

// collectorStopTimeout bounds a collector's shutdown after SIGINT at the end
// of a test before it is killed.
const collectorStopTimeout = 30 * time.Second

// StartCollector runs the distribution (CollectorBinary) with config, the
// text of a collector configuration, until the test ends: t.Cleanup sends
// SIGINT, kills it if it has not stopped within 30 s, and prints its output
// when the test failed. The returned buffer holds its output so far.
func StartCollector(t testing.TB, config string) *SyncBuffer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatalf("collector: write its configuration: %v", err)
	}
	out := &SyncBuffer{}
	cmd := exec.Command(CollectorBinary(t), "--config", path)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("collector: start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(collectorStopTimeout):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", out)
		}
	})
	return out
}
