package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// What a hostile or careless OTLP sender plants. None of it may reach the
// vendor through the shipped configuration.
const (
	hostilePhone   = 5551234567
	hostileIPv4Int = 3232235777 // 192.168.1.1
	hostileCard    = 4111111111111111
	hostilePath    = "/api/v2/tenants/staging/databases/users"
	hostileEmail   = "jane.doe@example.com"
	hostileToken   = "sk_live_HOSTILETOKEN0123456789abcdef"
	hostileName    = "HOSTILECOLLECTION-payroll"
	hostileHost    = "db-7.hostile.internal"
)

// hostileEmbedding is a document's vector.
var hostileEmbedding = []float64{0.1234567, -0.7654321}

// hostileAttrs fills m with kept keys holding values that do not fit their
// shape, and with unlisted keys, a key that is itself a secret, and nested
// values.
func hostileAttrs(m pcommon.Map) {
	for _, k := range []string{"error.type", "target", "http.method", "has_where", "include", "outcome"} {
		m.PutInt(k, hostilePhone)
	}
	m.PutInt("code.function", hostileIPv4Int)
	m.PutInt("limit", hostileCard)
	m.PutDouble("num_ids", hostileCard)
	embedding := m.PutEmptySlice("busy_ns")
	for _, x := range hostileEmbedding {
		embedding.AppendEmpty().SetDouble(x)
	}
	m.PutStr("code.namespace", "uri:"+hostilePath)
	m.PutStr("classification", "uri="+hostilePath)
	m.PutStr("collection_name", hostileName)
	m.PutStr("user."+hostileEmail, "x")
	m.PutStr("thread.name", hostileHost)
	m.PutEmptyMap("exception.type").PutStr("db.statement", "SELECT * FROM "+hostileName)
	m.PutEmptySlice("rpc.method").AppendEmpty().SetStr("Bearer " + hostileToken)
}

// hostileTraces is one span named by the test, carrying everything planted.
func hostileTraces(id pcommon.SpanID) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chroma")
	rs.Resource().Attributes().PutStr("host.ip", "10.1.2.3")
	hostileAttrs(rs.Resource().Attributes())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("chroma " + hostileName)
	hostileAttrs(ss.Scope().Attributes())
	now := time.Now()
	for i, name := range []string{"GET\t" + hostilePath, "request=" + hostilePath} {
		sp := ss.Spans().AppendEmpty()
		sp.SetName(name)
		sp.SetTraceID(pcommon.TraceID([16]byte{7, 7, byte(i)}))
		sp.SetSpanID(id)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		sp.Attributes().PutStr("http.route", "/api/v2/heartbeat")
		hostileAttrs(sp.Attributes())
		sp.Status().SetMessage("collection " + hostileName + " owned by " + hostileEmail)
		sp.TraceState().FromRaw("vendor=" + hostileToken)
		ev := sp.Events().AppendEmpty()
		ev.SetName("uri=" + hostilePath)
		hostileAttrs(ev.Attributes())
		sp.Events().AppendEmpty().SetName("query failed tenant=staging, database=users")
		l := sp.Links().AppendEmpty()
		l.TraceState().FromRaw("k=" + hostileEmail)
		hostileAttrs(l.Attributes())
	}
	return td
}

// hostileMetrics is one gauge carrying everything planted in its point and
// exemplar.
func hostileMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "chroma")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("collection_get")
	m.SetDescription("requests to\t" + hostilePath)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetIntValue(1)
	hostileAttrs(dp.Attributes())
	hostileAttrs(dp.Exemplars().AppendEmpty().FilteredAttributes())
	return md
}

// TestShippedConfigKeepsHostileTelemetryFromTheVendor sends traces and
// metrics planted with values in forms the vendor policy must not let
// through (integers under kept keys whose shape is no number, card numbers
// as numbers under count keys, an embedding as a list under a timing key, request paths after a tab or =, key=value
// pairs in names, secrets in unlisted keys, keys, status
// messages, trace state, scope names, links and exemplars) to the shipped
// configuration over OTLP/gRPC, and searches everything the vendor's
// endpoint receives.
func TestShippedConfigKeepsHostileTelemetryFromTheVendor(t *testing.T) {
	ctx := e2eContext(t)
	vendor := newCapture(t)
	p := newProductionCollector(t, "hostile-instance", "VENDOR_OTLP_ENDPOINT="+vendor.endpoint(), "SCRUB_HASH_KEY="+testHashKey)
	p.start(ctx, t)

	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	id := pcommon.SpanID([8]byte{0x0b, 0xad, 0x5e, 0xed})
	sendHostile(ctx, t, conn, id)
	vendor.waitUntil(ctx, t, "the hostile span and metric at the vendor", func() bool {
		return vendor.spanIDs()[id.String()] == 2 && strings.Contains(vendor.all(), `"name":"collection_get"`)
	})

	got := vendor.all()
	for _, planted := range []string{
		strconv.Itoa(hostilePhone), strconv.Itoa(hostileIPv4Int), strconv.Itoa(hostileCard), "0.1234567", "0.7654321", "tenants/staging", "databases/users", "tenant=staging", "database=users", hostileEmail,
		hostileToken, "HOSTILE", "hostile", "payroll", "10.1.2.3", "SELECT",
	} {
		if i := strings.Index(got, planted); i >= 0 {
			t.Errorf("the vendor received %q: ...%s...", planted, got[max(0, i-160):min(len(got), i+60)])
		}
	}
	for _, want := range []string{`"http.route","value":{"stringValue":"/api/v2/heartbeat"}`, "/api/v2/tenants/*/databases/*"} {
		if !strings.Contains(got, want) {
			t.Errorf("the vendor lacks %s", want)
		}
	}
}

func sendHostile(ctx context.Context, t *testing.T, conn *grpc.ClientConn, id pcommon.SpanID) {
	t.Helper()
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(hostileTraces(id))); err != nil {
		t.Fatalf("export traces: %v", err)
	}
	if _, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(hostileMetrics())); err != nil {
		t.Fatalf("export metrics: %v", err)
	}
}

// hostileLogs are log records whose bodies are numbers, a slice holding
// one, a map of kept keys with values that do not fit, and whose event
// names and severity texts hold request paths and key=value pairs.
func hostileLogs() plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetInt(hostilePhone)
	lrs.AppendEmpty().Body().SetDouble(hostileIPv4Int)
	lrs.AppendEmpty().Body().SetEmptySlice().AppendEmpty().SetInt(hostilePhone)
	hostileAttrs(lrs.AppendEmpty().Body().SetEmptyMap())
	lr := lrs.AppendEmpty()
	lr.SetEventName("uri=" + hostilePath)
	lr.SetSeverityText("ERROR tenant=staging")
	lr.Attributes().PutStr("level", "ERROR")
	return ld
}

// TestVendorPolicyOverOTLPHTTPJSON posts hostile logs as OTLP/HTTP JSON to
// the binary with scrub/vendor in a logs pipeline (the embedded default
// configuration has one) and reads what its debug exporter prints.
func TestVendorPolicyOverOTLPHTTPJSON(t *testing.T) {
	addr := freeAddr(t)
	c := startVendorCollector(t, vendorDebugConfig(`
  otlp:
    protocols:
      http:
        endpoint: `+addr, "hash_key: "+testHashKey, "logs", "otlp"))
	body, err := (&plog.JSONMarshaler{}).MarshalLogs(hostileLogs())
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, c, "the OTLP/HTTP receiver", func(log string) bool { return strings.Contains(log, "Everything is ready") })
	resp, err := http.Post("http://"+addr+"/v1/logs", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/logs: %s", resp.Status)
	}
	waitLog(t, c, "the last log record printed", func(log string) bool { return strings.Contains(log, "LogRecord #4") })

	got := c.log()
	for _, planted := range []string{strconv.Itoa(hostilePhone), strconv.Itoa(hostileIPv4Int), "3.232235777e+09", "0.1234567", "staging", hostileEmail, hostileToken, "HOSTILE"} {
		if i := strings.Index(got, planted); i >= 0 {
			t.Errorf("the vendor policy printed %q: ...%s...", planted, got[max(0, i-160):min(len(got), i+60)])
		}
	}
	if !strings.Contains(got, "/api/v2/tenants/*/databases/*") {
		t.Error("the event name's route is missing")
	}
}
