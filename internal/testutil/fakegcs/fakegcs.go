// Package fakegcs runs a real fake-gcs-server (the Google Cloud Storage
// emulator, filesystem backend) for tests, on 127.0.0.1 with a fresh data
// folder.
//
// The binary comes from $FAKE_GCS_SERVER_BIN, else
// <repo>/.tools/bin/fake-gcs-server (scripts/install-fake-gcs-server.sh puts
// it there). Without it, tests skip, unless REQUIRE_REAL_COMPONENTS=1, when
// they fail.
package fakegcs

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

const startTimeout = 30 * time.Second

// Server is one running emulator.
type Server struct {
	// Endpoint is the emulator's base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// Bucket was created at start and is empty.
	Bucket string
	// DataDir is the filesystem backend's root.
	DataDir string
}

// Binary returns the emulator's path, or "" with a hint if missing.
func Binary() (path, hint string) {
	return testutil.ToolBinary("FAKE_GCS_SERVER_BIN", "bin/fake-gcs-server", "install it with scripts/install-fake-gcs-server.sh (or make tools)")
}

// Start runs an emulator for the rest of the test and creates Bucket in it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, hint := Binary()
	if bin == "" {
		testutil.Missing(t, hint)
	}
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatalf("fake-gcs-server: find a free port: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{Endpoint: "http://" + addr, Bucket: "test-bucket", DataDir: t.TempDir()}
	// Upload session URLs point at -external-url, so resumable uploads
	// come back to this server rather than to Google.
	cmd := exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
		"-backend", "filesystem", "-filesystem-root", s.DataDir,
		"-public-host", addr, "-external-url", s.Endpoint, "-log-level", "warn")
	testutil.StartProcess(t, "fake-gcs-server", cmd)
	testutil.WaitReady(t, s.Endpoint+"/storage/v1/b", startTimeout)
	s.CreateBucket(t, s.Bucket)
	return s
}

// CreateBucket creates an empty bucket, through the JSON API.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.Endpoint+"/storage/v1/b?project=test-project", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("fake-gcs-server: create bucket %s: %v", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("fake-gcs-server: create bucket %s: %s: %s", name, resp.Status, msg)
	}
}

// URLWithPrefix is a gs:// URL for the bucket and a key prefix, with the
// emulator as its endpoint.
func (s *Server) URLWithPrefix(prefix string) string {
	u := "gs://" + s.Bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?endpoint=" + s.Endpoint
}
