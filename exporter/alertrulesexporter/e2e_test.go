package alertrulesexporter

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
)

// waitNotification waits until the webhook got a notification with an alert
// named name in status, and returns that alert's labels and when it was seen.
func waitNotification(t *testing.T, hook *alertmanager.Webhook, name, status string) (map[string]string, time.Time) {
	t.Helper()
	var lbls map[string]string
	require.Eventually(t, func() bool {
		for _, n := range hook.Received() {
			for _, a := range n.Alerts {
				if a.Labels["alertname"] == name && a.Status == status {
					lbls = a.Labels
					return true
				}
			}
		}
		return false
	}, waitFor, 20*time.Millisecond, "no %s notification for %s reached the webhook", status, name)
	return lbls, time.Now()
}

// switchableProxy forwards to an Alertmanager once one is set, and answers
// 503 before: an Alertmanager that is down behind its service address.
type switchableProxy struct {
	*httptest.Server
	target atomic.Pointer[httputil.ReverseProxy]
}

func newSwitchableProxy(t *testing.T) *switchableProxy {
	p := &switchableProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rp := p.target.Load(); rp != nil {
			rp.ServeHTTP(w, r)
			return
		}
		http.Error(w, "alertmanager down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *switchableProxy) forwardTo(t *testing.T, base string) {
	u, err := url.Parse(base)
	require.NoError(t, err)
	p.target.Store(httputil.NewSingleHostReverseProxy(u))
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
      - endpoint: %s
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
// alert fire while the Alertmanager is still down; once it is up, the resent
// alert reaches the webhook, and it resolves when the condition clears.
func TestEndToEndWithAlertmanager(t *testing.T) {
	rules, err := filepath.Abs("testdata/rules.yaml")
	require.NoError(t, err)
	hook := alertmanager.NewWebhook(t)
	amConfig := filepath.Join(t.TempDir(), "alertmanager.yml")
	require.NoError(t, os.WriteFile(amConfig, []byte(fmt.Sprintf(e2eAlertmanagerConfig, hook.URL)), 0o600))
	proxy := newSwitchableProxy(t)
	port, err := testutil.FreePort()
	require.NoError(t, err)
	otlp := fmt.Sprintf("127.0.0.1:%d", port)
	out := testutil.StartCollector(t, fmt.Sprintf(e2eCollectorConfig, otlp, rules, proxy.URL))

	sent := time.Now()
	sendOTLP(t, otlp, failures("demo", 4, sent))
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "Error sending alerts")
	}, waitFor, 20*time.Millisecond, "the collector never tried the Alertmanager that is down")

	am := alertmanager.Start(t, amConfig)
	proxy.forwardTo(t, am.URL)
	lbls, paged := waitNotification(t, hook, "ChromaBackupsFailing", "firing")
	t.Logf("paged %s after the metric was sent (Alertmanager down at first; group_wait 1s)", paged.Sub(sent).Round(time.Millisecond))
	assert.Equal(t, map[string]string{"alertname": "ChromaBackupsFailing", "instance": "demo", "severity": "critical", "cluster": "e2e"}, lbls)

	sendOTLP(t, otlp, failures("demo", 0, time.Now()))
	waitNotification(t, hook, "ChromaBackupsFailing", "resolved")
	assert.NotContains(t, out.String(), "panic")
}
