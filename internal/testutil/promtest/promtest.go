// Package promtest runs Debian's Prometheus and Alertmanager for tests, alone
// and on 127.0.0.1. scripts/install-prometheus.sh installs them. Without them
// a test is skipped, unless REQUIRE_REAL_COMPONENTS=1 turns that into a
// failure.
package promtest // import "github.com/otelcol-chroma/otelcol-chroma/internal/testutil/promtest"

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

const installHint = "run scripts/install-prometheus.sh (or make tools)"

// readyTimeout bounds how long a server may take to answer /-/ready.
const readyTimeout = 30 * time.Second

// Server is a running Prometheus or Alertmanager.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL  string
	Port int

	t    testing.TB
	cmd  *exec.Cmd
	logs *testutil.SyncBuffer
	done chan struct{}
}

// Binary returns the path of the named program (prometheus,
// prometheus-alertmanager, promtool, amtool), or skips the test (fails it
// when REQUIRE_REAL_COMPONENTS=1) when it is not installed.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("REQUIRE_REAL_COMPONENTS") == "1" {
			t.Fatalf("%s not found (%v); %s", name, err, installHint)
		}
		t.Skipf("%s not found (%v); %s", name, err, installHint)
	}
	return p
}

// StartAlertmanager runs Alertmanager alone (no cluster) with the given
// configuration on a free port. t.Cleanup stops it.
func StartAlertmanager(t testing.TB, config string) *Server {
	t.Helper()
	return StartAlertmanagerOn(t, config, freePort(t))
}

// StartAlertmanagerOn is StartAlertmanager on a given port.
func StartAlertmanagerOn(t testing.TB, config string, port int) *Server {
	t.Helper()
	bin := Binary(t, "prometheus-alertmanager")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "alertmanager.yml", config)
	return start(t, bin, port,
		"--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listenAddr(port),
		"--cluster.listen-address=",
	)
}

// StartPrometheus runs Prometheus with the given configuration and its
// remote-write receiver on a free port. Rule files the configuration names
// must exist. t.Cleanup stops it.
func StartPrometheus(t testing.TB, config string) *Server {
	t.Helper()
	bin := Binary(t, "prometheus")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "prometheus.yml", config)
	port := freePort(t)
	return start(t, bin, port,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listenAddr(port),
		"--web.enable-remote-write-receiver",
	)
}

// FreePort returns a free port on 127.0.0.1, failing the test otherwise.
func FreePort(t testing.TB) int {
	t.Helper()
	return freePort(t)
}

func freePort(t testing.TB) int {
	t.Helper()
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return port
}

func listenAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}

func start(t testing.TB, bin string, port int, args ...string) *Server {
	t.Helper()
	s := &Server{URL: "http://" + listenAddr(port), Port: port, t: t, logs: &testutil.SyncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(bin), s.Logs())
		}
	})
	if err := s.waitReady(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(bin), err, s.Logs())
	}
	return s
}

func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s/-/ready within %s", s.URL, readyTimeout)
		case <-ticker.C:
		}
	}
}

// Stop terminates the server and waits for it to exit.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Logs is what the server printed so far.
func (s *Server) Logs() string { return s.logs.String() }
