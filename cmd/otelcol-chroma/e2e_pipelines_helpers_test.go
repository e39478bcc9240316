package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// productionConfig is the shipped configuration under test.
func productionConfig(t *testing.T) string {
	t.Helper()
	root, err := chromatest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "kubernetes", "base", "collector.yaml")
}

// otlpCapture plays an OTLP/HTTP destination (and a Prometheus remote-write
// one on /api/v1/write) on 127.0.0.1: it keeps what it receives, and it can
// be stopped and started again on the same address.
type otlpCapture struct {
	t    *testing.T
	addr string

	mu          sync.Mutex
	srv         *http.Server
	spanCounts  map[string]int // span name -> times received
	idCounts    map[string]int // span ID (hex) -> times received: IDs pass every policy unchanged
	text        strings.Builder
	metrics     []pmetric.Metrics
	auth        map[string]bool // authorization header values seen
	remoteWrite int             // remote-write requests
	changed     chan struct{}
}

func newCapture(t *testing.T) *otlpCapture {
	t.Helper()
	c := &otlpCapture{t: t, addr: freeAddr(t), spanCounts: map[string]int{}, idCounts: map[string]int{}, auth: map[string]bool{}, changed: make(chan struct{}, 1)}
	c.start()
	t.Cleanup(c.stop)
	return c
}

// endpoint is the base URL the OTLP/HTTP exporter is given.
func (c *otlpCapture) endpoint() string { return "http://" + c.addr }

func (c *otlpCapture) start() {
	c.t.Helper()
	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatalf("capture listen %s: %v", c.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(c.serve), ReadHeaderTimeout: 10 * time.Second}
	c.mu.Lock()
	c.srv = srv
	c.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// stop closes the listener and every connection: the destination is down.
func (c *otlpCapture) stop() {
	c.mu.Lock()
	srv := c.srv
	c.srv = nil
	c.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (c *otlpCapture) serve(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.auth[r.Header.Get("Authorization")] = true
	c.mu.Unlock()
	switch r.URL.Path {
	case "/v1/traces":
		err = c.keepTraces(body)
	case "/v1/metrics":
		err = c.keepMetrics(body)
	case "/api/v1/write":
		c.mu.Lock()
		c.remoteWrite++
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		c.notify()
		return
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
	c.notify()
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		rd = gz
	}
	return io.ReadAll(rd)
}

// otlpRequest is an OTLP export request of any signal.
type otlpRequest interface {
	UnmarshalProto(data []byte) error
	MarshalJSON() ([]byte, error)
}

// keep decodes body into req, keeps it as JSON and lets record take what it
// needs, under the capture's lock.
func (c *otlpCapture) keep(body []byte, req otlpRequest, record func()) error {
	if err := req.UnmarshalProto(body); err != nil {
		return err
	}
	js, err := req.MarshalJSON()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text.Write(js)
	record()
	return nil
}

func (c *otlpCapture) keepTraces(body []byte) error {
	req := ptraceotlp.NewExportRequest()
	return c.keep(body, req, func() {
		rss := req.Traces().ResourceSpans()
		for i := range rss.Len() {
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					c.spanCounts[spans.At(k).Name()]++
					c.idCounts[spans.At(k).SpanID().String()]++
				}
			}
		}
	})
}

func (c *otlpCapture) keepMetrics(body []byte) error {
	req := pmetricotlp.NewExportRequest()
	return c.keep(body, req, func() { c.metrics = append(c.metrics, req.Metrics()) })
}

func (c *otlpCapture) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// all is everything received, as OTLP/JSON.
func (c *otlpCapture) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text.String()
}

// sawAuth reports whether a request came with this authorization header.
func (c *otlpCapture) sawAuth(value string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auth[value]
}

// remoteWrites is how many remote-write requests arrived.
func (c *otlpCapture) remoteWrites() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteWrite
}

// spans returns a copy of the span-name counts.
func (c *otlpCapture) spans() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.spanCounts))
	for k, v := range c.spanCounts {
		out[k] = v
	}
	return out
}

// spanIDs counts the spans received by span ID (hex).
func (c *otlpCapture) spanIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.idCounts))
	for k, v := range c.idCounts {
		out[k] = v
	}
	return out
}

// spanID is the ID spanBatch gives span i of the batch starting at first.
func spanID(first, i int) pcommon.SpanID {
	return pcommon.SpanID([8]byte{2, byte(first >> 24), byte(first >> 16), byte(first >> 8), byte(first), byte(i)})
}

// resourceValues lists the distinct values of a resource attribute on the
// metrics named metric.
func (c *otlpCapture) resourceValues(metric, attr string) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, md := range c.metrics {
		rms := md.ResourceMetrics()
		for i := range rms.Len() {
			if !hasMetric(rms.At(i), metric) {
				continue
			}
			if v, ok := rms.At(i).Resource().Attributes().Get(attr); ok {
				out[v.AsString()] = true
			}
		}
	}
	return out
}

func hasMetric(rm pmetric.ResourceMetrics, name string) bool {
	sms := rm.ScopeMetrics()
	for i := range sms.Len() {
		ms := sms.At(i).Metrics()
		for j := range ms.Len() {
			if ms.At(j).Name() == name {
				return true
			}
		}
	}
	return false
}

// waitUntil waits until cond holds, woken by the capture or a short tick,
// failing when ctx ends first.
func (c *otlpCapture) waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-c.changed:
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// productionCollector is what a test needs to run the shipped config.
type productionCollector struct {
	bin, cfg     string
	overrides    []string // --config=yaml: values merged over cfg
	env          []string
	grpc, health string
	metricsPort  string
	queueDir     string
	persist      string
}

// newProductionCollector prepares the environment of the shipped config:
// its own ports on 127.0.0.1, a queue folder, a folder bucket and a copy of
// the demo persist directory. vars adds or overrides variables (KEY=value).
func newProductionCollector(t *testing.T, instance string, vars ...string) *productionCollector {
	t.Helper()
	dir := t.TempDir()
	p := &productionCollector{
		bin: binary(t), cfg: productionConfig(t),
		grpc: freeAddr(t), health: freeAddr(t),
		queueDir: filepath.Join(dir, "queue"), persist: chromatest.CopyDemo(t),
	}
	_, p.metricsPort, _ = net.SplitHostPort(freeAddr(t))
	bucket := filepath.Join(dir, "bucket")
	for _, d := range []string{p.queueDir, bucket} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p.env = cliEnv(t, append([]string{
		"CHROMA_PERSIST_DIR=" + p.persist,
		"CHROMA_INSTANCE=" + instance,
		"CHROMA_PROBE_INTERVAL=1s",
		"SNAPSHOT_BUCKET_URL=file://" + bucket,
		"SNAPSHOT_JITTER=0s",
		"QUEUE_DIRECTORY=" + p.queueDir,
		"OTLP_GRPC_ENDPOINT=" + p.grpc,
		"HEALTH_CHECK_ENDPOINT=" + p.health,
		"TELEMETRY_METRICS_HOST=127.0.0.1",
		"TELEMETRY_METRICS_PORT=" + p.metricsPort,
	}, vars...)...)
	return p
}

// start runs the collector and waits for its health check.
func (p *productionCollector) start(ctx context.Context, t *testing.T) *collectorProcess {
	t.Helper()
	c := startCollector(t, p.bin, p.env, p.cfg, p.overrides...)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !healthy(p.health) {
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("the collector exited (%v) before its health check answered:\n%s", err, c.log())
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the health check never answered:\n%s", c.log())
		}
	}
	return c
}

func healthy(addr string) bool {
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ownMetrics returns the collector's own metrics (Prometheus text).
func (p *productionCollector) ownMetrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + p.metricsPort + "/metrics")
	if err != nil {
		t.Fatalf("collector's own metrics: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// ownMetric sums the samples of a metric whose labels contain every part.
func ownMetric(text, name string, parts ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !containsAll(line, parts) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// spanBatch builds one trace request with n spans named prefix-<first+i>.
func spanBatch(prefix string, first, n int) ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chroma")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	for i := range n {
		s := spans.AppendEmpty()
		s.SetName(fmt.Sprintf("%s-%06d", prefix, first+i))
		s.SetTraceID(pcommon.TraceID([16]byte{1, byte(first >> 16), byte(first >> 8), byte(first), byte(i)}))
		s.SetSpanID(spanID(first, i))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		s.Attributes().PutStr("http.route", "/api/v2/heartbeat")
	}
	return ptraceotlp.NewExportRequestFromTraces(td)
}

// requireNoSecret fails when any secret appears in text.
func requireNoSecret(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("a secret (%.6s...) appears in %s", s, where)
		}
	}
}
