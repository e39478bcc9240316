package scrubprocessor

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/xprocessor"
)

// go test ./processor/scrubprocessor -run TestGolden -update rewrites the
// golden files; review the diff before keeping it.
var update = flag.Bool("update", false, "rewrite golden files")

// goldenConfigs applies one action everywhere it can apply, plus the two
// built-in policies.
func goldenConfigs() map[string]*Config {
	all := func(a string) map[string]string {
		m := map[string]string{}
		for _, n := range detectNames() {
			m[n] = a
		}
		return m
	}
	keys := func(a string) []KeyRule {
		return []KeyRule{{Key: "tenant", Action: a}, {Key: "db.statement", Action: a}, {Key: "*password*", Action: a}}
	}
	return map[string]*Config{
		"drop": {Policy: PolicyNone, Keys: keys(ActionDrop), Detectors: all(ActionDrop),
			Text: TextConfig{StatusMessage: ActionDrop, LogBody: ActionDrop}},
		"mask": {Policy: PolicyNone, Keys: keys(ActionMask), Detectors: all(ActionMask),
			Text: TextConfig{StatusMessage: ActionMask, LogBody: ActionMask, EventName: ActionMask}},
		"hash": {Policy: PolicyNone, Keys: keys(ActionHash), Detectors: all(ActionHash), HashKey: testHashKey},
		"url": {Policy: PolicyNone, URLWithoutRoute: URLStrip, Text: TextConfig{SpanName: ActionURL},
			Keys: []KeyRule{{Key: "http.uri", Action: ActionURL}, {Key: "url.full", Action: ActionURL}}},
		"keep":     {Policy: PolicyNone, Mode: ModeAllowlist, Keys: []KeyRule{{Key: "service.name"}, {Key: "http.route"}, {Key: "http.method", Values: []string{"GET", "POST"}}, {Key: "level"}}},
		"vendor":   {Policy: PolicyVendor, HashKey: testHashKey},
		"customer": {Policy: PolicyCustomer},
	}
}

func goldenPath(signal, name string) string {
	return filepath.Join("testdata", "golden", signal, name+".yaml")
}

// goldenInput reads the input fixture, writing it first with -update.
func goldenInput[T any](t *testing.T, signal string, build func() T, write func(string, T) error, read func(string) (T, error)) T {
	path := goldenPath(signal, "input")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, write(path, build()))
	}
	in, err := read(path)
	require.NoError(t, err)
	return in
}

func TestGoldenTraces(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, cfg.Validate())
			in := goldenInput(t, "traces", goldenTracesInput, golden.WriteTracesToFile, golden.ReadTraces)
			got := runTraces(t, cfg, in)
			path := goldenPath("traces", name)
			if *update {
				require.NoError(t, golden.WriteTracesToFile(path, got))
			}
			want, err := golden.ReadTraces(path)
			require.NoError(t, err)
			require.NoError(t, ptracetest.CompareTraces(want, got))
		})
	}
}

func TestGoldenMetrics(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, cfg.Validate())
			in := goldenInput(t, "metrics", goldenMetricsInput, func(p string, md pmetric.Metrics) error {
				return golden.WriteMetricsToFile(p, md, golden.SkipMetricTimestampNormalization())
			}, golden.ReadMetrics)
			got := runMetrics(t, cfg, in)
			path := goldenPath("metrics", name)
			if *update {
				c := pmetric.NewMetrics()
				got.CopyTo(c)
				require.NoError(t, golden.WriteMetricsToFile(path, c, golden.SkipMetricTimestampNormalization()))
			}
			want, err := golden.ReadMetrics(path)
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(want, got, pmetrictest.IgnoreMetricsOrder(), pmetrictest.IgnoreMetricDataPointsOrder()))
		})
	}
}

func TestGoldenLogs(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, cfg.Validate())
			in := goldenInput(t, "logs", goldenLogsInput, golden.WriteLogsToFile, golden.ReadLogs)
			got := runLogs(t, cfg, in)
			path := goldenPath("logs", name)
			if *update {
				require.NoError(t, golden.WriteLogsToFile(path, got))
			}
			want, err := golden.ReadLogs(path)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(want, got))
		})
	}
}

func TestGoldenProfiles(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, cfg.Validate())
			in := goldenInput(t, "profiles", goldenProfilesInput, golden.WriteProfilesToFile, golden.ReadProfiles)
			sink := new(consumertest.ProfilesSink)
			p, err := NewFactory().(xprocessor.Factory).CreateProfiles(context.Background(), testSettings(), cfg, sink)
			require.NoError(t, err)
			require.NoError(t, p.ConsumeProfiles(context.Background(), in))
			got := sink.AllProfiles()[0]
			path := goldenPath("profiles", name)
			if *update {
				require.NoError(t, golden.WriteProfilesToFile(path, got))
			}
			want, err := golden.ReadProfiles(path)
			require.NoError(t, err)
			m := &pprofile.JSONMarshaler{}
			wantJSON, err := m.MarshalProfiles(want)
			require.NoError(t, err)
			gotJSON, err := m.MarshalProfiles(got)
			require.NoError(t, err)
			assert.JSONEq(t, string(wantJSON), string(gotJSON))
		})
	}
}

// ---- inputs: Chroma-shaped telemetry with something for every rule ----

func goldenTracesInput() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chroma")
	rs.Resource().Attributes().PutStr("host.name", "db-acme-1.internal")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("chroma")
	ss.Scope().Attributes().PutStr("owner", "jdoe@acme.com")
	ts := pcommon.Timestamp(1795218563251817623)

	sp := ss.Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID(pcommon.SpanID{1, 1, 1, 1, 1, 1, 1, 1})
	sp.SetName("GET /api/v2/tenants/{tenant}/databases/{database}/collections")
	sp.SetStartTimestamp(ts)
	sp.SetEndTimestamp(ts + 1000)
	a := sp.Attributes()
	a.PutStr("http.method", "GET")
	a.PutStr("http.uri", "/api/v2/tenants/acme/databases/payroll/collections?limit=10&canary_qs=CANARY-QUERYSTRING-SECRET")
	a.PutStr("http.route", "/api/v2/tenants/{tenant}/databases/{database}/collections")
	a.PutStr("http.status_code", "200")
	a.PutStr("http.user_agent", "CanaryAgent/1.0 (ua-canary-42)")
	a.PutStr("tenant", "canary_tenant_acme_corp")
	a.PutStr("db_password_hint", "hunter2")
	a.PutStr("code.filepath", "/home/runner/.cargo/registry/src/tower-http-0.6.2/src/trace/on_failure.rs")
	a.PutInt("busy_ns", 101690)
	ev := sp.Events().AppendEmpty()
	ev.SetTimestamp(ts + 10)
	ev.SetName("Cache miss for collection 98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb")
	ev.Attributes().PutStr("level", "INFO")
	ev.Attributes().PutStr("collection_id", "98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb")
	ev.Attributes().PutStr("db.statement", "SELECT id FROM collections WHERE name = 'payroll'")
	l := sp.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9})
	l.SetSpanID(pcommon.SpanID{2, 2, 2, 2, 2, 2, 2, 2})
	l.Attributes().PutStr("peer", "10.1.2.3")
	l.Attributes().PutStr("level", "DEBUG")

	sp = ss.Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID(pcommon.SpanID{3, 3, 3, 3, 3, 3, 3, 3})
	sp.SetName("POST /v1/users/12345/orders/98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb")
	sp.SetStartTimestamp(ts + 2000)
	sp.SetEndTimestamp(ts + 3000)
	sp.Attributes().PutStr("http.method", "POST")
	sp.Attributes().PutStr("url.full", "https://svc:s3cret@api.example.com/v1/users/12345/orders/98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb?token=abc#top")
	sp.Attributes().PutStr("auth", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqZG9lIn0.c2lnbmF0dXJlMTIz")
	card := sp.Attributes().PutEmptyMap("payment")
	card.PutStr("card", "4111 1111 1111 1111")
	card.PutStr("level", "INFO")
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("order for jdoe@acme.com failed: AKIAIOSFODNN7EXAMPLE rejected")
	sp.TraceState().FromRaw("acme=10.1.2.3")
	return td
}

func goldenMetricsInput() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "chroma")
	rm.Resource().Attributes().PutStr("host.name", "db-acme-1.internal")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("chroma")
	start, ts := pcommon.Timestamp(1795218548973462883), pcommon.Timestamp(1795218608913403387)

	counter := sm.Metrics().AppendEmpty()
	counter.SetName("collection_add")
	sum := counter.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for i, attrs := range [][2]string{{"default_tenant", "98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb"}, {"canary_tenant_acme_corp", "2f410304-531e-4ee6-a80e-894646ebc9f7"}, {"default_tenant", "c0e88519-8bdd-4a86-b91e-193062623944"}} {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(ts)
		dp.SetIntValue(int64(2 + i))
		dp.Attributes().PutStr("tenant", attrs[0])
		dp.Attributes().PutStr("collection_id", attrs[1])
	}

	hist := sm.Metrics().AppendEmpty()
	hist.SetName("get_latency")
	h := hist.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for i, tenant := range []string{"default_tenant", "canary_tenant_acme_corp"} {
		dp := h.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(start)
		dp.SetTimestamp(ts)
		dp.Attributes().PutStr("tenant", tenant)
		dp.Attributes().PutStr("http.route", "/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/get")
		dp.ExplicitBounds().FromRaw([]float64{0, 5, 10, 25})
		dp.BucketCounts().FromRaw([]uint64{uint64(i), 4, 9, 4, 1})
		dp.SetCount(uint64(18 + i))
		dp.SetSum(float64(146 + i))
		dp.SetMin(0)
		dp.SetMax(float64(23 + i))
	}

	gauge := sm.Metrics().AppendEmpty()
	gauge.SetName("disk_free_on_/home/jdoe")
	g := gauge.SetEmptyGauge().DataPoints().AppendEmpty()
	g.SetTimestamp(ts)
	g.SetDoubleValue(0.5)
	g.Attributes().PutStr("peer", "10.1.2.3")
	ex := g.Exemplars().AppendEmpty()
	ex.SetTimestamp(ts)
	ex.SetDoubleValue(0.5)
	ex.FilteredAttributes().PutStr("tenant", "canary_tenant_acme_corp")
	ex.FilteredAttributes().PutStr("user", "jdoe@acme.com")
	return md
}

func goldenLogsInput() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "chroma")
	rl.Resource().Attributes().PutStr("host.name", "db-acme-1.internal")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("chroma")
	ts := pcommon.Timestamp(1795218563251817623)

	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(ts)
	lr.SetSeverityText("ERROR")
	lr.Body().SetStr("backup to s3://acme-backups failed for jdoe@acme.com from 10.1.2.3")
	lr.Attributes().PutStr("tenant", "canary_tenant_acme_corp")
	lr.Attributes().PutStr("exception.type", "IOError")
	lr.Attributes().PutStr("db.statement", "DELETE FROM embeddings WHERE id = 7")

	lr = sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(ts + 1)
	lr.SetEventName("request jdoe@acme.com")
	body := lr.Body().SetEmptyMap()
	body.PutStr("level", "INFO")
	body.PutStr("tenant", "canary_tenant_acme_corp")
	req := body.PutEmptyMap("request")
	req.PutStr("http.method", "PUT")
	req.PutStr("http.uri", "/api/v2/tenants/acme?token=abc")
	req.PutStr("api_password", "hunter2")
	req.PutStr("note", "call 555-44-3333")

	lr = sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(ts + 2)
	s := lr.Body().SetEmptySlice()
	s.AppendEmpty().SetStr("user jdoe@acme.com logged in")
	s.AppendEmpty().SetEmptyMap().PutStr("level", "WARN")
	s.AppendEmpty().SetInt(4111111111111111)
	return ld
}

func goldenProfilesInput() pprofile.Profiles {
	pd := pprofile.NewProfiles()
	dict := pd.Dictionary()
	strs := dict.StringTable()
	for _, s := range []string{"", "tenant", "canary_tenant_acme_corp", "thread.name", "level", "main.handle", "/home/runner/src/acme/main.go", "samples", "count", "cpu", "nanoseconds", "jdoe@acme.com"} {
		strs.Append(s)
	}
	kv := func(key int32, v string) {
		e := dict.AttributeTable().AppendEmpty()
		e.SetKeyStrindex(key)
		e.Value().SetStr(v)
	}
	kv(0, "")
	kv(1, "canary_tenant_acme_corp")        // 1: tenant
	kv(4, "INFO")                           // 2: level
	kv(3, "worker for jdoe@acme.com")       // 3: thread.name
	kv(11, "a key made of a user's e-mail") // 4: jdoe@acme.com
	fn := dict.FunctionTable().AppendEmpty()
	fn.SetNameStrindex(5)
	fn.SetFilenameStrindex(6)
	m := dict.MappingTable().AppendEmpty()
	m.SetFilenameStrindex(6)
	m.AttributeIndices().FromRaw([]int32{1, 2})
	loc := dict.LocationTable().AppendEmpty()
	loc.AttributeIndices().FromRaw([]int32{3})
	loc.Lines().AppendEmpty().SetFunctionIndex(0)

	rp := pd.ResourceProfiles().AppendEmpty()
	rp.Resource().Attributes().PutStr("service.name", "chroma")
	rp.Resource().Attributes().PutStr("host.name", "db-acme-1.internal")
	sp := rp.ScopeProfiles().AppendEmpty()
	sp.Scope().SetName("chroma")
	p := sp.Profiles().AppendEmpty()
	p.SetProfileID(pprofile.ProfileID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	p.SetTime(pcommon.Timestamp(1795218563251817623))
	p.SampleType().SetTypeStrindex(7)
	p.SampleType().SetUnitStrindex(8)
	p.PeriodType().SetTypeStrindex(9)
	p.PeriodType().SetUnitStrindex(10)
	p.AttributeIndices().FromRaw([]int32{1, 2, 4})
	p.OriginalPayload().FromRaw([]byte("raw pprof with canary_tenant_acme_corp"))
	p.SetOriginalPayloadFormat("pprof")
	s := p.Samples().AppendEmpty()
	s.AttributeIndices().FromRaw([]int32{1, 3})
	s.Values().FromRaw([]int64{10})
	return pd
}
