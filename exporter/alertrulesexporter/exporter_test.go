package alertrulesexporter

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter/internal/metadatatest"
)

// waitFor bounds every wait on a condition.
const waitFor = 30 * time.Second

// receivedAlert is an alert as Alertmanager's API v2 receives it.
type receivedAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	received    time.Time
	auth        string
}

// fakeAlertmanager records what arrives at POST /am/api/v2/alerts. It stands
// in for Alertmanager in fast tests; e2e_test.go runs the real one.
type fakeAlertmanager struct {
	*httptest.Server
	mu     sync.Mutex
	alerts []receivedAlert
	// hang makes it accept requests and never answer, until the request ends.
	hang   atomic.Bool
	closed chan struct{}
}

func newFakeAlertmanager(t testing.TB) *fakeAlertmanager {
	am := newUnstartedFakeAlertmanager(t)
	am.Start()
	return am
}

// newUnstartedFakeAlertmanager is newFakeAlertmanager before Start or
// StartTLS.
func newUnstartedFakeAlertmanager(t testing.TB) *fakeAlertmanager {
	am := &fakeAlertmanager{closed: make(chan struct{})}
	am.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/am/api/v2/alerts" {
			http.NotFound(w, r)
			return
		}
		if am.hang.Load() {
			// With the body read, the server notices the client giving up.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-am.closed:
			}
			return
		}
		var alerts []receivedAlert
		if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		am.mu.Lock()
		for _, a := range alerts {
			a.received, a.auth = time.Now(), r.Header.Get("Authorization")
			am.alerts = append(am.alerts, a)
		}
		am.mu.Unlock()
	}))
	t.Cleanup(func() {
		close(am.closed)
		am.Close()
	})
	return am
}

// waitAlert waits for an alert named name that matches.
func (am *fakeAlertmanager) waitAlert(t *testing.T, name string, match func(receivedAlert) bool) receivedAlert {
	t.Helper()
	var found receivedAlert
	require.Eventually(t, func() bool {
		am.mu.Lock()
		defer am.mu.Unlock()
		for _, a := range am.alerts {
			if a.Labels["alertname"] == name && match(a) {
				found = a
				return true
			}
		}
		return false
	}, waitFor, 10*time.Millisecond, "alert %s never arrived", name)
	return found
}

func firing(a receivedAlert) bool   { return a.EndsAt.After(a.received) }
func resolved(a receivedAlert) bool { return !a.EndsAt.After(a.received) }

// testConfig is a fast-evaluating configuration sending to am.
func testConfig(am *fakeAlertmanager) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.RuleFiles = []string{"testdata/rules.yaml"}
	cfg.EvaluationInterval = 50 * time.Millisecond
	cfg.ResendDelay = 50 * time.Millisecond
	cfg.Window = 10 * time.Minute
	cfg.ExternalLabels = map[string]string{"cluster": "test"}
	amc := AlertmanagerConfig{}
	amc.Endpoint = am.URL + "/am"
	amc.Timeout = time.Second
	amc.BasicAuth = &BasicAuthConfig{Username: "otelcol", Password: configopaque.String("s3cret")}
	cfg.Alertmanagers = []AlertmanagerConfig{amc}
	return cfg
}

// startExporter starts the exporter through its factory.
func startExporter(t *testing.T, cfg *Config, set exporter.Settings) exporter.Metrics {
	t.Helper()
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateMetrics(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

// gauge is one metric of the contract as the receiver emits it, for the
// deployment named instance.
func gauge(name, unit, instance string, value float64, at time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "otelcol-chroma")
	rm.Resource().Attributes().PutStr("service.instance.id", instance)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetDoubleValue(value)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	return md
}

func failures(instance string, n float64, at time.Time) pmetric.Metrics {
	return gauge("chroma.backup.consecutive_failures", "{attempt}", instance, n, at)
}

// counterValue reads the exporter's own counter, or 0 when not reported yet.
func counterValue(t *testing.T, tt *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tt.GetMetric(name)
	if err != nil {
		return 0
	}
	var sum int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sum += dp.Value
		}
	case metricdata.Gauge[int64]:
		for _, dp := range d.DataPoints {
			sum += dp.Value
		}
	}
	return sum
}

// Three failed backups in a row fire the alert with the external labels and
// basic auth; a success resolves it.
func TestAlertFiresAndResolves(t *testing.T) {
	am := newFakeAlertmanager(t)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	exp := startExporter(t, testConfig(am), metadatatest.NewSettings(tt))
	ctx := context.Background()

	require.NoError(t, exp.ConsumeMetrics(ctx, failures("demo", 3, time.Now())))
	fired := am.waitAlert(t, "ChromaBackupsFailing", firing)
	assert.Equal(t, "demo", fired.Labels["instance"], "service.instance.id becomes instance, as in remote write")
	assert.Equal(t, "test", fired.Labels["cluster"], "external label")
	assert.Equal(t, "critical", fired.Labels["severity"])
	assert.Equal(t, "Backups of demo are failing", fired.Annotations["summary"])
	assert.Equal(t, "Basic b3RlbGNvbDpzM2NyZXQ=", fired.auth)

	require.NoError(t, exp.ConsumeMetrics(ctx, failures("demo", 0, time.Now())))
	am.waitAlert(t, "ChromaBackupsFailing", resolved)

	require.Eventually(t, func() bool {
		return counterValue(t, tt, "otelcol_exporter_alertrules_alerts_sent") >= 2 &&
			counterValue(t, tt, "otelcol_exporter_alertrules_rule_evaluations") > 0 &&
			counterValue(t, tt, "otelcol_exporter_alertrules_series") > 0
	}, waitFor, 10*time.Millisecond)
	assert.Zero(t, counterValue(t, tt, "otelcol_exporter_alertrules_rule_evaluation_failures"))
}

// Over TLS, the Alertmanager's certificate is checked against tls.ca_file.
func TestTLS(t *testing.T) {
	am := newUnstartedFakeAlertmanager(t)
	am.StartTLS()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: am.Certificate().Raw}), 0o600))
	cfg := testConfig(am)
	cfg.Alertmanagers[0].TLS.CAFile = ca
	exp := startExporter(t, cfg, metadatatest.NewSettings(componenttest.NewTelemetry()))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), failures("demo", 5, time.Now())))
	am.waitAlert(t, "ChromaBackupsFailing", firing)
}

// Without the CA, the Alertmanager's certificate is refused: nothing arrives
// and the failed sends are counted.
func TestTLSUnknownAuthority(t *testing.T) {
	am := newUnstartedFakeAlertmanager(t)
	am.StartTLS()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	exp := startExporter(t, testConfig(am), metadatatest.NewSettings(tt))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), failures("demo", 5, time.Now())))
	require.Eventually(t, func() bool {
		return counterValue(t, tt, "otelcol_exporter_alertrules_alert_send_failures") > 0
	}, waitFor, 10*time.Millisecond)
	am.mu.Lock()
	defer am.mu.Unlock()
	assert.Empty(t, am.alerts)
}

// A bearer token is sent as such.
func TestBearerToken(t *testing.T) {
	am := newFakeAlertmanager(t)
	cfg := testConfig(am)
	cfg.Alertmanagers[0].BasicAuth = nil
	cfg.Alertmanagers[0].BearerToken = "t0ken"
	exp := startExporter(t, cfg, metadatatest.NewSettings(componenttest.NewTelemetry()))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), failures("demo", 5, time.Now())))
	fired := am.waitAlert(t, "ChromaBackupsFailing", firing)
	assert.Equal(t, "Bearer t0ken", fired.auth)
}

// While the Alertmanager hangs, ConsumeMetrics keeps returning and the failed
// sends are counted; once it answers again, the firing alert arrives.
func TestAlertmanagerDownNeverBlocksAndRetries(t *testing.T) {
	am := newFakeAlertmanager(t)
	am.hang.Store(true)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	cfg := testConfig(am)
	cfg.Alertmanagers[0].Timeout = 100 * time.Millisecond
	exp := startExporter(t, cfg, metadatatest.NewSettings(tt))
	ctx := context.Background()

	require.NoError(t, exp.ConsumeMetrics(ctx, failures("demo", 3, time.Now())))
	require.Eventually(t, func() bool {
		return counterValue(t, tt, "otelcol_exporter_alertrules_alert_send_failures") > 0
	}, waitFor, 10*time.Millisecond, "sends to a hanging Alertmanager must fail and be counted")

	// The Alertmanager still hangs: the pipeline goes on regardless.
	consumed := make(chan error, 1)
	go func() {
		for i := range 500 {
			if err := exp.ConsumeMetrics(ctx, failures("demo", float64(3+i), time.Now())); err != nil {
				consumed <- err
				return
			}
		}
		consumed <- nil
	}()
	select {
	case err := <-consumed:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("ConsumeMetrics blocked while the Alertmanager was down")
	}

	am.hang.Store(false)
	am.waitAlert(t, "ChromaBackupsFailing", firing)
}

// Bad rule files stop the collector from starting, naming the file.
func TestStartRefusesBadRuleFiles(t *testing.T) {
	am := newFakeAlertmanager(t)
	for name, tc := range map[string]struct {
		files []string
		want  []string
	}{
		"missing": {[]string{"testdata/rules.yaml", "testdata/nope-*.yaml"}, []string{`rule_files[1] "testdata/nope-*.yaml" matches no file`}},
		"broken":  {[]string{"testdata/broken-rules.yaml"}, []string{"testdata/broken-rules.yaml", "promtool check rules"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(am)
			cfg.RuleFiles = tc.files
			cfg.Directory = t.TempDir()
			exp, err := NewFactory().CreateMetrics(context.Background(), metadatatest.NewSettings(componenttest.NewTelemetry()), cfg)
			require.NoError(t, err)
			err = exp.Start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			require.NoError(t, exp.Shutdown(context.Background()))
			entries, err := os.ReadDir(cfg.Directory)
			require.NoError(t, err)
			assert.Empty(t, entries, "a failed start leaves no window folder behind")
		})
	}
}

// Every configured Alertmanager receives every alert, each with its own
// authentication.
func TestEveryAlertmanagerReceives(t *testing.T) {
	first, second := newFakeAlertmanager(t), newFakeAlertmanager(t)
	cfg := testConfig(first)
	other := AlertmanagerConfig{BearerToken: "t0ken"}
	other.Endpoint = second.URL + "/am/"
	cfg.Alertmanagers = append(cfg.Alertmanagers, other)
	exp := startExporter(t, cfg, metadatatest.NewSettings(componenttest.NewTelemetry()))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), failures("demo", 5, time.Now())))
	assert.Equal(t, "Basic b3RlbGNvbDpzM2NyZXQ=", first.waitAlert(t, "ChromaBackupsFailing", firing).auth)
	assert.Equal(t, "Bearer t0ken", second.waitAlert(t, "ChromaBackupsFailing", firing).auth)
}

// A rule failing at evaluation is counted.
func TestRuleEvaluationFailuresCounted(t *testing.T) {
	am := newFakeAlertmanager(t)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	cfg := testConfig(am)
	cfg.RuleFiles = []string{"testdata/failing-rules.yaml"}
	exp := startExporter(t, cfg, metadatatest.NewSettings(tt))
	for _, instance := range []string{"a", "b"} {
		require.NoError(t, exp.ConsumeMetrics(context.Background(), failures(instance, 1, time.Now())))
	}
	require.Eventually(t, func() bool {
		return counterValue(t, tt, "otelcol_exporter_alertrules_rule_evaluation_failures") > 0
	}, waitFor, 10*time.Millisecond)
}
