package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// interruptedCLI starts the binary, waits until ready is closed, sends
// SIGINT, and returns how it ended.
func interruptedCLI(ctx context.Context, t *testing.T, bin string, env []string, ready <-chan struct{}, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("the command ended before the point to interrupt it (%v):\n%s\n%s", err, &stdout, &stderr)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		t.Fatal("the command never reached the point to interrupt it")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(cliTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("no exit after SIGINT:\n%s", &stderr)
	}
	res := cliResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		res.code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return res
}

// markerCommand is a chroma command that creates marker, then runs the
// real chroma: the drill is then certainly serving the restored copy.
func markerCommand(t *testing.T, chromaBin, marker string) string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "chroma")
	body := fmt.Sprintf("#!/bin/sh\n: > %q\nexec %q \"$@\"\n", marker, chromaBin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// waitFile returns a channel closed once path exists.
func waitFile(ctx context.Context, path string) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := os.Stat(path); err == nil {
				close(ch)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return ch
}

// A drill interrupted with SIGINT, while it downloads blocks from a real S3
// server and while a real Chroma serves the restored copy, says it was
// cancelled (not FAILED), exits 1 like any command cut short, records
// nothing in the bucket (the last passing drill stands, so no
// ChromaRestoreTestFailing), and leaves its scratch directory empty.
func TestDrillInterruptedIsCancelledNotFailed(t *testing.T) {
	bin := binary(t)
	chromaBin := chromatest.Binary(t)
	gw := versitygw.Start(t)
	env := s3Env(t, gw)
	ctx := e2eContext(t)
	bucket := []string{"--bucket", gw.URLWithPrefix("drills"), "--instance", "e2e"}
	endpoint, downloading, _ := holdingProxy(t, gw.Endpoint, http.MethodGet)
	scratch := t.TempDir()
	cliSnapshotNow(t, bin, env, append([]string{"--persist-directory", chromatest.CopyDemo(t)}, bucket...)...)
	requireCLI(t, bin, env, append([]string{"snapshot", "drill", "--scratch-directory", scratch}, bucket...)...)
	passed := drillStatus(t, bin, env, bucket...)

	marker := filepath.Join(t.TempDir(), "chroma-started")
	for _, c := range []struct {
		phase string
		ready <-chan struct{}
		args  []string
	}{
		{"download", downloading, []string{"--bucket", s3URL(gw.Bucket, "drills", endpoint)}},
		{"chroma", waitFile(ctx, marker), append([]string{"--chroma-command", markerCommand(t, chromaBin, marker)}, bucket...)},
	} {
		t.Run(c.phase, func(t *testing.T) {
			args := append([]string{"snapshot", "drill", "--json", "--scratch-directory", scratch, "--instance", "e2e"}, c.args...)
			res := interruptedCLI(ctx, t, bin, env, c.ready, args...)
			requireFailure(t, res, exitFailed, "cancelled", "nothing was recorded")
			if strings.Contains(res.stderr, "FAILED") {
				t.Errorf("an interrupted drill reports a failure:\n%s", res)
			}
			var rep drillReport
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || !rep.Cancelled || rep.Passed || rep.Recorded {
				t.Errorf("drill --json of an interrupted drill: %+v (%v)\n%s", rep, err, res)
			}
			if got := drillStatus(t, bin, env, bucket...); !got.Success || !got.Finished.Equal(passed.Finished) {
				t.Errorf("an interrupted drill changed the restore-test record:\n got %+v\nwant %+v", got, passed)
			}
			if entries, _ := os.ReadDir(scratch); len(entries) != 0 {
				t.Errorf("an interrupted drill left %v in the scratch directory", entries)
			}
		})
	}
}
