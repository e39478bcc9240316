package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"sigs.k8s.io/yaml"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
)

// testHashKey is the scrub hash key the tests give the shipped config.
const testHashKey = "hash-key-for-tests-0123456789abcdef-SECRETHASHKEY"

// TestProductionConfigValidates runs `otelcol-chroma validate` on the shipped
// configuration with every destination set, with each one alone, and with
// none: an unset destination is switched off, and only a configuration left
// with no destination at all is refused, with a message naming the variables'
// exporters.
func TestProductionConfigValidates(t *testing.T) {
	p := newProductionCollector(t, "validate")
	all := map[string]string{
		"VENDOR_OTLP_ENDPOINT":                 "https://otlp.vendor.example:4318",
		"CUSTOMER_OTLP_ENDPOINT":               "https://otlp.customer.example:4318",
		"CUSTOMER_PROMETHEUS_REMOTE_WRITE_URL": "https://prometheus.customer.example/api/v1/write",
		"ALERTMANAGER_URL":                     "http://alertmanager.monitoring:9093",
	}
	cases := []struct {
		name string
		set  []string
		hash bool
		fail string
	}{
		{"every destination", []string{"VENDOR_OTLP_ENDPOINT", "CUSTOMER_OTLP_ENDPOINT", "CUSTOMER_PROMETHEUS_REMOTE_WRITE_URL", "ALERTMANAGER_URL"}, true, ""},
		{"alerts alone", []string{"ALERTMANAGER_URL"}, false, ""},
		{"vendor alone", []string{"VENDOR_OTLP_ENDPOINT"}, true, ""},
		{"customer OTLP alone, no hash key", []string{"CUSTOMER_OTLP_ENDPOINT"}, false, ""},
		{"remote write alone", []string{"CUSTOMER_PROMETHEUS_REMOTE_WRITE_URL"}, false, ""},
		{"vendor without a hash key", []string{"VENDOR_OTLP_ENDPOINT"}, false, "hash_key"},
		{"no destination", nil, true, "every telemetry destination is switched off"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string(nil), p.env...)
			for _, name := range tc.set {
				env = append(env, name+"="+all[name])
			}
			if tc.hash {
				env = append(env, "SCRUB_HASH_KEY="+testHashKey)
			}
			res := runCLI(t, p.bin, env, "validate", "--config", p.cfg)
			if tc.fail == "" {
				if res.code != 0 {
					t.Fatalf("validate failed: %s", res)
				}
				return
			}
			if res.code == 0 || !strings.Contains(res.stderr+res.stdout, tc.fail) {
				t.Fatalf("validate: want a failure saying %q, got %s", tc.fail, res)
			}
		})
	}
}

// spanSender keeps sending trace requests of 10 uniquely named spans over
// OTLP/gRPC and remembers which spans the collector accepted.
type spanSender struct {
	mu       sync.Mutex
	accepted map[string]bool
	refused  int
	stop     chan struct{}
	done     chan struct{}
}

func startSpanSender(t *testing.T, addr string) *spanSender {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	s := &spanSender{accepted: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	client := ptraceotlp.NewGRPCClient(conn)
	go func() {
		defer close(s.done)
		defer conn.Close()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n += 10 {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			s.send(client, n)
		}
	}()
	t.Cleanup(s.halt)
	return s
}

func (s *spanSender) send(client ptraceotlp.GRPCClient, first int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := spanBatch("loss", first, 10)
	_, err := client.Export(ctx, req, grpc.WaitForReady(false))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.refused++
		return
	}
	for i := range 10 {
		// By span ID: the vendor policy templates names, never IDs.
		s.accepted[spanID(first, i).String()] = true
	}
}

func (s *spanSender) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *spanSender) acceptedSpans() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.accepted))
	for k := range s.accepted {
		out[k] = true
	}
	return out
}

// arrivedCount is how many of the accepted spans a capture holds.
func arrivedCount(accepted map[string]bool, got map[string]int) (arrived, duplicates int) {
	for name := range accepted {
		if n := got[name]; n > 0 {
			arrived++
			duplicates += n - 1
		}
	}
	return arrived, duplicates
}

// TestDestinationOutageAndRestartsLoseNothing is the loss test: with the
// vendor's endpoint down, traffic keeps flowing to the customer; the
// collector is restarted with SIGTERM and killed with SIGKILL meanwhile;
// when the endpoint comes back, every span the collector accepted reaches
// both destinations (duplicates are counted, not failed).
func TestDestinationOutageAndRestartsLoseNothing(t *testing.T) {
	ctx := e2eContext(t)
	vendor, customer := newCapture(t), newCapture(t)
	vendorSecret, customerSecret := "Bearer vendor-SECRETTOKEN-41f9c2", "Bearer customer-SECRETTOKEN-77ab01"
	p := newProductionCollector(t, "loss-test",
		"VENDOR_OTLP_ENDPOINT="+vendor.endpoint(), "VENDOR_OTLP_AUTHORIZATION="+vendorSecret,
		"CUSTOMER_OTLP_ENDPOINT="+customer.endpoint(), "CUSTOMER_OTLP_AUTHORIZATION="+customerSecret,
		"CUSTOMER_PROMETHEUS_REMOTE_WRITE_URL="+customer.endpoint()+"/api/v1/write",
		"CUSTOMER_PROMETHEUS_REMOTE_WRITE_AUTHORIZATION="+customerSecret,
		"SCRUB_HASH_KEY="+testHashKey,
	)
	c := p.start(ctx, t)
	logs := []*collectorProcess{c}
	sender := startSpanSender(t, p.grpc)
	customerGets := func(n int) func() bool {
		return func() bool { a, _ := arrivedCount(sender.acceptedSpans(), customer.spanIDs()); return a >= n }
	}
	vendor.waitUntil(ctx, t, "spans at the vendor", func() bool { return len(vendor.spanIDs()) > 0 })

	vendor.stop()
	before := len(sender.acceptedSpans())
	customer.waitUntil(ctx, t, "the customer receiving while the vendor is down", customerGets(before+200))

	restart := func(sig syscall.Signal) {
		if sig == syscall.SIGKILL {
			c.kill(t)
		} else {
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			c.done <- <-c.done
		}
		c = p.start(ctx, t)
		logs = append(logs, c)
		n := len(sender.acceptedSpans())
		customer.waitUntil(ctx, t, fmt.Sprintf("the customer receiving after %v", sig), customerGets(n+100))
	}
	restart(syscall.SIGTERM)
	restart(syscall.SIGKILL)

	sender.halt()
	accepted := sender.acceptedSpans()
	vendor.start()
	all := func(cap *otlpCapture) func() bool {
		return func() bool { a, _ := arrivedCount(accepted, cap.spanIDs()); return a == len(accepted) }
	}
	customer.waitUntil(ctx, t, "every accepted span at the customer", all(customer))
	vendor.waitUntil(ctx, t, "every accepted span at the vendor", all(vendor))
	own := p.ownMetrics(t)
	_, vendorDup := arrivedCount(accepted, vendor.spanIDs())
	_, customerDup := arrivedCount(accepted, customer.spanIDs())
	t.Logf("accepted %d spans (%d requests refused while the collector was down); arrived at the vendor %d (%d duplicates), at the customer %d (%d duplicates); dropped by the restarted collector: send_failed %v, enqueue_failed %v",
		len(accepted), sender.refused, len(accepted), vendorDup, len(accepted), customerDup,
		ownMetric(own, "otelcol_exporter_send_failed_spans"), ownMetric(own, "otelcol_exporter_enqueue_failed_spans"))

	secrets := []string{vendorSecret, customerSecret, testHashKey, "SECRETTOKEN", "SECRETHASHKEY"}
	for i, l := range logs {
		requireNoSecret(t, fmt.Sprintf("the log of run %d", i+1), l.log(), secrets...)
	}
	requireNoSecret(t, "the collector's own metrics", own, secrets...)
	if !vendor.sawAuth(vendorSecret) || !customer.sawAuth(customerSecret) {
		t.Errorf("a destination did not receive its authorization header")
	}
	customer.waitUntil(ctx, t, "backup metrics at the customer's remote-write endpoint", func() bool { return customer.remoteWrites() > 0 })
}

// TestFullVendorQueueDropsForTheVendorAlone fills the vendor's queue (5
// requests, the shipped config with only that value overridden) while its
// endpoint is down and the customer's is up: every
// request is still accepted, the customer receives every span, and what the
// vendor never gets is exactly what the dropwhenfull processor counts (and
// what the vendor exporter counts as enqueue failures), with a log line
// saying so.
func TestFullVendorQueueDropsForTheVendorAlone(t *testing.T) {
	ctx := e2eContext(t)
	vendor, customer := newCapture(t), newCapture(t)
	vendor.stop()
	p := newProductionCollector(t, "full-queue", "VENDOR_OTLP_ENDPOINT="+vendor.endpoint(),
		"CUSTOMER_OTLP_ENDPOINT="+customer.endpoint(), "SCRUB_HASH_KEY="+testHashKey)
	p.overrides = []string{"yaml:exporters::otlp_http/vendor::sending_queue::queue_size: 5"}
	c := p.start(ctx, t)
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	const requests, perRequest = 40, 10
	sent := map[string]bool{}
	for i := range requests {
		if _, err := client.Export(ctx, spanBatch("full", i*perRequest, perRequest)); err != nil {
			t.Fatalf("request %d of %d refused with the vendor's queue full: %v", i+1, requests, err)
		}
		for j := range perRequest {
			sent[spanID(i*perRequest, j).String()] = true
		}
	}
	customer.waitUntil(ctx, t, "every span at the customer", func() bool {
		a, _ := arrivedCount(sent, customer.spanIDs())
		return a == len(sent)
	})
	c.waitFor(ctx, t, "the dropwhenfull log line", func(log string) bool {
		return strings.Contains(log, "dropwhenfull: the sending queue behind this processor is full")
	})
	own := p.ownMetrics(t)
	dropped := ownMetric(own, "otelcol_processor_dropwhenfull_dropped_items", `processor="dropwhenfull/vendor"`, `signal="traces"`)
	refused := ownMetric(own, "otelcol_exporter_enqueue_failed_spans", `exporter="otlp_http/vendor"`)
	if dropped <= 0 || dropped != refused {
		t.Fatalf("dropped %v spans, the vendor exporter's queue refused %v: want equal and positive\n%s", dropped, refused, own)
	}
	if n := ownMetric(own, "otelcol_processor_dropwhenfull_dropped_items", `processor="dropwhenfull/customer"`); n != 0 {
		t.Errorf("the customer's pipeline dropped %v spans", n)
	}

	vendor.start()
	want := len(sent) - int(dropped)
	vendor.waitUntil(ctx, t, fmt.Sprintf("the %d spans the vendor's queue took", want), func() bool {
		a, _ := arrivedCount(sent, vendor.spanIDs())
		return a >= want
	})
	arrived, dups := arrivedCount(sent, vendor.spanIDs())
	t.Logf("sent %d spans with the vendor down and its queue at 5 requests: the customer got all, the vendor %d (%d duplicates), %v counted as dropped",
		len(sent), arrived, dups, dropped)
	if arrived != want {
		t.Errorf("the vendor got %d distinct spans, want %d (sent %d minus %v dropped)", arrived, want, len(sent), dropped)
	}
}

// TestShippedConfigPagesThroughAlertmanager: with ALERTMANAGER_URL set (and
// no other destination), the shipped configuration evaluates the shipped
// rule files (the otelcol-chroma-rules ConfigMap's keys) in the collector over
// the chromabackup receiver's metrics and posts the alerts to a real
// Alertmanager; its window covers every rule's look-back, so no rule is
// reported as seeing less than it reads.
func TestShippedConfigPagesThroughAlertmanager(t *testing.T) {
	ctx := e2eContext(t)
	dir := t.TempDir()
	amConfig := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(amConfig, []byte("route: {receiver: none}\nreceivers: [{name: none}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	am := alertmanager.Start(t, amConfig)
	rules := shippedRuleFiles(t, filepath.Join(dir, "rules"))
	// One rule of the test's own that holds at once, over a receiver metric.
	canary := "groups:\n  - name: canary\n    rules:\n      - alert: ShippedConfigCanary\n        expr: max by (instance) (chroma_persist_up) == 1\n"
	if err := os.WriteFile(filepath.Join(rules, "canary.yml"), []byte(canary), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newProductionCollector(t, "alerts-e2e", "ALERTMANAGER_URL="+am.URL, "ALERT_RULE_FILES="+rules+"/*.yml")
	c := p.start(ctx, t)
	waitAlert(ctx, t, am, "ShippedConfigCanary", "alerts-e2e")
	if strings.Contains(c.log(), "reads further back than the window") {
		t.Errorf("a shipped rule reads further back than the shipped window:\n%s", c.log())
	}
}

// shippedRuleFiles writes each key of the shipped rules ConfigMap into dir.
func shippedRuleFiles(t *testing.T, dir string) string {
	t.Helper()
	root, err := chromatest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "base", "alertrules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil || len(cm.Data) == 0 {
		t.Fatalf("the rules ConfigMap: %v (%d keys)", err, len(cm.Data))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waitAlert waits until the Alertmanager holds an active alert named name
// for the instance.
func waitAlert(ctx context.Context, t *testing.T, am *alertmanager.Server, name, instance string) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		alerts, err := am.Alerts(ctx)
		if err == nil {
			for _, a := range alerts {
				if a.Labels["alertname"] == name && a.Labels["instance"] == instance && a.Status.State == "active" {
					return
				}
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("alert %s for instance %s never reached the Alertmanager", name, instance)
		}
	}
}
