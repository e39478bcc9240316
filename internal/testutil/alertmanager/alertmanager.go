// Package alertmanager runs a real Alertmanager (Debian's
// prometheus-alertmanager, installed by scripts/install-prometheus.sh) for
// tests, talks to its API v2, and serves webhook receivers that record what
// it notifies. Without the binary, tests are skipped, unless
// REQUIRE_REAL_COMPONENTS=1, when they fail.
package alertmanager // import "github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// InstallHint says how to get the binaries this package and the rule tests run.
const InstallHint = "run scripts/install-prometheus.sh (Debian's prometheus and prometheus-alertmanager)"

// Alert is an alert as API v2 takes it (POST /api/v2/alerts) and returns it
// (GET /api/v2/alerts: Status and Receivers filled in).
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt,omitzero"`
	EndsAt      time.Time         `json:"endsAt,omitzero"`
	Status      Status            `json:"status,omitzero"`
	Receivers   []Receiver        `json:"receivers,omitempty"`
}

// Status is an alert's state: active, suppressed (inhibited or silenced) or
// unprocessed, and the fingerprints of the alerts that inhibit it.
type Status struct {
	State       string   `json:"state"`
	InhibitedBy []string `json:"inhibitedBy"`
	SilencedBy  []string `json:"silencedBy"`
}

// Receiver names a receiver an alert is routed to.
type Receiver struct {
	Name string `json:"name"`
}

// Server is a running Alertmanager on a loopback port.
type Server struct {
	URL string // http://127.0.0.1:PORT
}

// Start runs prometheus-alertmanager on configFile, alone (no cluster), with
// its data in a temporary folder, and waits until it is ready. t.Cleanup
// stops it; its log is printed when the test failed.
func Start(t testing.TB, configFile string) *Server {
	t.Helper()
	bin := testutil.Command(t, InstallHint, "prometheus-alertmanager", "alertmanager")
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatalf("alertmanager: find a free port: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	testutil.StartProcess(t, "alertmanager", exec.Command(bin,
		"--config.file="+configFile,
		"--storage.path="+t.TempDir(),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
	))
	s := &Server{URL: "http://" + addr}
	testutil.WaitReady(t, s.URL+"/-/ready", 30*time.Second)
	return s
}

// PostAlerts sends alerts through API v2.
func (s *Server) PostAlerts(t testing.TB, alerts ...Alert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatalf("alertmanager: encode alerts: %v", err)
	}
	resp, err := http.Post(s.URL+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("alertmanager: post alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("alertmanager: post alerts: %s", resp.Status)
	}
}

// Alerts returns every alert Alertmanager holds, with status and receivers.
func (s *Server) Alerts(ctx context.Context) ([]Alert, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v2/alerts", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get alerts: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get alerts: %s", resp.Status)
	}
	var alerts []Alert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		return nil, fmt.Errorf("decode alerts: %w", err)
	}
	return alerts, nil
}
