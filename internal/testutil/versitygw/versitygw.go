// Package versitygw runs a real versitygw S3 gateway (posix backend) for
// tests, on 127.0.0.1 with a fresh data folder and random credentials.
//
// The binary comes from $VERSITYGW_BIN, else <repo>/.tools/bin/versitygw
// (scripts/install-versitygw.sh puts it there). Without it, tests skip,
// unless REQUIRE_REAL_COMPONENTS=1, when they fail.
package versitygw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

const (
	// Region is the region the gateway runs as.
	Region = "us-east-1"

	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is one running (or stopped) gateway.
type Server struct {
	// Endpoint is the gateway's base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// AccessKey and Secret are the gateway's root credentials.
	AccessKey string
	Secret    string
	// Bucket was created at start and is empty.
	Bucket string
	// DataDir is the posix backend's root; each bucket is a folder in it.
	DataDir string
	// LogPath receives the gateway's stdout and stderr.
	LogPath string

	t    testing.TB
	bin  string
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exits
}

// Binary returns the gateway binary's path, or "" with a hint if missing.
func Binary() (path, hint string) {
	return testutil.ToolBinary("VERSITYGW_BIN", "bin/versitygw", "install it with scripts/install-versitygw.sh")
}

// Start runs a gateway for the rest of the test and creates Bucket in it.
// t.Cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, hint := Binary()
	if bin == "" {
		testutil.Missing(t, hint)
	}
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatalf("versitygw: find a free port: %v", err)
	}
	logDir := t.TempDir()
	s := &Server{
		AccessKey: "AK" + strings.ToUpper(randomHex(t, 9)),
		Secret:    randomHex(t, 20),
		Bucket:    "test-bucket",
		DataDir:   t.TempDir(),
		LogPath:   filepath.Join(logDir, "versitygw.log"),
		t:         t,
		bin:       bin,
		addr:      net.JoinHostPort("127.0.0.1", fmt.Sprint(port)),
	}
	s.Endpoint = "http://" + s.addr
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("versitygw log: %s", s.logTail())
		}
	})
	s.Start()
	s.createBucket()
	return s
}

// URL is an s3:// URL for the bucket, with endpoint, region and path-style
// addressing set, but no credentials (see AccessKey and Secret).
func (s *Server) URL() string {
	return s.URLWithPrefix("")
}

// URLWithPrefix is URL with a key prefix (a folder in the bucket).
func (s *Server) URLWithPrefix(prefix string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint)
	q.Set("region", Region)
	q.Set("path_style", "true")
	u := url.URL{Scheme: "s3", Host: s.Bucket, Path: "/" + strings.Trim(prefix, "/"), RawQuery: q.Encode()}
	if prefix == "" {
		u.Path = ""
	}
	return u.String()
}

// Client returns an SDK client with the root credentials, for setting up
// what a test needs (more buckets, objects written behind a backend's back).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.Secret, ""),
	})
}

// Running reports whether the gateway process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Start (re)starts a stopped gateway on the same address and data folder,
// and waits until it answers. Starting a running gateway does nothing.
func (s *Server) Start() {
	s.t.Helper()
	if s.Running() {
		return
	}
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatalf("versitygw: open log: %v", err)
	}
	defer logFile.Close()
	// Credentials go through the environment, not argv, so ps cannot show them.
	cmd := exec.Command(s.bin, "--port", s.addr, "posix", s.DataDir)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"ROOT_ACCESS_KEY_ID=" + s.AccessKey,
		"ROOT_SECRET_ACCESS_KEY=" + s.Secret,
		"VGW_REGION=" + Region,
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("versitygw: start %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	if err := s.waitReady(done); err != nil {
		s.Stop()
		s.t.Fatalf("versitygw: %v\nlog: %s", err, s.logTail())
	}
}

// Stop ends the gateway (SIGTERM to its process group, then SIGKILL) and
// waits for it to exit. The data folder stays for a later Start.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// The gateway may have started helpers in its group; none may outlive it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// waitReady polls until the gateway answers HTTP (any status: an anonymous
// request gets 403), the process exits, or the deadline passes.
func (s *Server) waitReady(done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-done:
			return errors.New("exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("no answer on %s within %s", s.addr, startTimeout)
		case <-tick.C:
		}
	}
}

func (s *Server) createBucket() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
		s.t.Fatalf("versitygw: create bucket %s: %v\nlog: %s", s.Bucket, err, s.logTail())
	}
}

func (s *Server) logTail() string {
	data, err := os.ReadFile(s.LogPath)
	if err != nil {
		return err.Error()
	}
	const max = 4 << 10
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
