package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/prometheus"
)

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
	return srv.URL
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startCollector runs the shipped production configuration
// (deploy/kubernetes/base/collector.yaml) with the given variables.
func startCollector(t *testing.T, vars ...string) {
	t.Helper()
	bin := testutil.CollectorBinary(t)
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config="+filepath.Join(root, "deploy", "kubernetes", "base", "collector.yaml"))
	cmd.Env = append(os.Environ(), vars...)
	testutil.StartProcess(t, "collector", cmd)
}

// runCLI runs an otelcol-chroma subcommand, which must succeed.
func runCLI(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(testutil.CollectorBinary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("otelcol-chroma %v: %v\n%s", args, err, out)
	}
}

// sendSpan sends one span over OTLP/gRPC, as Chroma does.
func sendSpan(t *testing.T, addr string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chroma")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("query")
	span.SetTraceID([16]byte{1, 2, 3})
	span.SetSpanID([8]byte{1})
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, _ = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
}

// Every panel returns data from a real Prometheus fed by the collector on the
// shipped configuration: the backup metrics through the customer's remote
// write, the collector's own metrics by scraping.
func TestDashboardPanelsReturnData(t *testing.T) {
	panels := queryPanels(t, loadDashboard(t))
	otlpPort, telemetryPort := freePort(t), freePort(t)
	prom := prometheus.Start(t, prometheusConfig(telemetryPort))
	queue, bucket, persist := t.TempDir(), t.TempDir(), chromatest.CopyDemo(t)
	// The restore-drill CronJob's work (it runs where the reader key lives):
	// a snapshot and a drill, so the restore-test panels have a record.
	runCLI(t, "snapshot", "now", "--bucket", "file://"+bucket, "--persist-directory", persist, "--instance", "dash")
	runCLI(t, "snapshot", "drill", "--bucket", "file://"+bucket, "--scratch-directory", t.TempDir())
	startCollector(t,
		"CHROMA_PERSIST_DIR="+persist,
		"CHROMA_INSTANCE=dash",
		"CHROMA_PROBE_INTERVAL=1s",
		"SNAPSHOT_BUCKET_URL=file://"+bucket,
		"SNAPSHOT_JITTER=0s",
		"QUEUE_DIRECTORY="+queue,
		fmt.Sprintf("OTLP_GRPC_ENDPOINT=127.0.0.1:%d", otlpPort),
		fmt.Sprintf("HEALTH_CHECK_ENDPOINT=127.0.0.1:%d", freePort(t)),
		"TELEMETRY_METRICS_HOST=127.0.0.1",
		fmt.Sprintf("TELEMETRY_METRICS_PORT=%d", telemetryPort),
		// The vendor is down and its queue (one request) fills, so that
		// drops are counted; the customer's OTLP endpoint refuses for good,
		// so that failures are counted per destination; remote write sends.
		fmt.Sprintf("VENDOR_OTLP_ENDPOINT=http://127.0.0.1:%d", freePort(t)), // nothing listens
		"SENDING_QUEUE_SIZE=1",
		"SCRUB_HASH_KEY=dashboard-test-key-of-at-least-32-bytes",
		"CUSTOMER_OTLP_ENDPOINT="+destination(t, http.StatusBadRequest),
		"CUSTOMER_PROMETHEUS_REMOTE_WRITE_URL="+prom.URL+"/api/v1/write",
	)

	p := parser.NewParser(parser.Options{})
	missing := map[string]bool{}
	for _, pn := range panels {
		missing[pn.Title] = true
	}
	defer func() {
		if t.Failed() {
			t.Logf("panels without data: %v (each panel's metrics come from the chromabackup receiver, remote-written, or from the collector's own telemetry, scraped)", keys(missing))
		}
	}()
	testutil.Eventually(t, 90*time.Second, "every panel returning data", func() bool {
		sendSpan(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))
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
