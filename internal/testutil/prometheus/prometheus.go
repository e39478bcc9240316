// Package prometheus runs a real Prometheus server (Debian's prometheus,
// installed by scripts/install-prometheus.sh) for tests, with its
// remote-write receiver on, and reads its alerts. Without the binary, tests
// are skipped, unless REQUIRE_REAL_COMPONENTS=1, when they fail.
package prometheus // import "github.com/otelcol-chroma/otelcol-chroma/internal/testutil/prometheus"

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
)

// Server is a running Prometheus on a loopback port.
type Server struct {
	URL string // http://127.0.0.1:PORT
}

// Start runs prometheus on the given configuration (YAML text), with the
// remote-write receiver on, its data in a temporary folder, and flags added
// (such as --rules.alert.resend-delay=1s), and waits until it is ready.
// t.Cleanup stops it; its log is printed when the test failed.
func Start(t testing.TB, config string, flags ...string) *Server {
	t.Helper()
	bin := testutil.Command(t, alertmanager.InstallHint, "prometheus")
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatalf("prometheus: find a free port: %v", err)
	}
	dir := t.TempDir()
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{
		"--config.file=" + configFile,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
	}, flags...)
	testutil.StartProcess(t, "prometheus", exec.Command(bin, args...))
	s := &Server{URL: "http://" + addr}
	testutil.WaitReady(t, s.URL+"/-/ready", 60*time.Second)
	return s
}

// Sample is one sample of one series, as remote write sends it.
type Sample struct {
	Labels map[string]string // with __name__
	Value  float64
	Time   time.Time
}

// RemoteWrite sends samples through the remote-write protocol (1.0).
func (s *Server) RemoteWrite(ctx context.Context, samples ...Sample) error {
	var req prompb.WriteRequest
	for _, smp := range samples {
		ts := prompb.TimeSeries{Samples: []prompb.Sample{{Value: smp.Value, Timestamp: smp.Time.UnixMilli()}}}
		for k, v := range smp.Labels {
			ts.Labels = append(ts.Labels, prompb.Label{Name: k, Value: v})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	raw, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("encode write request: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return err
	}
	httpReq.Header.Set("Content-Encoding", "snappy")
	httpReq.Header.Set("Content-Type", "application/x-protobuf")
	httpReq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(httpReq)
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("remote write: %s", resp.Status)
	}
	return nil
}

// Alert is an alert as GET /api/v1/alerts returns it.
type Alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"` // pending or firing
}

// Alerts returns the pending and firing alerts of every rule.
func (s *Server) Alerts(ctx context.Context) ([]Alert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/alerts", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get alerts: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode alerts: %w", err)
	}
	return body.Data.Alerts, nil
}

// Query runs an instant PromQL query and returns how many series (or
// samples) its result holds.
func (s *Server) Query(ctx context.Context, expr string) (int, error) {
	u := s.URL + "/api/v1/query?query=" + url.QueryEscape(expr)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("query %q: decode: %w", expr, err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query %q: %s", expr, body.Error)
	}
	if t := body.Data.ResultType; t != "vector" && t != "matrix" {
		return 1, nil // a scalar or a string
	}
	return len(body.Data.Result), nil
}
