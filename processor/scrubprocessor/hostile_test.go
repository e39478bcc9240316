package scrubprocessor

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestVendorHostile plants a customer's name in places and forms that the
// free-text classes do not list one by one: other value types under kept
// keys, other segments of routes, other containers. Neither the name nor its
// base64 form (how OTLP/JSON shows bytes) may reach the vendor, and what
// on-call needs stays.
func TestVendorHostile(t *testing.T) {
	const name = "zqxj"
	tests := []struct {
		name  string
		plant func(in *freeTextInput)
		want  []string
	}{
		{"bytes under an identifier key", func(in *freeTextInput) {
			in.sp.Attributes().PutEmptyBytes("error.type").FromRaw([]byte(name))
		}, nil},
		{"bytes under a route key", func(in *freeTextInput) {
			in.ev.Attributes().PutEmptyBytes("http.route").FromRaw([]byte("/tenants/" + name))
		}, nil},
		{"bytes under a number key", func(in *freeTextInput) {
			in.ev.Attributes().PutEmptyBytes("limit").FromRaw([]byte(name))
		}, nil},
		{"bytes in a slice under a kept key", func(in *freeTextInput) {
			in.sp.Attributes().PutEmptySlice("exception.type").AppendEmpty().SetEmptyBytes().FromRaw([]byte(name))
		}, nil},
		{"bytes in an exemplar's filtered attributes", func(in *freeTextInput) {
			m := in.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
			m.SetName("collection_add")
			ex := m.SetEmptyHistogram().DataPoints().AppendEmpty().Exemplars().AppendEmpty()
			ex.FilteredAttributes().PutEmptyBytes("target").FromRaw([]byte(name))
		}, nil},
		{"bytes in a data point attribute", func(in *freeTextInput) {
			in.m.Sum().DataPoints().At(0).Attributes().PutEmptyBytes("level").FromRaw([]byte(name))
		}, nil},
		{"bytes in a map log body under a kept key", func(in *freeTextInput) {
			in.lr.Body().SetEmptyMap().PutEmptyBytes("thread.name").FromRaw([]byte(name))
		}, nil},
		{"an API version segment that is no version", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.Attributes().PutStr("http.route", "/api/v1"+name+"/collections")
			sp.SetName("GET /api/v2" + name + "/collections/{id}")
		}, []string{`"/api/*/collections"`, `"GET /api/*/collections"`}},
		{"a version with a digest-like suffix", func(in *freeTextInput) {
			in.td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.version", "v1"+name)
		}, nil},
		{"a map body's list of maps", func(in *freeTextInput) {
			l := in.lr.Body().SetEmptyMap().PutEmptySlice("spans")
			l.AppendEmpty().SetEmptyMap().PutStr("tenant", name)
			l.AppendEmpty().SetStr(name)
		}, nil},
		{"a slice body's nested slice", func(in *freeTextInput) {
			s := in.lr.Body().SetEmptySlice()
			s.AppendEmpty().SetEmptySlice().AppendEmpty().SetStr(name)
			s.AppendEmpty().SetEmptySlice().AppendEmpty().SetEmptyBytes().FromRaw([]byte(name))
		}, nil},
		{"a gauge with a string data point attribute of a kept key", func(in *freeTextInput) {
			g := in.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
			g.SetName("chroma.persist.up")
			g.SetUnit("{bool}")
			dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetIntValue(0)
			dp.Attributes().PutStr("outcome", name)
		}, []string{`"name":"chroma.persist.up"`}},
		{"an event name of a client span", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.SetKind(3)
			sp.SetName("GET " + name)
			sp.Events().AppendEmpty().SetName("GET /" + name)
		}, nil},
		{"a status message and severity number text", func(in *freeTextInput) {
			in.sp.Status().SetMessage(name)
			in.ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().SetSeverityText("ERROR " + name)
		}, []string{`"severityText":"ERROR *"`}},
		{"full-width and confusable letters", func(in *freeTextInput) {
			in.ev.SetName("Collection ［ｚｑｘｊ］ does not exist")
			in.sp.Attributes().PutStr("error.type", "Cоllection"+name) // Cyrillic о
		}, nil},
		{"percent-encoded route segments", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.Attributes().PutStr("http.route", "/api/v2/tenants/%7A%71%78%6A/databases")
			sp.Attributes().PutStr("url.template", "/api/v2/tenants/"+name+"%2Fdatabases")
		}, nil},
		{"bytes and slices under URL keys", func(in *freeTextInput) {
			in.sp.Attributes().PutEmptyBytes("http.uri").FromRaw([]byte("/tenants/" + name))
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.Attributes().PutEmptyBytes("url.full").FromRaw([]byte(name))
			sp.Attributes().PutEmptySlice("http.target").AppendEmpty().SetStr("/tenants/" + name)
		}, nil},
		{"an API version segment in a span name without a route", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.SetName("GET /api/v2" + name + "/collections/{id}")
		}, nil},
		{"a scope version and a schema URL version with a name", func(in *freeTextInput) {
			ss := in.td.ResourceSpans().At(0).ScopeSpans().At(0)
			ss.Scope().SetVersion("1.0.0-" + name)
			ss.SetSchemaUrl("https://opentelemetry.io/schemas/1.0.0+" + name)
		}, nil},
		{"a product service name with a suffix", func(in *freeTextInput) {
			in.td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.name", "chroma-"+name)
			in.td.ResourceSpans().At(0).ScopeSpans().At(0).Scope().SetName("chroma-" + name)
		}, nil},
		{"identity keys holding maps and slices", func(in *freeTextInput) {
			a := in.td.ResourceSpans().At(0).Resource().Attributes()
			a.PutEmptySlice("host.name").AppendEmpty().SetStr(name)
			a.PutEmptyMap("k8s.pod.name").PutStr("error.type", name)
		}, nil},
		{"a link's attributes under kept keys", func(in *freeTextInput) {
			l := in.sp.Links().AppendEmpty()
			l.Attributes().PutStr("rpc.method", name)
			l.Attributes().PutEmptyBytes("rpc.service").FromRaw([]byte(name))
		}, nil},
		{"card numbers inside number and duration strings", func(in *freeTextInput) {
			for k, v := range map[string]string{
				"limit": "+4111111111111111", "offset": "-4111111111111111", "num_ids": "4111111111111111.0",
				"batch_size": "Some(+4111111111111111)", "elapsed": "4111111111111111 ns",
				"latency": "4111111111111111ms", "end_timestamp": "4111111111111111e0",
			} {
				in.ev.Attributes().PutStr(k, v)
			}
		}, nil},
		{"span names that hold a whole URL", func(in *freeTextInput) {
			spans := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			spans.AppendEmpty().SetName("GET http://" + name + ".example/api/v2/heartbeat")
			spans.AppendEmpty().SetName("GET //" + name + "/api/v2/heartbeat")
			spans.AppendEmpty().SetName("get /api/v2/{tenant}/" + name)
		}, nil},
		{"a customer's name that is a vocabulary word, formatted into names", func(in *freeTextInput) {
			in.ev.SetName("Collection [users] does not exist")
			in.sp.Events().AppendEmpty().SetName(`Failed to create database "staging"`)
			in.lr.SetEventName("Tenant 'default' not found")
			in.sp.Events().AppendEmpty().SetName("Error reading collection `documents`")
		}, []string{`"Collection [*] does not exist"`, `"Failed to create database \"*\""`, `"Tenant '*' not found"`, "\"Error reading collection `*`\""}},
		{"a vocabulary word quoted in a text value or a route that is no path", func(in *freeTextInput) {
			in.sp.Attributes().PutStr("classification", `collection "users" query`)
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.Attributes().PutStr("http.route", "'users' collection")
		}, []string{`"collection \"*\" query"`, `"'*' collection"`}},
		{"literal route segments that are vocabulary words", func(in *freeTextInput) {
			sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
			sp.Attributes().PutStr("http.route", "/api/v2/tenants/staging/databases/users/collections")
			sp.SetName("GET /api/v2/tenants/{tenant}/databases/documents")
		}, []string{`"/api/v2/tenants/*/databases/*/collections"`, `"GET /api/v2/tenants/*/databases/*/collections"`}},
		{"vocabulary words as version labels", func(in *freeTextInput) {
			in.td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.version", "1.0.0-staging")
			ss := in.td.ResourceSpans().At(0).ScopeSpans().At(0)
			ss.Scope().SetVersion("2.0.0+users")
			ss.SetSchemaUrl("https://opentelemetry.io/schemas/1.0.0-documents")
			in.ev.Attributes().PutStr("http.version", "HTTP/1.1-default")
		}, nil},
		{"paths inside names", func(in *freeTextInput) {
			in.ev.SetName("request GET /api/v2/tenants/staging/databases failed")
			in.lr.SetEventName("/home/users/documents")
		}, []string{`"request GET /api/v2/tenants/*/databases failed"`, `"/*/*/*"`}},
	}
	cfg := testConfig(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newFreeTextInput()
			tt.plant(in)
			out := tracesJSON(t, runTraces(t, cfg, in.td)) + metricsJSON(t, runMetrics(t, cfg, in.md)) + logsJSON(t, runLogs(t, cfg, in.ld))
			for _, needle := range []string{name, "4111111111111111", "1.0.0-", "+users", "1.1-", "%7A%71", "ｚｑｘｊ", base64.StdEncoding.EncodeToString([]byte(name)), base64.StdEncoding.EncodeToString([]byte("/tenants/" + name))} {
				if i := strings.Index(strings.ToLower(out), strings.ToLower(needle)); i >= 0 {
					t.Errorf("%q reached the vendor: ...%s...", needle, out[max(0, i-160):min(len(out), i+60)])
				}
			}
			for _, w := range append(tt.want, usefulFields...) {
				assert.Contains(t, out, w)
			}
		})
	}
}

// API version segments of routes, as Kubernetes writes them.
func TestRouteVersionSegments(t *testing.T) {
	for seg, want := range map[string]bool{"v1": true, "V2": true, "v2beta1": true, "v1alpha2": true, "v3rc1": true, "v1acme": false, "v2zqxj": false, "v12345678": true, "v": false, "vx1": false, "v1beta": false} {
		assert.Equal(t, want, isVersion(seg), seg)
	}
}

// Quoted and bracketed runs of a name are values.
func TestMaskValueSlots(t *testing.T) {
	for in, want := range map[string]string{
		"Collection [users] does not exist":      "Collection [*] does not exist",
		`Failed to create database "staging"`:    `Failed to create database "*"`,
		`Failed: "a\"users" and "b"`:             `Failed: "*" and "*"`,
		"Tenant 'default' doesn't exist":         "Tenant '*' doesn't exist",
		"can't find it, it's gone":               "can't find it, it's gone",
		"Collection [*] does not exist":          "Collection [*] does not exist",
		"started processing request":             "started processing request",
		"GET /api/v2/tenants/{tenant}/databases": "GET /api/v2/tenants/{tenant}/databases",
		"empty [] and unclosed [users":           "empty [] and unclosed [users",
		"Vec<[u8]>":                              "Vec<[*]>",
	} {
		assert.Equal(t, want, maskValueSlots(in, true), in)
	}
}

// phoneNumber is a number that means something: it must not reach the
// vendor under a key whose shape is not a number.
const phoneNumber = 5551234567

// TestVendorNumbersOnlyUnderNumberKeys plants integers under kept keys
// whose shape is no number (identifiers, texts, routes, methods, flags),
// in every kind of attribute map. The same digits as a string become *
// there; as an integer they are dropped, never kept and never turned into
// a string. Under number, duration, version and status code keys they
// stay.
func TestVendorNumbersOnlyUnderNumberKeys(t *testing.T) {
	keys := []string{"error.type", "target", "include", "http.route", "http.method", "has_where", "outcome", "rule"}
	plant := func(m pcommon.Map) {
		for _, k := range keys {
			m.PutInt(k, phoneNumber)
		}
		m.PutEmptySlice("exception.type").AppendEmpty().SetInt(phoneNumber)
	}
	in := newFreeTextInput()
	sp := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	plant(sp.Attributes())
	plant(in.ev.Attributes())
	plant(sp.Links().AppendEmpty().Attributes())
	m := in.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	m.SetName("collection_get")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	plant(dp.Attributes())
	plant(dp.Exemplars().AppendEmpty().FilteredAttributes())
	plant(in.ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().Attributes())
	sp.Attributes().PutInt("http.status_code", 404)
	sp.Attributes().PutInt("service.version", 3)

	cfg := testConfig(t, nil)
	out := tracesJSON(t, runTraces(t, cfg, in.td)) + metricsJSON(t, runMetrics(t, cfg, in.md)) + logsJSON(t, runLogs(t, cfg, in.ld))
	assert.NotContains(t, out, strconv.Itoa(phoneNumber))
	for _, k := range keys {
		assert.NotContains(t, out, `"`+k+`","value":{"intValue"`, k)
	}
	for _, w := range append([]string{`"http.status_code","value":{"intValue":"404"}`, `"service.version","value":{"intValue":"3"}`}, usefulFields...) {
		assert.Contains(t, out, w)
	}
}

// TestVendorPathsAfterAnySeparator plants Chroma's request paths, with a
// tenant and a database named by vocabulary words, after separators other
// than a space (a tab, =, :, parentheses, quotes), in names, identifier and
// text values and routes that are no path. Each is a route there too: its
// literal segments outside the route vocabulary become *.
func TestVendorPathsAfterAnySeparator(t *testing.T) {
	const path = "/api/v2/tenants/staging/databases/users"
	in := newFreeTextInput()
	for _, sep := range []string{"\t", "=", ":", "(", ",", "|"} {
		in.sp.Events().AppendEmpty().SetName("request" + sep + path)
	}
	in.sp.Events().AppendEmpty().SetName("request (" + path + ") failed")
	spans := in.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.AppendEmpty().SetName("GET\t" + path)
	a := spans.AppendEmpty().Attributes()
	a.PutStr("target", path)
	a.PutStr("code.namespace", "uri:"+path)
	a.PutStr("include", "GET "+path)
	a.PutStr("classification", "uri="+path)
	spans.AppendEmpty().Attributes().PutStr("http.route", "uri="+path)
	m := in.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	m.SetName("collection_get")
	m.SetDescription("requests to\t" + path)
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	lr := in.ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr.SetEventName("uri=" + path)
	lr.SetSeverityText("ERROR:" + path)

	cfg := testConfig(t, nil)
	out := tracesJSON(t, runTraces(t, cfg, in.td)) + metricsJSON(t, runMetrics(t, cfg, in.md)) + logsJSON(t, runLogs(t, cfg, in.ld))
	for _, needle := range []string{"staging", "users"} {
		if i := strings.Index(out, needle); i >= 0 {
			t.Errorf("%q reached the vendor: ...%s...", needle, out[max(0, i-120):min(len(out), i+40)])
		}
	}
	for _, w := range append([]string{
		`"name":"request (/api/v2/tenants/*/databases/*) failed"`,
		`"name":"request=/api/v2/tenants/*/databases/*"`,
		`"target","value":{"stringValue":"/api/v2/tenants/*/databases/*"}`,
	}, usefulFields...) {
		assert.Contains(t, out, w)
	}
	// A unit's rate and a word's slash are no path.
	for in, want := range map[string]string{"{request}/s": "{request}/s", "By/s": "By/s", "read/write": "read/write"} {
		assert.Equal(t, want, newVocabulary(UnknownTemplate, nil).namePaths(in), in)
	}
}

// TestVendorScalarLogBodies: a number or a boolean as a log body, or in a
// slice body, has no key that vouches for it, so the vendor policy drops
// it as it drops a string body.
func TestVendorScalarLogBodies(t *testing.T) {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetInt(phoneNumber)
	lrs.AppendEmpty().Body().SetDouble(phoneNumber + 0.5)
	lrs.AppendEmpty().Body().SetBool(true)
	s := lrs.AppendEmpty().Body().SetEmptySlice()
	s.AppendEmpty().SetInt(phoneNumber)
	s.AppendEmpty().SetEmptyMap().PutInt("limit", 10)

	vendor := runLogs(t, testConfig(t, nil), ld)
	out := vendor.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range 3 {
		assert.Equal(t, pcommon.ValueTypeEmpty, out.At(i).Body().Type(), "body %d", i)
	}
	require.Equal(t, 1, out.At(3).Body().Slice().Len(), "the slice keeps its map")
	assert.Equal(t, int64(10), out.At(3).Body().Slice().At(0).Map().AsRaw()["limit"])
	assert.NotContains(t, logsJSON(t, vendor), "555123456")

	customer := runLogs(t, testConfig(t, func(c *Config) { c.Policy = PolicyCustomer }), func() plog.Logs {
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetInt(phoneNumber)
		return ld
	}())
	assert.Equal(t, int64(phoneNumber), customer.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Int(), "the customer policy keeps a number body")
}

// TestVendorCardNumbersUnderCountKeys: a count or an offset is no timing,
// so a card number there, as an integer or a double, goes as it does as a
// string; timings in nanoseconds that pass the card check stay.
func TestVendorCardNumbersUnderCountKeys(t *testing.T) {
	const card = 4111111111111111
	for _, policy := range []string{PolicyVendor, PolicyCustomer} {
		in := newFreeTextInput()
		a := in.ev.Attributes()
		a.PutInt("limit", card)
		a.PutInt("offset", -card)
		a.PutDouble("num_ids", card)
		a.PutDouble("num_embeddings", card+0.5)
		a.PutEmptySlice("batch_size").AppendEmpty().SetInt(card)
		a.PutInt("idle_ns", 2400000000000)
		a.PutDouble("elapsed_secs", 2400000000000)
		a.PutInt("rows_returned", 12)

		out := tracesJSON(t, runTraces(t, testConfig(t, func(c *Config) { c.Policy = policy }), in.td))
		assert.NotContains(t, out, "4111111111111111", policy)
		assert.NotContains(t, out, "4.111111111111111e+15", policy)
		for _, w := range []string{`"idle_ns","value":{"intValue":"2400000000000"}`, `"elapsed_secs","value":{"doubleValue":2400000000000}`, `"rows_returned","value":{"intValue":"12"}`, `"busy_ns","value":{"intValue":"2400000000000"}`} {
			assert.Contains(t, out, w, policy)
		}
	}
}

// TestVendorKeyValueSlots: in a name or a text value, what follows a key
// and = is a value a program formatted into it (tenant=staging), as a
// quoted run is, so it becomes * even when its words are in the
// vocabulary.
func TestVendorKeyValueSlots(t *testing.T) {
	for in, want := range map[string]string{
		"tenant=staging database=users":      "tenant=* database=*",
		"collection_name=documents,limit=10": "collection_name=*,limit=*",
		"request failed (tenant=default)":    "request failed (tenant=*)",
		`key="users"`:                        `key="*"`,
		"key=[users]":                        "key=[*]",
		"uri=/api/v2/tenants/{tenant}":       "uri=/api/v2/tenants/{tenant}",
		"a == b, a != b, a <= b, x => y":     "a == b, a != b, a <= b, x => y",
		"a = b":                              "a = b",
		"tenant=*":                           "tenant=*",
	} {
		assert.Equal(t, want, maskValueSlots(in, true), in)
	}

	in := newFreeTextInput()
	in.ev.SetName("query failed for tenant=staging database=users")
	in.sp.Attributes().PutStr("classification", "tenant=staging")
	out := tracesJSON(t, runTraces(t, testConfig(t, nil), in.td))
	assert.NotContains(t, out, "staging")
	assert.NotContains(t, out, "users")
	assert.Contains(t, out, `"name":"query failed for tenant=* database=*"`)
	assert.Contains(t, out, `"classification","value":{"stringValue":"tenant=*"}`)
}

// TestVendorShapedKeysHoldOneValue: a kept key's shape describes one
// value; a list or a map under it fits none (an embedding as a list of
// doubles under limit, a map of kept keys under num_ids), so it goes whole.
func TestVendorShapedKeysHoldOneValue(t *testing.T) {
	embedding := []float64{0.1234567, -0.7654321, 0.5551234}
	in := newFreeTextInput()
	m := in.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	m.SetName("collection_get")
	ex := m.SetEmptyGauge().DataPoints().AppendEmpty().Exemplars().AppendEmpty()
	for _, a := range []pcommon.Map{in.ev.Attributes(), ex.FilteredAttributes(), in.lr.Attributes()} {
		for _, k := range []string{"limit", "busy_ns", "http.status_code", "error.type"} {
			s := a.PutEmptySlice(k)
			for _, x := range embedding {
				s.AppendEmpty().SetDouble(x)
			}
		}
		a.PutEmptyMap("num_ids").PutDouble("limit", embedding[0])
		a.PutEmptySlice("include").AppendEmpty().SetStr("documents")
	}
	cfg := testConfig(t, nil)
	out := tracesJSON(t, runTraces(t, cfg, in.td)) + metricsJSON(t, runMetrics(t, cfg, in.md)) + logsJSON(t, runLogs(t, cfg, in.ld))
	for _, needle := range []string{"0.1234567", "0.7654321", "0.5551234", `"num_ids"`, `"include"`, "arrayValue", "kvlistValue"} {
		assert.NotContains(t, out, needle)
	}
	for _, w := range usefulFields {
		assert.Contains(t, out, w)
	}
}
