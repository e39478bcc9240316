package chromatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

const (
	// StartTimeout bounds the wait for a new server's heartbeat.
	StartTimeout = 30 * time.Second
	// StopTimeout bounds the wait after SIGTERM before SIGKILL is sent.
	StopTimeout = 15 * time.Second
	// killTimeout bounds the wait for the process after SIGKILL.
	killTimeout = 15 * time.Second
	// startAttempts is how many ports are tried when the server cannot bind.
	startAttempts = 3
)

// Options configures a Chroma server.
type Options struct {
	// PersistDir is Chroma's persist directory. Empty means a new temporary
	// directory.
	PersistDir string
	// OTLPEndpoint, when set, makes the server export traces and metrics over
	// OTLP/gRPC to this endpoint (for example "http://127.0.0.1:4317"). The
	// server is then started with a config file instead of flags.
	OTLPEndpoint string
	// ServiceName is the OpenTelemetry service name; default "chroma".
	ServiceName string
	// LogDir receives the server's log file and config file. Empty means a
	// new temporary directory.
	LogDir string
	// Binary is the chroma binary. Empty means FindBinary (or Binary in Start).
	Binary string
}

// Server is a running Chroma server listening on 127.0.0.1.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:<Port>.
	URL string
	// Port is the TCP port the server listens on.
	Port int
	// PersistDir is the server's persist directory.
	PersistDir string
	// LogPath is the file that receives the server's stdout and stderr.
	LogPath string
	// Client talks to this server on the default tenant and database.
	Client *Client

	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// Start starts a Chroma server for t and waits until it answers its
// heartbeat. The server is stopped when t's cleanup runs; if t failed, the
// tail of the server's log is logged.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Binary == "" {
		opts.Binary = Binary(t)
	}
	if opts.PersistDir == "" {
		opts.PersistDir = t.TempDir()
	}
	if opts.LogDir == "" {
		opts.LogDir = t.TempDir()
	}
	s, err := Launch(opts)
	if err != nil {
		t.Fatalf("start chroma: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stop chroma on port %d: %v", s.Port, err)
		}
		if t.Failed() {
			t.Logf("chroma log %s (tail):\n%s", s.LogPath, tail(s.Logs(), 4000))
		}
	})
	return s
}

// Launch starts a Chroma server without a testing.TB. The caller must call
// Stop or Kill.
func Launch(opts Options) (*Server, error) {
	if opts.Binary == "" {
		bin, err := FindBinary()
		if err != nil {
			return nil, fmt.Errorf("%w; %s", err, InstallHint)
		}
		opts.Binary = bin
	}
	if opts.PersistDir == "" {
		return nil, errors.New("chromatest: Options.PersistDir is required")
	}
	if opts.LogDir == "" {
		dir, err := os.MkdirTemp("", "chroma-log-")
		if err != nil {
			return nil, err
		}
		opts.LogDir = dir
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "chroma"
	}
	persist, err := filepath.Abs(opts.PersistDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(persist, 0o755); err != nil {
		return nil, err
	}
	opts.PersistDir = persist

	var errs []error
	for range startAttempts {
		s, err := launchOnce(opts)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errExitedEarly) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

var errExitedEarly = errors.New("chroma exited before it was ready")

func launchOnce(opts Options) (*Server, error) {
	port, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(opts.LogDir, fmt.Sprintf("chroma-%d.log", port))
	var args []string
	if opts.OTLPEndpoint == "" {
		args = []string{"run", "--path", opts.PersistDir, "--host", "127.0.0.1", "--port", strconv.Itoa(port)}
	} else {
		cfgPath := filepath.Join(opts.LogDir, fmt.Sprintf("chroma-%d.yaml", port))
		if err := os.WriteFile(cfgPath, []byte(configYAML(opts, port)), 0o644); err != nil {
			return nil, err
		}
		args = []string{"run", cfgPath}
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = opts.LogDir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("exec %s: %w", opts.Binary, err)
	}
	s := &Server{
		URL:        fmt.Sprintf("http://127.0.0.1:%d", port),
		Port:       port,
		PersistDir: opts.PersistDir,
		LogPath:    logPath,
		cmd:        cmd,
		logFile:    logFile,
		done:       make(chan struct{}),
	}
	s.Client = NewClient(s.URL)
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	if err := s.waitReady(StartTimeout); err != nil {
		_ = s.Kill()
		return nil, fmt.Errorf("%w\n--- %s (tail) ---\n%s", err, logPath, tail(s.Logs(), 4000))
	}
	return s, nil
}

// configYAML renders the config file used when OTLP export is on. A config
// file listens on 0.0.0.0 unless listen_address says otherwise.
func configYAML(opts Options, port int) string {
	var b strings.Builder
	b.WriteString("open_telemetry:\n")
	fmt.Fprintf(&b, "  service_name: %s\n", strconv.Quote(opts.ServiceName))
	fmt.Fprintf(&b, "  endpoint: %s\n", strconv.Quote(opts.OTLPEndpoint))
	fmt.Fprintf(&b, "port: %d\n", port)
	b.WriteString("listen_address: \"127.0.0.1\"\n")
	fmt.Fprintf(&b, "persist_path: %s\n", strconv.Quote(opts.PersistDir))
	return b.String()
}

// waitReady waits until the server has bound its port and answers its
// heartbeat. The log line proves that this process, not another one that
// took the same port, answers.
func (s *Server) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return fmt.Errorf("%w (port %d): %v", errExitedEarly, s.Port, s.waitErr)
		default:
		}
		if strings.Contains(s.Logs(), "Listening on") {
			hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
			err := s.Client.Heartbeat(hctx)
			hcancel()
			if err == nil {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("%w (port %d): %v", errExitedEarly, s.Port, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("chroma on port %d not ready after %s", s.Port, timeout)
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM to the server's process group, waits up to StopTimeout,
// then sends SIGKILL, and waits for the process. Calling it again is a no-op.
// Chroma's process does not catch SIGTERM: whatever its HNSW indexes hold
// beyond their last persist is left to the log in chroma.sqlite3, exactly as
// after a crash between writes.
func (s *Server) Stop() error { return s.stop() }

func (s *Server) stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.signalAndWait(syscall.SIGTERM, StopTimeout)
		if s.stopErr != nil {
			s.stopErr = errors.Join(s.stopErr, s.signalAndWait(syscall.SIGKILL, killTimeout))
		}
	})
	return s.stopErr
}

// Kill sends SIGKILL to the server's process group and waits for the
// process. Calling it after Stop or Kill is a no-op.
func (s *Server) Kill() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.signalAndWait(syscall.SIGKILL, killTimeout)
	})
	return s.stopErr
}

func (s *Server) signalAndWait(sig syscall.Signal, timeout time.Duration) error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := syscall.Kill(-s.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-s.done:
		return nil
	case <-timer.C:
		return fmt.Errorf("chroma (pid %d) still running %s after %v", s.cmd.Process.Pid, timeout, sig)
	}
}

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Pid returns the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Logs returns everything the server has written to its log so far.
func (s *Server) Logs() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", s.LogPath, err)
	}
	return string(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "..." + "\n" + s
}
