package alertrulesexporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/promtest"
)

// webhook stands in for the pager: Alertmanager's webhook receiver posts
// each notification here.
type webhook struct {
	*httptest.Server
	mu   sync.Mutex
	msgs []webhookMessage
}

type webhookMessage struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
	received time.Time
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		m.received = time.Now()
		w.mu.Lock()
		w.msgs = append(w.msgs, m)
		w.mu.Unlock()
	}))
	t.Cleanup(w.Close)
	return w
}

// wait waits for a notification with an alert named name in status.
func (w *webhook) wait(t *testing.T, name, status string) (webhookMessage, map[string]string) {
	t.Helper()
	var msg webhookMessage
	var lbls map[string]string
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, m := range w.msgs {
			for _, a := range m.Alerts {
				if a.Labels["alertname"] == name && a.Status == status {
					msg, lbls = m, a.Labels
					return true
				}
			}
		}
		return false
	}, waitFor, 20*time.Millisecond, "no %s notification for %s reached the webhook", status, name)
	return msg, lbls
}

const e2eAlertmanagerConfig = `route:
  receiver: pager
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: pager
    webhook_configs:
      - url: %s
        send_resolved: true
`

const e2eCollectorConfig = `receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  alertrules:
    rule_files: [%q]
    evaluation_interval: 200ms
    resend_delay: 200ms
    external_labels:
      cluster: e2e
    alertmanagers:
      - endpoint: http://127.0.0.1:%d
        timeout: 1s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [alertrules]
`

// startCollector runs the distribution with cfg and returns its output.
func startCollector(t *testing.T, cfg string) *testutil.SyncBuffer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	out := &testutil.SyncBuffer{}
	cmd := exec.Command(testutil.CollectorBinary(t), "--config", path)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(waitFor):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", out)
		}
	})
	return out
}

// sendOTLP posts metrics to the collector's OTLP/HTTP receiver, retrying
// until the receiver is up.
func sendOTLP(t *testing.T, endpoint string, md pmetric.Metrics) {
	t.Helper()
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := http.Post("http://"+endpoint+"/v1/metrics", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, waitFor, 50*time.Millisecond, "the collector's OTLP receiver never accepted the metrics")
}

// The real binary and a real Alertmanager: metrics sent over OTLP make the
// alert fire while the Alertmanager is still down; once it is up, the queued
// and resent alert reaches the webhook, and it resolves when the condition
// clears.
func TestEndToEndWithAlertmanager(t *testing.T) {
	promtest.Binary(t, "prometheus-alertmanager")
	rules, err := filepath.Abs("testdata/rules.yaml")
	require.NoError(t, err)
	hook := newWebhook(t)
	amPort := promtest.FreePort(t)
	otlp := fmt.Sprintf("127.0.0.1:%d", promtest.FreePort(t))
	out := startCollector(t, fmt.Sprintf(e2eCollectorConfig, otlp, rules, amPort))

	sent := time.Now()
	sendOTLP(t, otlp, failures("demo", 4, sent))
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "Error sending alerts")
	}, waitFor, 20*time.Millisecond, "the collector never tried the Alertmanager that is down")

	promtest.StartAlertmanagerOn(t, fmt.Sprintf(e2eAlertmanagerConfig, hook.URL), amPort)
	msg, lbls := hook.wait(t, "ChromaBackupsFailing", "firing")
	t.Logf("paged %s after the metric was sent (Alertmanager started late; group_wait 1s)", msg.received.Sub(sent).Round(time.Millisecond))
	assert.Equal(t, map[string]string{"alertname": "ChromaBackupsFailing", "instance": "demo", "severity": "critical", "cluster": "e2e"}, lbls)

	sendOTLP(t, otlp, failures("demo", 0, time.Now()))
	hook.wait(t, "ChromaBackupsFailing", "resolved")
	assert.NotContains(t, out.String(), "panic")
}
