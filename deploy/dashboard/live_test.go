package dashboard_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/prometheus"
)

// collectorConfig runs the chromabackup receiver and the snapshot extension
// on a demo persist directory, remote-writes the backup metrics to
// Prometheus, forwards OTLP traces to two destinations (the vendor's
// accepts, the customer's refuses for good, so that failures are counted),
// and serves the collector's own metrics for Prometheus to scrape.
func collectorConfig(persist, bucket, promURL, vendorURL, customerURL string, otlpPort, telemetryPort int) string {
	return fmt.Sprintf(`receivers:
  chromabackup:
    persist_directory: %[1]q
    collection_interval: 1s
    instance: dash
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[6]d
exporters:
  prometheus_remote_write:
    endpoint: %[3]q
  otlp_http/vendor:
    traces_endpoint: %[4]q
  otlp_http/customer:
    traces_endpoint: %[5]q
    retry_on_failure:
      enabled: false
extensions:
  snapshot:
    persist_directory: %[1]q
    instance: dash
    bucket:
      url: %[2]q
    interval: 1h
    on_start: true
service:
  extensions: [snapshot]
  telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[7]d
  pipelines:
    metrics/backup:
      receivers: [chromabackup]
      exporters: [prometheus_remote_write]
    traces:
      receivers: [otlp]
      exporters: [otlp_http/vendor, otlp_http/customer]
`, persist, bucket, promURL, vendorURL, customerURL, otlpPort, telemetryPort)
}

func prometheusConfig(telemetryPort int) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: otelcol-chroma
    static_configs:
      - targets: ["127.0.0.1:%d"]
`, telemetryPort)
}

func destination(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/traces"
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func startCollector(t *testing.T, config string) {
	t.Helper()
	bin := testutil.CollectorBinary(t)
	file := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config="+file)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("collector log:\n%s", logs.String())
		}
	})
}

const oneSpan = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"chroma"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"query","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`

// Every panel returns data from a real Prometheus fed by the collector: the
// backup metrics through remote write, the collector's own by scraping.
func TestDashboardPanelsReturnData(t *testing.T) {
	panels := queryPanels(t, loadDashboard(t))
	otlpPort, telemetryPort := freePort(t), freePort(t)
	prom := prometheus.Start(t, prometheusConfig(telemetryPort))
	persist := chromatest.CopyDemo(t)
	bucket := t.TempDir()
	startCollector(t, collectorConfig(persist, "file://"+bucket, prom.URL+"/api/v1/write",
		destination(t, http.StatusOK), destination(t, http.StatusBadRequest), otlpPort, telemetryPort))

	p := parser.NewParser(parser.Options{})
	missing := map[string]bool{}
	for _, pn := range panels {
		missing[pn.Title] = true
	}
	sendSpan := func() {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", otlpPort), "application/json", strings.NewReader(oneSpan))
		if err == nil {
			resp.Body.Close()
		}
	}
	defer func() {
		if t.Failed() {
			t.Logf("panels without data: %v (each panel's metrics come from the chromabackup receiver, remote-written, or from the collector's own telemetry, scraped)", keys(missing))
		}
	}()
	testutil.Eventually(t, 90*time.Second, "every panel returning data", func() bool {
		sendSpan()
		for _, pn := range panels {
			if missing[pn.Title] && panelHasData(t, prom, p, pn) {
				delete(missing, pn.Title)
			}
		}
		return len(missing) == 0
	})
}

// panelHasData: at least one of the panel's queries returns a series (a
// panel plots several signals, not all of which a pipeline carries).
func panelHasData(t *testing.T, prom *prometheus.Server, p parser.Parser, pn panel) bool {
	t.Helper()
	for _, tg := range pn.Targets {
		expr := expand(tg.Expr)
		if _, err := p.ParseExpr(expr); err != nil {
			t.Fatalf("panel %q: %v", pn.Title, err)
		}
		if n, err := prom.Query(t.Context(), expr); err == nil && n > 0 {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
