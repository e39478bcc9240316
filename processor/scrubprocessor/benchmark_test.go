package scrubprocessor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

// The benchmarks run the contrib redaction processor, this processor and a
// no-op floor that only visits every attribute on the same inputs, in one
// run, through each factory's processors:
//
//	go test -run '^$' -bench 'BenchmarkScrub' -benchmem ./processor/scrubprocessor
//
// BenchmarkScrub/<input>/<mode>/<implementation>; one op processes the whole
// input: the Chroma corpus (traces and metrics), or a synthetic batch of
// spans, log records and metric data points with 20 attributes each and
// about 5% sensitive values. Inputs are copied outside the timed region.

// benchInput is one op's worth of telemetry.
type benchInput struct {
	traces  []ptrace.Traces
	metrics []pmetric.Metrics
	logs    []plog.Logs
	items   int // spans + log records + metric data points
}

func (in benchInput) clone() benchInput {
	out := benchInput{items: in.items}
	for _, td := range in.traces {
		c := ptrace.NewTraces()
		td.CopyTo(c)
		out.traces = append(out.traces, c)
	}
	for _, md := range in.metrics {
		c := pmetric.NewMetrics()
		md.CopyTo(c)
		out.metrics = append(out.metrics, c)
	}
	for _, ld := range in.logs {
		c := plog.NewLogs()
		ld.CopyTo(c)
		out.logs = append(out.logs, c)
	}
	return out
}

func countItems(in *benchInput) {
	in.items = 0
	for _, td := range in.traces {
		in.items += td.SpanCount()
	}
	for _, md := range in.metrics {
		in.items += md.DataPointCount()
	}
	for _, ld := range in.logs {
		in.items += ld.LogRecordCount()
	}
}

func corpusInput(tb testing.TB) benchInput {
	var in benchInput
	for _, r := range loadCorpus(tb) {
		in.traces = append(in.traces, r.traces...)
		in.metrics = append(in.metrics, r.metrics...)
	}
	countItems(&in)
	return in
}

// synthetic keys: half of them in the vendor allowlist.
var syntheticKeys = []string{
	"http.method", "http.route", "http.status_code", "code.namespace", "code.lineno",
	"thread.name", "error.type", "rpc.method", "db.system", "busy_ns",
	"user.id", "tenant", "db.statement", "http.user_agent", "host.name",
	"net.peer.ip", "session.id", "request.id", "customer.email", "message",
}

// Values repeat the way they do in real telemetry: some keys have few
// distinct values (methods, routes, code locations), most carry ids, numbers
// and text that rarely repeat.
var syntheticLowCardinality = []string{
	"GET", "POST", "/api/v2/tenants/{tenant}/databases/{database}/collections", "200", "404",
	"chroma_frontend::server", "tokio-runtime-worker", "NotFound", "QueryCollection", "sqlite",
	"INFO", "DEBUG", "IncludeList([Document, Metadata])", "Some(10)", "rust/frontend/src/server.rs",
}

var syntheticWords = strings.Fields("the a request collection query failed succeeded for with records found " +
	"segment index compaction log offset batch embedding metadata document tenant database retry timeout " +
	"cache miss hit read write flush sync writer reader worker queue backlog started finished processing")

func syntheticWord(r *rand.Rand) string { return syntheticWords[r.IntN(len(syntheticWords))] }

func syntheticValue(r *rand.Rand) string {
	switch p := r.IntN(100); {
	case p < 5:
		return syntheticSecret(r)
	case p < 45:
		return syntheticLowCardinality[r.IntN(len(syntheticLowCardinality))]
	case p < 60:
		words := make([]string, 3+r.IntN(6))
		for i := range words {
			words[i] = syntheticWord(r)
		}
		return strings.Join(words, " ")
	case p < 70:
		return fmt.Sprintf("req-%016x", r.Uint64())
	case p < 80:
		return fmt.Sprintf("%d", r.IntN(10000000))
	case p < 87:
		return fmt.Sprintf("%d.%03dms", r.IntN(1000), r.IntN(1000))
	case p < 94:
		return fmt.Sprintf("src/%s/%s_%d.rs", syntheticWord(r), syntheticWord(r), r.IntN(100))
	default:
		return fmt.Sprintf("SELECT id FROM embeddings WHERE segment = ? AND seq_id > %d", r.IntN(100000))
	}
}

// syntheticSecret draws one of the shapes the detectors look for, with
// random content.
func syntheticSecret(r *rand.Rand) string {
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	switch r.IntN(12) {
	case 0:
		return fmt.Sprintf("user%d@example%d.com", r.IntN(100000), r.IntN(100))
	case 1:
		return fmt.Sprintf("peer 10.%d.%d.%d:4317", r.IntN(256), r.IntN(256), 1+r.IntN(254))
	case 2:
		return fmt.Sprintf("[2001:db8::%x:%x]:443", r.IntN(65536), r.IntN(65536))
	case 3:
		return "card 4111 1111 1111 1111"
	case 4:
		return fmt.Sprintf("ssn %03d-%02d-%04d", 100+r.IntN(500), 10+r.IntN(90), 1000+r.IntN(9000))
	case 5:
		return "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI" + hex(12) + "In0." + hex(32)
	case 6:
		return "AKIA" + strings.ToUpper(hex(16))
	case 7:
		return "sk-proj-" + hex(32)
	case 8:
		return "postgres://app:" + hex(10) + "@db.internal:5432/x"
	case 9:
		return "/home/" + syntheticWord(r) + "/.cargo/registry/src/lib.rs"
	case 10:
		return "collection " + hex(8) + "-" + hex(4) + "-4" + hex(3) + "-a" + hex(3) + "-" + hex(12)
	default:
		return "password=" + hex(12)
	}
}

func fillAttrs(r *rand.Rand, m pcommon.Map) {
	for _, k := range syntheticKeys {
		m.PutStr(k, syntheticValue(r))
	}
}

// syntheticInput builds n spans, n log records and n metric data points.
func syntheticInput(n int) benchInput {
	r := rand.New(rand.NewPCG(1, 2))
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chroma")
	rs.Resource().Attributes().PutStr("host.name", "ip-10-0-3-17.internal")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		sp := spans.AppendEmpty()
		sp.SetName("POST /api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/query")
		fillAttrs(r, sp.Attributes())
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "chroma")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(syntheticValue(r))
		fillAttrs(r, lr.Attributes())
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "chroma")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	for i := 0; i < n; i++ {
		m := ms.AppendEmpty()
		m.SetName(fmt.Sprintf("chroma_metric_%d", i))
		dp := m.SetEmptySum().DataPoints().AppendEmpty()
		dp.SetIntValue(int64(i))
		fillAttrs(r, dp.Attributes())
	}
	in := benchInput{traces: []ptrace.Traces{td}, logs: []plog.Logs{ld}, metrics: []pmetric.Metrics{md}}
	countItems(&in)
	return in
}

// contribValueRegexes are the closest regular expressions to the detectors.
var contribValueRegexes = []string{
	`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`,
	`\b(?:\d{1,3}\.){3}\d{1,3}\b`,
	`\b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}\b`,
	`\b(?:\d[ -]?){12,18}\d\b`,
	`\b\d{3}-\d{2}-\d{4}\b`,
	`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*`,
	`(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`,
	`(?i)(?:password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*[^\s&,;]+`,
	`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`,
	`\b(?:sk-|sk_live_|ghp_|gho_|github_pat_|glpat-|xox[bpars]-|AIza|ck-|hf_|npm_)[A-Za-z0-9_-]{10,}`,
	`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)`,
	`://[^/\s:@]+:[^/\s@]+@`,
	`(?:/home/|/Users/|/root/|[A-Za-z]:\\Users\\)[^\s"']+`,
	`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`,
}

func globToRegex(g string) string {
	parts := strings.Split(g, "*")
	for i, p := range parts {
		parts[i] = regexpQuote(p)
	}
	return "(?i)^" + strings.Join(parts, ".*") + "$"
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// vendorAllowedKeys is the vendor policy's key list, for contrib.
func vendorAllowedKeys() []string {
	var keys []string
	for _, r := range vendorPolicy().keys {
		keys = append(keys, r.Key)
	}
	return keys
}

func contribConfig(mode string) *redactionprocessor.Config {
	cfg := redactionprocessor.NewFactory().CreateDefaultConfig().(*redactionprocessor.Config)
	cfg.BlockedValues = contribValueRegexes
	cfg.Summary = "silent"
	if mode == ModeAllowlist {
		cfg.AllowedKeys = vendorAllowedKeys()
	} else {
		cfg.AllowAllKeys = true
		for _, g := range customerDropKeys {
			cfg.BlockedKeyPatterns = append(cfg.BlockedKeyPatterns, globToRegex(g))
		}
	}
	return cfg
}

func scrubBenchConfig(mode string) *Config {
	if mode == ModeAllowlist {
		return createDefaultConfig() // the vendor policy
	}
	cfg := &Config{Policy: PolicyNone, Detectors: map[string]string{}}
	for _, n := range detectNames() {
		cfg.Detectors[n] = ActionMask
	}
	for _, g := range customerDropKeys {
		cfg.Keys = append(cfg.Keys, KeyRule{Key: g, Action: ActionDrop})
	}
	return cfg
}

// pipeline is one implementation's processors for the three signals.
type pipeline struct {
	traces  consumer.Traces
	metrics consumer.Metrics
	logs    consumer.Logs
}

func (p pipeline) consume(tb testing.TB, in benchInput) {
	ctx := context.Background()
	for _, td := range in.traces {
		if err := p.traces.ConsumeTraces(ctx, td); err != nil {
			tb.Fatal(err)
		}
	}
	for _, md := range in.metrics {
		if err := p.metrics.ConsumeMetrics(ctx, md); err != nil {
			tb.Fatal(err)
		}
	}
	for _, ld := range in.logs {
		if err := p.logs.ConsumeLogs(ctx, ld); err != nil {
			tb.Fatal(err)
		}
	}
}

func newPipeline(tb testing.TB, f processor.Factory, cfg component.Config) pipeline {
	set := processortest.NewNopSettings(f.Type())
	ctx := context.Background()
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(tb, err)
	mp, err := f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(tb, err)
	lp, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(tb, err)
	return pipeline{traces: tp, metrics: mp, logs: lp}
}

// visitAll is the floor: it reads every attribute value and does nothing.
type visitAll struct{ sink int }

func (v *visitAll) visitMap(m pcommon.Map) {
	m.Range(func(k string, val pcommon.Value) bool {
		v.sink += len(k)
		if val.Type() == pcommon.ValueTypeStr {
			v.sink += len(val.Str())
		}
		return true
	})
}

func (v *visitAll) traces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		v.visitMap(rss.At(i).Resource().Attributes())
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			v.visitMap(sss.At(j).Scope().Attributes())
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				v.sink += len(sp.Name())
				v.visitMap(sp.Attributes())
				for e := 0; e < sp.Events().Len(); e++ {
					v.sink += len(sp.Events().At(e).Name())
					v.visitMap(sp.Events().At(e).Attributes())
				}
				for l := 0; l < sp.Links().Len(); l++ {
					v.visitMap(sp.Links().At(l).Attributes())
				}
			}
		}
	}
}

func (v *visitAll) metrics(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		v.visitMap(rms.At(i).Resource().Attributes())
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			v.visitMap(sms.At(j).Scope().Attributes())
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				v.sink += len(m.Name())
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for d := 0; d < m.Sum().DataPoints().Len(); d++ {
						v.visitMap(m.Sum().DataPoints().At(d).Attributes())
					}
				case pmetric.MetricTypeGauge:
					for d := 0; d < m.Gauge().DataPoints().Len(); d++ {
						v.visitMap(m.Gauge().DataPoints().At(d).Attributes())
					}
				case pmetric.MetricTypeHistogram:
					for d := 0; d < m.Histogram().DataPoints().Len(); d++ {
						v.visitMap(m.Histogram().DataPoints().At(d).Attributes())
					}
				}
			}
		}
	}
}

func (v *visitAll) logs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		v.visitMap(rls.At(i).Resource().Attributes())
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			v.visitMap(sls.At(j).Scope().Attributes())
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				v.visitMap(lrs.At(k).Attributes())
				v.sink += len(lrs.At(k).Body().Str())
			}
		}
	}
}

func (v *visitAll) pipeline() pipeline {
	c := consumerFunc{traces: v.traces, metrics: v.metrics, logs: v.logs}
	return pipeline{traces: c, metrics: c, logs: c}
}

type consumerFunc struct {
	traces  func(ptrace.Traces)
	metrics func(pmetric.Metrics)
	logs    func(plog.Logs)
}

func (c consumerFunc) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (c consumerFunc) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.traces(td)
	return nil
}

func (c consumerFunc) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	c.metrics(md)
	return nil
}

func (c consumerFunc) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.logs(ld)
	return nil
}

// benchBatch inputs are copied at a time, between two timed stretches.
const benchBatch = 32

func BenchmarkScrub(b *testing.B) {
	inputs := []struct {
		name string
		in   func(testing.TB) benchInput
	}{
		{"corpus", corpusInput},
		{"synthetic", func(testing.TB) benchInput { return syntheticInput(100) }},
	}
	for _, input := range inputs {
		in := input.in(b)
		for _, mode := range []string{ModeAllowlist, ModeBlocklist} {
			impls := []struct {
				name string
				p    func(testing.TB) pipeline
			}{
				{"contrib", func(tb testing.TB) pipeline {
					return newPipeline(tb, redactionprocessor.NewFactory(), contribConfig(mode))
				}},
				{"scrub", func(tb testing.TB) pipeline {
					cfg := scrubBenchConfig(mode)
					require.NoError(tb, cfg.Validate())
					return newPipeline(tb, NewFactory(), cfg)
				}},
				{"floor", func(testing.TB) pipeline { return (&visitAll{}).pipeline() }},
			}
			for _, impl := range impls {
				b.Run(fmt.Sprintf("%s/%s/%s", input.name, mode, impl.name), func(b *testing.B) {
					benchLoop(b, impl.p(b), in)
					b.ReportMetric(float64(in.items)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
					b.ReportMetric(float64(in.items), "items/op")
				})
			}
		}
	}
}

// benchLoop consumes a copy of in per op. Copies are made, and their
// garbage collected, outside the timed region.
func benchLoop(b *testing.B, p pipeline, in benchInput) {
	b.ReportAllocs()
	var ready []benchInput
	for b.Loop() {
		if len(ready) == 0 {
			b.StopTimer()
			for range benchBatch {
				ready = append(ready, in.clone())
			}
			runtime.GC()
			b.StartTimer()
		}
		work := ready[len(ready)-1]
		ready[len(ready)-1] = benchInput{}
		ready = ready[:len(ready)-1]
		p.consume(b, work)
	}
}
