// Package testutil holds what the packages that start real servers for tests
// share: finding the repository, picking a free loopback port, and finding a
// real command or skipping (or failing) without it.
package testutil // import "github.com/otelcol-chroma/otelcol-chroma/internal/testutil"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/loopback"
)

// RepoRoot returns the nearest directory at or above the working directory
// (a test's package folder) that holds a go.mod file.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found at or above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) { return loopback.FreePort() }

// EnvRequire names the environment variable that, set to "1", turns a
// missing real component into a test failure instead of a skip.
const EnvRequire = "REQUIRE_REAL_COMPONENTS"

// Command returns the path of the first of names found on PATH. When none
// is, the test is skipped with hint, or fails if REQUIRE_REAL_COMPONENTS=1.
func Command(t testing.TB, hint string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, fmt.Sprintf("%s not found on PATH; %s", strings.Join(names, " or "), hint))
	return ""
}

// Missing skips the test because a real component is missing (msg says
// which and how to install it), or fails it if REQUIRE_REAL_COMPONENTS=1.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s=1 but %s", EnvRequire, msg)
	}
	t.Skip(msg)
}

// Eventually polls cond every 100 ms until it holds, and fails the test
// with what it waited for when deadline passes first.
func Eventually(t testing.TB, deadline time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up after %s waiting for %s", deadline, what)
		case <-tick.C:
		}
	}
}

// StartProcess starts cmd with its output going to a log file; t.Cleanup
// kills it and, when the test failed, prints the log under what's name.
func StartProcess(t testing.TB, what string, cmd *exec.Cmd) {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), what+".log"))
	if err != nil {
		t.Fatalf("%s: create log: %v", what, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start %s: %v", what, cmd.Path, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("%s log:\n%s", what, b)
		}
	})
}

// WaitReady waits until url answers 200 OK, and fails the test when it has
// not within deadline.
func WaitReady(t testing.TB, url string, deadline time.Duration) {
	t.Helper()
	Eventually(t, deadline, "ready at "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
