package chromatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

const (
	// StartTimeout bounds the wait for a new server's heartbeat.
	StartTimeout = chromaapi.DefaultStartTimeout
	// StopTimeout bounds the wait after SIGTERM before SIGKILL is sent.
	StopTimeout = chromaapi.StopTimeout
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

// Server is a running Chroma server listening on 127.0.0.1 (the one the
// restore drill runs too).
type Server = chromaapi.Server

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
		if err := s.Stop(); err != nil {
			t.Errorf("stop chroma on port %d: %v", s.Port, err)
		}
		if t.Failed() {
			t.Logf("chroma log %s (tail):\n%s", s.LogPath, chromaapi.Tail(s.Logs(), 4000))
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
	so := chromaapi.ServerOptions{Command: opts.Binary, PersistDir: persist, LogDir: opts.LogDir}
	if opts.OTLPEndpoint != "" {
		so.Args = func(port int) ([]string, error) {
			cfgPath := filepath.Join(opts.LogDir, fmt.Sprintf("chroma-%d.yaml", port))
			if err := os.WriteFile(cfgPath, []byte(configYAML(opts, port)), 0o644); err != nil {
				return nil, err
			}
			return []string{"run", cfgPath}, nil
		}
	}
	return chromaapi.StartServer(context.Background(), so)
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
