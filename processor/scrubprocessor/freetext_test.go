package scrubprocessor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
	"go.opentelemetry.io/collector/processor/xprocessor"
)

// shapeless is a customer's name with no shape a detector could find.
const shapeless = "zorblax"

// chromaRoute is a route of Chroma's own; it must reach the vendor.
const chromaRoute = "/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/query"

// freeTextInput is one request's telemetry as Chroma sends it: what on-call
// needs, and places where a test plants values.
type freeTextInput struct {
	td ptrace.Traces
	md pmetric.Metrics
	ld plog.Logs
	sp ptrace.Span
	ev ptrace.SpanEvent
	lr plog.LogRecord
	m  pmetric.Metric
}

func newFreeTextInput() *freeTextInput {
	in := &freeTextInput{td: ptrace.NewTraces(), md: pmetric.NewMetrics(), ld: plog.NewLogs()}
	rs := in.td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chroma")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("chroma")
	in.sp = ss.Spans().AppendEmpty()
	in.sp.SetName("POST " + chromaRoute)
	in.sp.SetStartTimestamp(1000)
	in.sp.SetEndTimestamp(2000)
	a := in.sp.Attributes()
	a.PutStr("http.route", chromaRoute)
	a.PutStr("http.method", "POST")
	a.PutStr("http.status_code", "200")
	a.PutInt("busy_ns", 2400000000000) // 40 minutes, and a valid card number
	in.ev = in.sp.Events().AppendEmpty()
	in.ev.SetName("started processing request")

	in.m = in.md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	in.m.SetName("collection_query")
	dp := in.m.SetEmptySum().DataPoints().AppendEmpty()
	dp.SetIntValue(7)

	in.lr = in.ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	in.lr.SetSeverityText("ERROR")
	return in
}

// TestVendorClosesFreeTextChannels plants shapeless values in every string
// the vendor policy keeps (names, kept keys' values, routes, strings outside
// attributes), serializes the whole output and searches it. What on-call
// needs stays: the span name and route of Chroma's own span, the method,
// status, durations, metric values and their types.
func TestVendorClosesFreeTextChannels(t *testing.T) {
	tests := []struct {
		class, name string
		plant       func(in *freeTextInput)
		want        []string // in the output, besides what on-call needs
	}{
		{"names", "event name from an error", func(in *freeTextInput) {
			in.ev.SetName("Collection [acme-" + shapeless + "] does not exist")
		}, []string{"Collection [*] does not exist"}},
		{"names", "event name with quotes", func(in *freeTextInput) {
			in.sp.Events().AppendEmpty().SetName(`Failed to create database "` + shapeless + `"`)
		}, []string{`Failed to create database \"*\"`}},
		{"names", "non-HTTP span name", func(in *freeTextInput) {
			in.sp.SetName("query " + shapeless + "_embeddings")
		}, []string{`"query *_embeddings"`}},
		{"names", "SQL span name", func(in *freeTextInput) {
			in.sp.SetName("SELECT id FROM collections WHERE name = '" + shapeless + "'")
		}, nil},
		{"names", "metric name, description and unit", func(in *freeTextInput) {
			m := in.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
			m.SetName("collection_" + shapeless + "_count")
			m.SetDescription("Records in " + shapeless)
			m.SetUnit("{" + shapeless + "}")
			m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
		}, []string{`"collection_*_count"`, `"Records in *"`, `"{*}"`}},
		{"names", "scope name and version", func(in *freeTextInput) {
			sc := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Scope()
			sc.SetName(shapeless + "-payroll-prod")
			sc.SetVersion(shapeless)
		}, nil},
		{"names", "log event name and severity text", func(in *freeTextInput) {
			in.lr.SetEventName("Tenant " + shapeless + " not found")
			in.ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().SetSeverityText(shapeless)
		}, []string{`"Tenant * not found"`}},
		{"values", "kept keys hold names", func(in *freeTextInput) {
			a := in.sp.Attributes()
			for _, k := range []string{"error.type", "exception.type", "db.operation", "code.function", "code.namespace", "thread.name", "target", "rpc.method", "rpc.service", "level", "include", "classification", "os.type", "telemetry.sdk.name", "otel.component.id"} {
				a.PutStr(k, shapeless+"::"+k)
			}
			for _, k := range []string{"http.version", "http.status_code", "limit", "has_where", "elapsed", "service.version"} {
				in.ev.Attributes().PutStr(k, shapeless)
			}
		}, []string{`"code.namespace"`, `"*::code.namespace"`}},
		{"values", "kept keys hold free text", func(in *freeTextInput) {
			in.sp.Attributes().PutStr("error.type", "no such collection "+shapeless)
			in.sp.Attributes().PutStr("include", "IncludeList(["+shapeless+"])")
		}, []string{`"IncludeList([*])"`}},
		{"routes", "a literal route", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.SetName("GET /api/v2/tenants/" + shapeless + "/databases")
			sp.Attributes().PutStr("http.route", "/api/v2/tenants/"+shapeless+"/databases")
			sp.Attributes().PutStr("http.uri", "/api/v2/tenants/"+shapeless+"/databases?limit=1")
			sp.Attributes().PutStr("url.full", "http://h/api/v2/tenants/"+shapeless+"/databases")
		}, []string{`"GET /api/v2/tenants/*/databases"`}},
		{"routes", "a literal url.template and a template path name", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.SetName("GET /collections/{id}/" + shapeless)
			sp2 := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp2.Attributes().PutStr("url.template", "/collections/{id}/"+shapeless)
			sp2.Attributes().PutStr("url.path", "/collections/42/"+shapeless)
		}, []string{`"GET /collections/{id}/*"`, `"/collections/{id}/*"`}},
		{"routes", "a route that is no route", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.SetName("GET /x/" + shapeless)
			sp.Attributes().PutStr("http.route", "tenant "+shapeless)
			sp.Attributes().PutStr("http.target", "tenant "+shapeless)
			sp.Attributes().PutStr("http.uri", "/x/"+shapeless)
		}, []string{`"GET ****"`}},
		{"routes", "a URL key without a URL and without a route", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.Attributes().PutStr("http.uri", shapeless)
			sp.Attributes().PutStr("url.full", "tenant "+shapeless)
		}, nil},
		{"strings outside attributes", "trace state, schema URLs, entity references", func(in *freeTextInput) {
			in.sp.TraceState().FromRaw("acme=" + shapeless)
			l := in.sp.Links().AppendEmpty()
			l.TraceState().FromRaw("acme=" + shapeless)
			rs := in.td.ResourceSpans().At(0)
			rs.SetSchemaUrl("https://" + shapeless + ".example/schemas/1.0")
			rs.ScopeSpans().At(0).SetSchemaUrl("https://opentelemetry.io/schemas/" + shapeless)
			rs.Resource().Attributes().PutStr("tenant", shapeless)
			ref := entity.ResourceEntityRefs(rs.Resource()).AppendEmpty()
			ref.SetType(shapeless)
			ref.SetSchemaUrl("https://" + shapeless + ".example/")
			ref.IdKeys().Append("tenant", shapeless+".key")
			ref.DescriptionKeys().Append("service.name")
		}, []string{`"service.name"`}},
		{"types", "numbers stay numbers, versions stay versions, methods are normalized", func(in *freeTextInput) {
			in.td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.version", "10.2.3.4")
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.Attributes().PutStr("http.method", "get")
			sp.Attributes().PutInt("idle_ns", 2400000000000)
			sp2 := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp2.Attributes().PutStr("http.request.method", "PROPFIND")
			sp3 := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp3.Attributes().PutStr("http.method", "QUERY")
		}, []string{`"10.2.3.4"`, `"GET"`, `"_OTHER"`, `"QUERY"`, `"idle_ns","value":{"intValue":"2400000000000"}`}},
	}
	cfg := testConfig(t, nil)
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.name, func(t *testing.T) {
			in := newFreeTextInput()
			tt.plant(in)
			out := tracesJSON(t, runTraces(t, cfg, in.td)) + metricsJSON(t, runMetrics(t, cfg, in.md)) + logsJSON(t, runLogs(t, cfg, in.ld))
			if i := strings.Index(strings.ToLower(out), shapeless); i >= 0 {
				t.Fatalf("%q reached the vendor: ...%s...", shapeless, out[max(0, i-160):min(len(out), i+60)])
			}
			assert.NotContains(t, out, "acme")
			for _, w := range append(tt.want, usefulFields...) {
				assert.Contains(t, out, w)
			}
		})
	}
}

// usefulFields are what on-call needs of the request, as OTLP/JSON shows
// them: span name and route, method, status, durations, metric values and
// types.
var usefulFields = []string{
	`"http.route","value":{"stringValue":"` + chromaRoute + `"}`,
	`"http.method","value":{"stringValue":"POST"}`,
	`"http.status_code","value":{"stringValue":"200"}`,
	`"busy_ns","value":{"intValue":"2400000000000"}`,
	`"startTimeUnixNano":"1000","endTimeUnixNano":"2000"`,
	`"name":"collection_query","sum":{"dataPoints":[{"asInt":"7"}]`,
	`"severityText":"ERROR"`,
}

// Strings of a profile are names too; the first must be empty.
func TestVendorProfileStrings(t *testing.T) {
	pd := pprofile.NewProfiles()
	strs := pd.Dictionary().StringTable()
	strs.Append(shapeless, shapeless+"_handler", "/srv/"+shapeless+"/src/main.rs", "cpu", "nanoseconds")
	fn := pd.Dictionary().FunctionTable().AppendEmpty()
	fn.SetNameStrindex(1)
	fn.SetFilenameStrindex(2)
	pd.Dictionary().MappingTable().AppendEmpty().SetFilenameStrindex(2)
	p := pd.ResourceProfiles().AppendEmpty().ScopeProfiles().AppendEmpty().Profiles().AppendEmpty()
	p.SampleType().SetTypeStrindex(3)
	p.SampleType().SetUnitStrindex(4)
	p.SetOriginalPayloadFormat(shapeless)

	sink := new(consumertest.ProfilesSink)
	proc, err := NewFactory().(xprocessor.Factory).CreateProfiles(context.Background(), testSettings(), testConfig(t, nil), sink)
	require.NoError(t, err)
	require.NoError(t, proc.ConsumeProfiles(context.Background(), pd))
	out := sink.AllProfiles()[0]
	assert.Equal(t, []string{"", "*_handler", "/*/*/*/*", "cpu", "nanoseconds"}, out.Dictionary().StringTable().AsRaw())
	assert.Empty(t, out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0).OriginalPayloadFormat(), "the format of a payload that is always removed goes too")
}

// Each value shape, alone.
func TestShapes(t *testing.T) {
	ep, err := testConfig(t, nil).effective()
	require.NoError(t, err)
	e := newEngine(ep)
	st := e.getScratch()
	defer e.putScratch(st)
	tests := []struct {
		shape shape
		in    string
		want  string
		fits  bool
	}{
		{shapeNumber, "42", "42", true},
		{shapeNumber, "-1.5e3", "-1.5e3", true},
		{shapeNumber, "Some(10)", "Some(10)", true},
		{shapeNumber, "None", "None", true},
		{shapeNumber, "4111111111111111", "", false},
		{shapeNumber, "10 rows", "", false},
		{shapeNumber, "4111111111111111.0", "", false},
		{shapeNumber, "4111111111111111e0", "", false},
		{shapeNumber, "+4111111111111111", "", false},
		{shapeNumber, "Some(4111111111111111.5)", "", false},
		{shapeNumber, "0.4111111111111111", "", false},
		{shapeNumber, "1234567.25", "1234567.25", true},
		{shapeDuration, "4111111111111111 ns", "", false},
		{shapeDuration, "4111111111111111.0ms", "", false},
		{shapeDuration, "2400000000000 ns", "", false}, // 40 minutes, and a valid card number
		{shapeDuration, "2400000000001 ns", "2400000000001 ns", true},
		{shapeBool, "True", "True", true},
		{shapeBool, "yes", "", false},
		{shapeDuration, "146.819µs", "146.819µs", true},
		{shapeDuration, "0 ms", "0 ms", true},
		{shapeDuration, "3 parsecs", "", false},
		{shapeVersion, "10.2.3.4", "10.2.3.4", true},
		{shapeVersion, "v1.0.0-rc.1+0a1b2c3d", "v1.0.0-rc.1+0a1b2c3d", true},
		{shapeVersion, "HTTP/1.1", "HTTP/1.1", true},
		{shapeVersion, "1.0.0-acme", "", false},
		{shapeVersion, "1.", "", false},
		{shapeVersion, "1.2.3.4.5", "", false},
		{shapeVersion, "2", "2", true},
		{shapeVersion, "1.0.0-10.0.0.1", "", false},
		{shapeVersion, "6987-1373-5787-3318", "", false},
		{shapeStatusCode, "404", "404", true},
		{shapeStatusCode, "4040", "", false},
		{shapeStatusCode, "600", "", false},
		{shapeMethod, "delete", "DELETE", true},
		{shapeMethod, "PROPFIND", "_OTHER", true},
		{shapeMethod, "GET /x", "_OTHER", true},
		{shapeRoute, "/api/v2/tenants/{tenant}", "/api/v2/tenants/{tenant}", true},
		{shapeRoute, "/api/v2/tenants/acme-corp?x=1", "/api/v2/tenants/*", true},
		{shapeRoute, "/users/:id/jdoe", "/*/:id/*", true},
		{shapeRoute, "/api/v1beta1/collections", "/api/v1beta1/collections", true},
		{shapeRoute, "/api/v1zqxj/collections", "/api/*/collections", true},
		{shapeRoute, "(unknown route)", "(unknown route)", true},
		{shapeRoute, "acme route", "", false},
		{shapeRoute, "https://h/x", "", false},
		{shapeIdentifier, "chroma_frontend::server", "chroma_frontend::server", true},
		{shapeIdentifier, "acme_payroll::Error", "*::Error", true},
		{shapeIdentifier, "IOError", "IOError", true},
		{shapeIdentifier, "not an identifier", "", false},
		{shapeText, "IncludeList([Document, Metadata])", "IncludeList([Document, Metadata])", true},
	}
	for _, tt := range tests {
		got, ok := e.fitShape(tt.shape, tt.in, st)
		assert.Equal(t, tt.fits, ok, "%s %q", shapeNames[tt.shape-1], tt.in)
		if ok {
			assert.Equal(t, tt.want, got, "%s %q", shapeNames[tt.shape-1], tt.in)
		}
	}
}

// The vocabulary, alone: known words stay, unknown ones become * and
// collapse when joined.
func TestVocabularyTemplate(t *testing.T) {
	v := newVocabulary(UnknownTemplate, []string{"payroll"})
	st := &scratch{templated: map[string]string{}}
	for in, want := range map[string]string{
		"Collection [acme-corp] does not exist":                          "Collection [*] does not exist",
		"Cache miss for collection 98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb": "Cache miss for collection *",
		"started processing request":                                     "started processing request",
		"acme payroll":                                                   "* payroll",
		"getCollectionAcme":                                              "getCollection*",
		"jdoe@acme.com signed in":                                        "* signed in",
		"Zürich":                                                         "*",
		"retry 42 times":                                                 "retry * times",
	} {
		assert.Equal(t, want, v.name(in, "****", st), in)
	}
	strict := newVocabulary(UnknownMask, nil)
	assert.Equal(t, "****", strict.name("Collection acme does not exist", "****", st))
	assert.Equal(t, "Collection does not exist", strict.name("Collection does not exist", "****", st))
	off := newVocabulary(UnknownKeep, nil)
	assert.Equal(t, "Collection acme", off.name("Collection acme", "****", st))
}

// The vocabulary is configurable: stricter (mask), looser (keep) or larger.
func TestVocabularyConfig(t *testing.T) {
	ev := func(cfg *Config) string {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events().AppendEmpty().SetName("Collection payroll does not exist")
		return runTraces(t, cfg, td).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Events().At(0).Name()
	}
	assert.Equal(t, "Collection * does not exist", ev(testConfig(t, nil)))
	assert.Equal(t, "****", ev(testConfig(t, func(c *Config) { c.Vocabulary.Unknown = UnknownMask })))
	assert.Equal(t, "Collection payroll does not exist", ev(testConfig(t, func(c *Config) { c.Vocabulary.Unknown = UnknownKeep })))
	assert.Equal(t, "Collection payroll does not exist", ev(testConfig(t, func(c *Config) { c.Vocabulary.Words = []string{"payroll"} })))

	bad := &Config{Vocabulary: VocabularyConfig{Unknown: "loose", Words: []string{"two words"}}, Keys: []KeyRule{{Key: "x", Shape: "float"}}}
	err := bad.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `vocabulary.unknown: unknown value "loose"`)
	assert.Contains(t, err.Error(), `vocabulary.words[0]: "two words" is not a word`)
	assert.Contains(t, err.Error(), `keys[0] (x).shape: unknown shape "float"`)
}

// Integers that look like card numbers are never turned into strings.
func TestTypesNeverChange(t *testing.T) {
	for _, policy := range []string{PolicyVendor, PolicyCustomer} {
		td := ptrace.NewTraces()
		a := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
		a.PutInt("busy_ns", 2400000000000)
		a.PutInt("idle_ns", 2400000000000)
		a.PutInt("unlisted", 2400000000000)
		a.PutDouble("elapsed_secs", 2400000000000)
		out := runTraces(t, testConfig(t, func(c *Config) { c.Policy = policy }), td).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
		for _, k := range []string{"busy_ns", "idle_ns"} {
			assert.Equal(t, pcommon.ValueTypeInt, mustGet(t, out, k).Type(), "%s %s", policy, k)
			assert.Equal(t, int64(2400000000000), mustGet(t, out, k).Int(), "%s %s", policy, k)
		}
		assert.Equal(t, pcommon.ValueTypeDouble, mustGet(t, out, "elapsed_secs").Type(), policy)
		if v, ok := out.Get("unlisted"); ok {
			assert.Equal(t, pcommon.ValueTypeInt, v.Type(), "%s: a card number elsewhere is dropped, never a string", policy)
		}
	}

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetEmptyBytes().FromRaw([]byte("tenant acme"))
	out := runLogs(t, testConfig(t, func(c *Config) { c.Policy, c.Text.LogBody = PolicyNone, ActionMask }), ld)
	body := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
	assert.Equal(t, pcommon.ValueTypeBytes, body.Type(), "a masked bytes body stays bytes")
}

// Every key the vendor policy keeps has a shape, but the deployment's name.
func TestEveryVendorKeyHasAShape(t *testing.T) {
	for _, r := range vendorPolicy().keys {
		if r.Action == ActionURL || r.Key == "service.name" {
			continue
		}
		assert.NotEmpty(t, r.Shape, r.Key)
		assert.NotEqual(t, shapeNone, parseShape(r.Shape), r.Key)
	}
}
