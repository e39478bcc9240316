package chromaapi

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
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/loopback"
)

const (
	// DefaultStartTimeout bounds the wait for a new server's heartbeat.
	DefaultStartTimeout = 30 * time.Second
	// StopTimeout bounds the wait after SIGTERM before SIGKILL is sent.
	StopTimeout = 15 * time.Second
	// killTimeout bounds the wait for the process after SIGKILL.
	killTimeout = 15 * time.Second
	// startAttempts is how many ports are tried when the server cannot bind.
	startAttempts = 3
)

// ErrExitedEarly: the server process ended before it answered.
var ErrExitedEarly = errors.New("chroma exited before it was ready")

// ServerOptions say how to run a Chroma server.
type ServerOptions struct {
	// Command is the chroma executable (the npm or Python package's
	// `chroma`). Required.
	Command string
	// PersistDir is the persist directory it serves. Required.
	PersistDir string
	// LogDir receives the server's log (chroma-<port>.log) and is its
	// working directory. Required.
	LogDir string
	// Args returns the command's arguments for a port; nil means
	// `run --path PersistDir --host 127.0.0.1 --port <port>`.
	Args func(port int) ([]string, error)
	// StartTimeout bounds the wait for its heartbeat; default
	// DefaultStartTimeout.
	StartTimeout time.Duration
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
	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartServer starts Chroma on a free loopback port and waits until it
// answers its heartbeat; a server that exits early (its port was taken
// meanwhile) is started again on another port, up to three times. The
// caller must Stop or Kill it.
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	if opts.Command == "" || opts.PersistDir == "" || opts.LogDir == "" {
		return nil, errors.New("chromaapi: ServerOptions.Command, PersistDir and LogDir are required")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if err := opts.absolutePaths(); err != nil {
		return nil, err
	}
	var errs []error
	for range startAttempts {
		s, err := startOnce(ctx, opts)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, ErrExitedEarly) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// absolutePaths resolves relative paths against this process's working
// directory: Chroma runs in LogDir, where they would otherwise be taken
// from. A command without a separator is looked up in PATH as given.
func (o *ServerOptions) absolutePaths() error {
	paths := []*string{&o.PersistDir, &o.LogDir}
	if strings.ContainsRune(o.Command, filepath.Separator) {
		paths = append(paths, &o.Command)
	}
	for _, p := range paths {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("chromaapi: %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

func startOnce(ctx context.Context, opts ServerOptions) (*Server, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, fmt.Errorf("find a free port for chroma: %w", err)
	}
	args := []string{"run", "--path", opts.PersistDir, "--host", "127.0.0.1", "--port", strconv.Itoa(port)}
	if opts.Args != nil {
		if args, err = opts.Args(port); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(opts.LogDir, fmt.Sprintf("chroma-%d.log", port))
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Command, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logFile, logFile, opts.LogDir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start chroma (%s): %w", opts.Command, err)
	}
	s := &Server{
		URL:        fmt.Sprintf("http://127.0.0.1:%d", port),
		Port:       port,
		PersistDir: opts.PersistDir,
		LogPath:    logPath,
		cmd:        cmd,
		done:       make(chan struct{}),
	}
	s.Client = NewClient(s.URL)
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = s.Kill()
		return nil, fmt.Errorf("%w\n--- %s (tail) ---\n%s", err, logPath, Tail(s.Logs(), 4000))
	}
	return s, nil
}

// waitReady waits until the server has bound its port and answers its
// heartbeat. The log line proves that this process, not another one that
// took the same port, answers.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return fmt.Errorf("%w (port %d): %v", ErrExitedEarly, s.Port, s.waitErr)
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
			return fmt.Errorf("%w (port %d): %v", ErrExitedEarly, s.Port, s.waitErr)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("chroma on port %d: %w", s.Port, ctx.Err())
			}
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
func (s *Server) Stop() error {
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
	if err := signalGroup(s.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
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

// Tail returns about the last n bytes of s, from a line start.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "..." + "\n" + s
}
