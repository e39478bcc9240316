package scrubprocessor

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const testHashKey = "k3y-for-tests-only-0123456789abcdef"

func str(t *testing.T, m pcommon.Map, k string) string {
	t.Helper()
	v, ok := m.Get(k)
	require.True(t, ok, "key %q missing in %v", k, m.AsRaw())
	return v.AsString()
}

func absent(t *testing.T, m pcommon.Map, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, ok := m.Get(k)
		assert.False(t, ok, "key %q should be gone from %v", k, m.AsRaw())
	}
}

// everyPlace builds a trace with the same attributes in each place a span
// can hold them.
func everyPlace(put func(pcommon.Map)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	put(rs.Resource().Attributes())
	ss := rs.ScopeSpans().AppendEmpty()
	put(ss.Scope().Attributes())
	sp := ss.Spans().AppendEmpty()
	sp.SetName("op")
	put(sp.Attributes())
	put(sp.Events().AppendEmpty().Attributes())
	put(sp.Links().AppendEmpty().Attributes())
	return td
}

func traceMaps(td ptrace.Traces) map[string]pcommon.Map {
	rs := td.ResourceSpans().At(0)
	ss := rs.ScopeSpans().At(0)
	sp := ss.Spans().At(0)
	return map[string]pcommon.Map{
		"resource": rs.Resource().Attributes(),
		"scope":    ss.Scope().Attributes(),
		"span":     sp.Attributes(),
		"event":    sp.Events().At(0).Attributes(),
		"link":     sp.Links().At(0).Attributes(),
	}
}

func TestAllowlistDropsUnknownKeysEverywhere(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Policy, c.Mode = PolicyNone, ModeAllowlist
		c.Keys = []KeyRule{{Key: "service.name"}, {Key: "payload"}, {Key: "inner"}, {Key: "http.*"}}
	})
	td := everyPlace(func(m pcommon.Map) {
		m.PutStr("service.name", "chroma")
		m.PutStr("tenant", "canary_tenant_acme_corp")
		m.PutStr("HTTP.Route", "/api/v2/heartbeat")
		p := m.PutEmptyMap("payload")
		p.PutStr("inner", "kept")
		p.PutStr("collection_name", "CANARYCOLL-x")
		p.PutEmptyMap("unknown").PutStr("inner", "dropped with its parent")
		s := m.PutEmptySlice("payload2")
		s.AppendEmpty().SetStr("x")
	})
	out := runTraces(t, cfg, td)
	for place, m := range traceMaps(out) {
		t.Run(place, func(t *testing.T) {
			assert.Equal(t, "chroma", str(t, m, "service.name"))
			assert.Equal(t, "/api/v2/heartbeat", str(t, m, "HTTP.Route"), "keys match without case, globs too")
			absent(t, m, "tenant", "payload2")
			p, _ := m.Get("payload")
			assert.Equal(t, map[string]any{"inner": "kept"}, p.Map().AsRaw(), "nested keys follow the allowlist")
		})
	}
	assert.NotContains(t, tracesJSON(t, out), "CANARY")
}

func TestBlocklistKeepsUnknownKeys(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Policy = PolicyNone
		c.Keys = []KeyRule{{Key: "*password*", Action: ActionDrop}, {Key: "tenant", Action: ActionMask}}
		c.Detectors = map[string]string{"email": ActionMask}
	})
	td := everyPlace(func(m pcommon.Map) {
		m.PutStr("service.name", "chroma")
		m.PutStr("DB_Password_Hint", "hunter2")
		m.PutStr("tenant", "acme")
		m.PutStr("note", "mail jdoe@acme.com please")
		m.PutStr("user.jdoe@acme.com.visits", "3")
		m.PutEmptyMap("nested").PutStr("password", "hunter2")
	})
	out := runTraces(t, cfg, td)
	for place, m := range traceMaps(out) {
		t.Run(place, func(t *testing.T) {
			assert.Equal(t, "chroma", str(t, m, "service.name"))
			assert.Equal(t, "****", str(t, m, "tenant"))
			assert.Equal(t, "mail **** please", str(t, m, "note"))
			absent(t, m, "DB_Password_Hint", "user.jdoe@acme.com.visits")
			n, _ := m.Get("nested")
			assert.Empty(t, n.Map().AsRaw())
		})
	}
}

func TestHashAction(t *testing.T) {
	build := func(key string) map[string]string {
		cfg := testConfig(t, func(c *Config) {
			c.Policy = PolicyNone
			c.HashKey = configopaque.String("hash-key-of-thirty-two-bytes-at-least-" + key)
			c.Keys = []KeyRule{{Key: "tenant", Action: ActionHash}}
			c.Detectors = map[string]string{"email": ActionHash}
		})
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for _, tenant := range []string{"acme", "globex", "acme"} {
			sp := spans.AppendEmpty()
			sp.Attributes().PutStr("tenant", tenant)
			sp.Attributes().PutStr("who", "owner jdoe@acme.com")
		}
		out := runTraces(t, cfg, td).ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		return map[string]string{
			"acme1":  str(t, out.At(0).Attributes(), "tenant"),
			"globex": str(t, out.At(1).Attributes(), "tenant"),
			"acme2":  str(t, out.At(2).Attributes(), "tenant"),
			"who":    str(t, out.At(0).Attributes(), "who"),
		}
	}
	a := build("a")
	assert.Regexp(t, `^[0-9a-f]{16}$`, a["acme1"])
	assert.Equal(t, a["acme1"], a["acme2"], "one tenant hashes the same on every span")
	assert.NotEqual(t, a["acme1"], a["globex"])
	assert.Regexp(t, `^owner [0-9a-f]{16}$`, a["who"], "a detector hashes only its match")
	b := build("b")
	assert.NotEqual(t, a["acme1"], b["acme1"], "another key gives other hashes")
}

func TestURLAction(t *testing.T) {
	newSpan := func(spans ptrace.SpanSlice, name, uri, route string) {
		sp := spans.AppendEmpty()
		sp.SetName(name)
		sp.Attributes().PutStr("http.uri", uri)
		if route != "" {
			sp.Attributes().PutStr("http.route", route)
		}
	}
	input := func() ptrace.Traces {
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		newSpan(spans, "GET /api/v2/tenants/acme/databases", "/api/v2/tenants/acme/databases?limit=10&token=abc", "/api/v2/tenants/{tenant}/databases")
		newSpan(spans, "GET /users/12345/orders/98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb", "https://bob:pw@shop.example/users/12345/orders/98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb?id=7#frag", "")
		newSpan(spans, "GET /api/v2/tenants/{tenant}", "not a url", "")
		return td
	}
	for _, fallback := range []string{URLStrip, URLDrop} {
		t.Run(fallback, func(t *testing.T) {
			cfg := testConfig(t, func(c *Config) {
				c.Policy = PolicyNone
				c.URLWithoutRoute = fallback
				c.Keys = []KeyRule{{Key: "http.uri", Action: ActionURL}}
				c.Text.SpanName = ActionURL
			})
			spans := runTraces(t, cfg, input()).ResourceSpans().At(0).ScopeSpans().At(0).Spans()

			routed := spans.At(0)
			assert.Equal(t, "/api/v2/tenants/{tenant}/databases", str(t, routed.Attributes(), "http.uri"))
			assert.Equal(t, "GET /api/v2/tenants/{tenant}/databases", routed.Name())

			bare := spans.At(1)
			if fallback == URLStrip {
				assert.Equal(t, "https://shop.example/users/****/orders/****?id=", str(t, bare.Attributes(), "http.uri"))
				assert.Equal(t, "GET /users/****/orders/****", bare.Name())
			} else {
				absent(t, bare.Attributes(), "http.uri")
				assert.Equal(t, "GET ****", bare.Name())
			}
			template := spans.At(2)
			assert.Equal(t, "GET /api/v2/tenants/{tenant}", template.Name(), "a template path is kept")
			if fallback == URLStrip {
				assert.Equal(t, "****", str(t, template.Attributes(), "http.uri"), "a value that is not a URL is masked")
			} else {
				absent(t, template.Attributes(), "http.uri")
			}
		})
	}
}

func TestValueRules(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Policy, c.Mode = PolicyNone, ModeAllowlist
		c.Keys = []KeyRule{
			{Key: "http.method", Values: []string{"GET", "POST"}},
			{Key: "http.status_code", Pattern: "[0-9]{3}"},
			{Key: "raw", Action: ActionRaw},
		}
		c.Detectors = map[string]string{"email": ActionDrop}
	})
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for _, v := range [][3]string{{"GET", "200", "a@b.io"}, {"CANARY", "200 OK", "x"}} {
		sp := spans.AppendEmpty()
		sp.Attributes().PutStr("http.method", v[0])
		sp.Attributes().PutStr("http.status_code", v[1])
		sp.Attributes().PutStr("raw", v[2])
	}
	out := runTraces(t, cfg, td).ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	assert.Equal(t, map[string]any{"http.method": "GET", "http.status_code": "200", "raw": "a@b.io"}, out.At(0).Attributes().AsRaw(), "raw values skip the detectors")
	assert.Equal(t, map[string]any{"http.method": "****", "http.status_code": "****", "raw": "x"}, out.At(1).Attributes().AsRaw())
}

func TestDetectorActions(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Policy = PolicyNone
		c.HashKey = testHashKey
		c.Detectors = map[string]string{"email": ActionDrop, "ipv4": ActionMask, "uuid": ActionHash, "card_number": ActionMask}
		c.CustomDetectors = []CustomDetector{{Name: "employee", Regex: `EMP-[0-9]{6}`, Action: ActionMask}}
	})
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("notify jdoe@acme.com from 10.0.0.1")
	a := sp.Attributes()
	a.PutStr("email", "to jdoe@acme.com")
	a.PutStr("peer", "10.0.0.1:4317")
	a.PutStr("id", "coll 98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb")
	a.PutStr("emp", "by EMP-123456 today")
	a.PutInt("card", 4111111111111111)
	a.PutInt("count", 4111111111111112)
	a.PutEmptyBytes("blob").FromRaw([]byte("from 10.0.0.1"))
	s := a.PutEmptySlice("list")
	s.AppendEmpty().SetStr("ok")
	s.AppendEmpty().SetStr("jdoe@acme.com")
	sp.Status().SetMessage("failed for jdoe@acme.com")
	sp.TraceState().FromRaw("vendor=10.0.0.1")
	ev := sp.Events().AppendEmpty()
	ev.SetName("Cache miss for collection 98aa09b7-eafe-4c6d-aece-ad1a2b54b6eb")

	out := runTraces(t, cfg, td).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	oa := out.Attributes()
	absent(t, oa, "email")
	assert.Equal(t, "****:4317", str(t, oa, "peer"))
	assert.Regexp(t, `^coll [0-9a-f]{16}$`, str(t, oa, "id"))
	assert.Equal(t, "by **** today", str(t, oa, "emp"))
	absent(t, oa, "card") // an integer that is a card number is dropped, never turned into a string
	assert.Equal(t, int64(4111111111111112), mustGet(t, oa, "count").Int(), "other integers stay")
	assert.Equal(t, []byte("from ****"), mustGet(t, oa, "blob").Bytes().AsRaw(), "bytes stay bytes")
	assert.Equal(t, []any{"ok"}, mustGet(t, oa, "list").Slice().AsRaw(), "a drop match drops the slice element")
	assert.Equal(t, "notify **** from ****", out.Name(), "in names a drop detector masks")
	assert.Equal(t, "failed for ****", out.Status().Message())
	assert.Equal(t, "vendor=****", out.TraceState().AsRaw())
	assert.Regexp(t, `^Cache miss for collection [0-9a-f]{16}$`, out.Events().At(0).Name())
}

func mustGet(t *testing.T, m pcommon.Map, k string) pcommon.Value {
	t.Helper()
	v, ok := m.Get(k)
	require.True(t, ok, k)
	return v
}

func TestTextActions(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Policy = PolicyNone
		c.Detectors = map[string]string{"email": ActionMask}
		c.Text = TextConfig{SpanName: ActionMask, EventName: ActionRaw, StatusMessage: ActionDrop, ScopeName: ActionMask}
	})
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ss.Scope().SetName("acme-internal")
	ss.Scope().SetVersion("1.2")
	sp := ss.Spans().AppendEmpty()
	sp.SetName("GET /x")
	sp.Status().SetMessage("boom")
	sp.Events().AppendEmpty().SetName("sent to a@b.io")
	out := runTraces(t, cfg, td).ResourceSpans().At(0).ScopeSpans().At(0)
	assert.Equal(t, "****", out.Scope().Name())
	assert.Equal(t, "****", out.Scope().Version())
	osp := out.Spans().At(0)
	assert.Equal(t, "****", osp.Name())
	assert.Empty(t, osp.Status().Message())
	assert.Equal(t, "sent to a@b.io", osp.Events().At(0).Name())
}

func TestDepthLimit(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.Policy = PolicyNone })
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	m := lr.Attributes().PutEmptyMap("l0")
	for i := 1; i < 40; i++ {
		m = m.PutEmptyMap("l")
	}
	m.PutStr("deep", "value")
	out := runLogs(t, cfg, ld)
	assert.NotContains(t, logsJSON(t, out), "deep")
	assert.Contains(t, logsJSON(t, out), "l0")
}

func TestLogs(t *testing.T) {
	input := func() plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "chroma")
		rl.Resource().Attributes().PutStr("host.name", "db-acme-1")
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		lr := lrs.AppendEmpty()
		lr.Body().SetStr("uploaded to s3://acme-backups for jdoe@acme.com")
		lr.Attributes().PutStr("exception.type", "IOError")
		lr.Attributes().PutStr("bucket", "acme-backups")
		lr.SetEventName("backup jdoe@acme.com")
		lr = lrs.AppendEmpty()
		body := lr.Body().SetEmptyMap()
		body.PutStr("level", "info")
		body.PutStr("tenant", "canary_tenant_acme_corp")
		inner := body.PutEmptyMap("target")
		inner.PutStr("level", "a@b.io")
		inner.PutStr("user", "jdoe")
		lr = lrs.AppendEmpty()
		sl := lr.Body().SetEmptySlice()
		sl.AppendEmpty().SetStr("free text with tenant acme")
		sl.AppendEmpty().SetEmptyMap().PutStr("level", "warn")
		return ld
	}
	t.Run("vendor", func(t *testing.T) {
		out := runLogs(t, testConfig(t, func(c *Config) { c.HashKey = testHashKey }), input())
		rl := out.ResourceLogs().At(0)
		assert.Equal(t, map[string]any{"service.name": "chroma", "host.name": hashOf(testHashKey, "db-acme-1")}, rl.Resource().Attributes().AsRaw())
		lrs := rl.ScopeLogs().At(0).LogRecords()
		assert.Equal(t, pcommon.ValueTypeEmpty, lrs.At(0).Body().Type(), "free-text bodies never reach the vendor")
		assert.Equal(t, map[string]any{"exception.type": "IOError"}, lrs.At(0).Attributes().AsRaw())
		assert.Equal(t, "backup *", lrs.At(0).EventName(), "words outside the vocabulary become *")
		assert.Equal(t, map[string]any{"level": "info"}, lrs.At(1).Body().AsRaw(), "map bodies follow the allowlist and the shapes at every depth (a map fits no shape)")
		assert.Equal(t, []any{map[string]any{"level": "warn"}}, lrs.At(2).Body().AsRaw())
		assert.NotContains(t, logsJSON(t, out), "acme")
	})
	t.Run("customer", func(t *testing.T) {
		out := runLogs(t, testConfig(t, func(c *Config) { c.Policy = PolicyCustomer }), input())
		lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		assert.Equal(t, "uploaded to s3://acme-backups for jdoe@acme.com", lrs.At(0).Body().Str(), "the customer keeps its own names")
		assert.Equal(t, "canary_tenant_acme_corp", str(t, lrs.At(1).Body().Map(), "tenant"))
	})
	t.Run("mask", func(t *testing.T) {
		out := runLogs(t, testConfig(t, func(c *Config) { c.Policy = PolicyNone; c.Text.LogBody = ActionMask }), input())
		lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		assert.Equal(t, "****", lrs.At(0).Body().Str())
		assert.Equal(t, "****", lrs.At(2).Body().Slice().At(0).Str())
	})
}

func TestMetricNamesAndExemplars(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests/jdoe@acme.com")
	m.SetDescription("per 10.0.0.1")
	m.Metadata().PutStr("owner", "jdoe")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(3)
	dp.Attributes().PutStr("http.route", "/api")
	dp.Attributes().PutStr("tenant", "acme")
	ex := dp.Exemplars().AppendEmpty()
	ex.FilteredAttributes().PutStr("tenant", "acme")
	ex.FilteredAttributes().PutStr("http.route", "/api")
	out := runMetrics(t, testConfig(t, nil), md)
	om := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
	assert.Equal(t, "requests/*", om.Name())
	assert.Equal(t, "per *", om.Description())
	assert.Empty(t, om.Metadata().AsRaw())
	odp := om.Gauge().DataPoints().At(0)
	assert.Equal(t, map[string]any{"http.route": "/api"}, odp.Attributes().AsRaw())
	assert.Equal(t, map[string]any{"http.route": "/api"}, odp.Exemplars().At(0).FilteredAttributes().AsRaw())
}

// Values that nothing touches cost no allocation.
func TestUntouchedValuesDoNotAllocate(t *testing.T) {
	cfg := testConfig(t, nil)
	ep, err := cfg.effective()
	require.NoError(t, err)
	e := newEngine(ep)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chroma")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 10; i++ {
		sp := spans.AppendEmpty()
		sp.SetName("POST /api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/query")
		a := sp.Attributes()
		a.PutStr("http.method", "POST")
		a.PutStr("http.route", "/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/query")
		a.PutStr("http.status_code", "200")
		a.PutStr("code.namespace", "chroma_frontend::tower_tracing")
		a.PutStr("thread.name", "tokio-runtime-worker")
		a.PutInt("busy_ns", 1795218563251)
		ev := sp.Events().AppendEmpty()
		ev.SetName("started processing request")
		ev.Attributes().PutStr("level", "INFO")
	}
	// The pooled per-call state is reused directly: the race detector makes
	// sync.Pool drop items on purpose.
	st := e.getScratch()
	allocs := testing.AllocsPerRun(50, func() {
		e.scrubTraces(td, st)
		st.reset()
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 6, spans.At(0).Attributes().Len(), "nothing was removed")
}

// Processors run concurrently; the key cache and pools must hold up (-race).
func TestConcurrentUse(t *testing.T) {
	cfg := testConfig(t, nil)
	ep, err := cfg.effective()
	require.NoError(t, err)
	e := newEngine(ep)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				td := everyPlace(func(m pcommon.Map) {
					m.PutStr("service.name", "chroma")
					m.PutStr("key"+strings.Repeat("x", i%7), "jdoe@acme.com")
					m.PutStr("http.route", "/api/jdoe@acme.com")
				})
				st := e.getScratch()
				e.scrubTraces(td, st)
				e.putScratch(st)
				for _, m := range traceMaps(td) {
					assert.Equal(t, map[string]any{"service.name": "chroma", "http.route": "/api/*"}, m.AsRaw())
				}
			}
		}()
	}
	wg.Wait()
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*password*", "db_password_hint", true},
		{"*token", "x-chroma-token", true},
		{"*token", "tokens", false},
		{"http.*", "http.route", true},
		{"http.*", "https.route", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"*", "", true},
		{"exact", "exact", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, globMatch(tt.pattern, tt.s), "%s ~ %s", tt.pattern, tt.s)
	}
}

var hexRe = regexp.MustCompile(`[0-9a-f]{16}`)

func TestHashDoesNotRevealInput(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Policy = PolicyNone
		c.HashKey = testHashKey
		c.Keys = []KeyRule{{Key: "tenant", Action: ActionHash}}
	})
	ep, err := cfg.effective()
	require.NoError(t, err)
	e := newEngine(ep)
	h := e.hash("canary_tenant_acme_corp")
	assert.True(t, hexRe.MatchString(h))
	assert.NotContains(t, h, "acme")
	assert.Equal(t, h, e.hash("canary_tenant_acme_corp"))
}

// The user's rules come before the policy's, patterns included.
func TestRuleOrder(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.Keys = []KeyRule{{Key: "thread.*", Action: ActionDrop}, {Key: "code.*"}}
	})
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.Attributes().PutStr("thread.name", "tokio-runtime-worker")
	sp.Attributes().PutStr("code.filepath", "rust/frontend/src/server.rs")
	sp.Attributes().PutStr("code.namespace", "chroma_frontend::server")
	out := runTraces(t, cfg, td).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	assert.Equal(t, map[string]any{"code.filepath": "rust/frontend/src/server.rs", "code.namespace": "chroma_frontend::server"}, out.AsRaw(),
		"thread.* drops the policy's thread.name; code.* keeps code.filepath, which the vendor policy leaves out")
}
