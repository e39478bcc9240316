package scrubprocessor

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzVendorPolicy builds random traces, metrics and logs with secrets
// planted at random places and depths, runs them through the vendor policy
// and searches the serialized output for every planted secret.
//
// Secrets with a recognizable shape (emails, addresses, cards, SSNs, tokens,
// keys, credentials in URLs, home paths, UUIDs) are planted anywhere:
// allowed keys, names, messages, bodies, keys themselves, trace state. Values
// with no shape ("CANARY...") are planted everywhere too: under keys the
// policy does not list, in raw URLs, status messages and free-text log
// bodies, which it removes whatever they hold, and in names and the values
// of kept keys, which keep only vocabulary words and shaped values. So are
// numbers that mean something, as integers under kept keys whose shape is
// no number and as log bodies, card numbers as numbers under count keys,
// embeddings as lists of doubles under number keys, and Chroma's request
// paths and key=value pairs naming a tenant and a database with vocabulary
// words.
//
//	go test -run '^$' -fuzz=FuzzVendorPolicy -fuzztime=20s ./processor/scrubprocessor
func FuzzVendorPolicy(f *testing.F) {
	f.Add(uint64(1), "")
	f.Add(uint64(2), "request failed for")
	f.Add(uint64(3), "tenant=acme; user")
	f.Add(uint64(4), "12 34")
	f.Add(uint64(5), "Authorization:")
	f.Add(uint64(6), "/home/")
	f.Add(uint64(7), "::")
	f.Add(uint64(8), "Collection [")
	f.Add(uint64(9), "/api/v2/tenants/")

	v := newVendorRunner(f)
	f.Fuzz(func(t *testing.T, seed uint64, filler string) {
		v.check(t, newPlanter(seed, filler))
	})
}

// The same check over many seeds in every test run, and proof that the
// planter plants every kind of secret.
func TestVendorPolicyRandomTelemetry(t *testing.T) {
	v := newVendorRunner(t)
	kinds := map[string]bool{}
	places := map[string]bool{}
	for seed := uint64(0); seed < 300; seed++ {
		g := newPlanter(seed, []string{"", "x", "tenant acme", "12"}[seed%4])
		v.check(t, g)
		for _, n := range g.needles {
			kinds[n.kind] = true
			places[n.where] = true
		}
	}
	assert.Len(t, kinds, 20, "every kind of secret was planted: %v", kinds)
	assert.GreaterOrEqual(t, len(places), 14, "in every place: %v", places)
}

type vendorRunner struct {
	tp      consumer.Traces
	mp      consumer.Metrics
	lp      consumer.Logs
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
	logs    *consumertest.LogsSink
}

func newVendorRunner(tb testing.TB) *vendorRunner {
	cfg := testConfig(tb, nil)
	ctx := context.Background()
	v := &vendorRunner{traces: new(consumertest.TracesSink), metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink)}
	var err error
	v.tp, err = NewFactory().CreateTraces(ctx, testSettings(), cfg, v.traces)
	require.NoError(tb, err)
	v.mp, err = NewFactory().CreateMetrics(ctx, testSettings(), cfg, v.metrics)
	require.NoError(tb, err)
	v.lp, err = NewFactory().CreateLogs(ctx, testSettings(), cfg, v.logs)
	require.NoError(tb, err)
	return v
}

func (v *vendorRunner) check(t *testing.T, g *planter) {
	ctx := context.Background()
	td, md, ld := g.traces(), g.metrics(), g.logs()
	v.traces.Reset()
	v.metrics.Reset()
	v.logs.Reset()
	require.NoError(t, v.tp.ConsumeTraces(ctx, td))
	require.NoError(t, v.mp.ConsumeMetrics(ctx, md))
	require.NoError(t, v.lp.ConsumeLogs(ctx, ld))
	out := tracesJSON(t, v.traces.AllTraces()[0]) + metricsJSON(t, v.metrics.AllMetrics()[0]) + logsJSON(t, v.logs.AllLogs()[0])

	for _, n := range g.needles {
		if i := strings.Index(out, n.text); i >= 0 {
			t.Fatalf("%s %q planted in %s reached the vendor output: ...%s...", n.kind, n.text, n.where, out[max(0, i-120):min(len(out), i+60)])
		}
	}
	// What the vendor may see is still there.
	for _, kept := range []string{`"service.name"`, `"tokio-runtime-worker"`, `"http.status_code"`} {
		require.Contains(t, out, kept)
	}
}

type needle struct {
	text, kind, where string
}

// planter builds telemetry and remembers what it planted.
type planter struct {
	r       *rand.Rand
	filler  string
	needles []needle
	where   string
	service string // the current resource's service.name
}

func newPlanter(seed uint64, filler string) *planter {
	filler = strings.ToValidUTF8(filler, "")
	for len(filler) > 48 {
		_, size := utf8.DecodeLastRuneInString(filler)
		filler = filler[:len(filler)-size]
	}
	return &planter{r: rand.New(rand.NewPCG(seed, 0x5c5b)), filler: filler}
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (g *planter) rnd(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

// token is random text that surely holds a digit and both cases.
func (g *planter) token(n int) string {
	return g.rnd(n-3, alnum) + string(rune('a'+g.r.IntN(26))) + string(rune('A'+g.r.IntN(26))) + string(rune('0'+g.r.IntN(10)))
}

func (g *planter) plant(kind string, text string, needles ...string) string {
	for _, n := range needles {
		g.needles = append(g.needles, needle{text: n, kind: kind, where: g.where})
	}
	return text
}

// secret returns a shaped secret and records what must not survive.
func (g *planter) secret() string {
	switch g.r.IntN(16) {
	case 0:
		e := g.rnd(6, "abcdefghijklmnopqrstuvwxyz") + "." + g.token(5) + "@" + g.rnd(7, "abcdefghijklmnopqrstuvwxyz") + ".example." + []string{"com", "io", "org"}[g.r.IntN(3)]
		return g.plant("email", e, e)
	case 1:
		ip := fmt.Sprintf("%d.%d.%d.%d", 10+g.r.IntN(200), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
		return g.plant("ipv4", ip, ip)
	case 2:
		var ip string
		if g.r.IntN(2) == 0 {
			ip = fmt.Sprintf("2001:db8:%x:%x:%x:%x:%x:%x", g.r.IntN(65536), g.r.IntN(65536), g.r.IntN(65536), g.r.IntN(65536), 4096+g.r.IntN(4096), g.r.IntN(65536))
		} else {
			ip = fmt.Sprintf("fd%02x:%x::%x:%x", g.r.IntN(256), 4096+g.r.IntN(4096), g.r.IntN(65536), 4096+g.r.IntN(4096))
		}
		return g.plant("ipv6", ip, ip)
	case 3:
		digits := g.cardDigits()
		text := digits
		if g.r.IntN(2) == 0 {
			sep := []string{" ", "-"}[g.r.IntN(2)]
			text = digits[:4] + sep + digits[4:8] + sep + digits[8:12] + sep + digits[12:]
		}
		return g.plant("card_number", text, text, digits)
	case 4:
		ssn := fmt.Sprintf("%03d-%02d-%04d", 100+g.r.IntN(565), 10+g.r.IntN(90), 1000+g.r.IntN(9000))
		return g.plant("us_ssn", ssn, ssn)
	case 5:
		b64 := func(n int) string { return g.rnd(n, alnum+"-_") }
		jwt := "eyJ" + b64(12+g.r.IntN(20)) + ".eyJ" + b64(20+g.r.IntN(20)) + "." + b64(20+g.r.IntN(23))
		return g.plant("jwt", jwt, jwt)
	case 6:
		tok := g.token(24) + "." + g.token(8)
		return g.plant("bearer", []string{"Bearer ", "bearer ", "BEARER\t"}[g.r.IntN(3)]+tok, tok)
	case 7:
		cred := base64.StdEncoding.EncodeToString([]byte(g.rnd(6, alnum) + ":" + g.token(12)))
		return g.plant("basic", "Basic "+cred, cred)
	case 8:
		key := []string{"AKIA", "ASIA"}[g.r.IntN(2)] + g.rnd(15, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") + "7"
		return g.plant("aws_access_key", key, key)
	case 9:
		prefix := []string{"sk-proj-", "ghp_", "github_pat_", "glpat-", "xoxb-", "AIza", "ck-", "hf_", "sk_live_"}[g.r.IntN(9)]
		key := prefix + g.token(36)
		return g.plant("api_key", key, key)
	case 10:
		body := g.rnd(64, alnum+"+/")
		pem := "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----"
		return g.plant("private_key", pem, body)
	case 11:
		pass := g.token(14)
		u := "postgres://" + g.rnd(5, "abcdefghijklmnopqrstuvwxyz") + ":" + pass + "@db-" + g.rnd(4, "abcdefghijklmnopqrstuvwxyz") + ".internal:5432/app"
		return g.plant("url_userinfo", u, pass)
	case 12:
		user := "u" + g.token(9)
		if g.r.IntN(2) == 0 {
			return g.plant("home_path", "/home/"+user+"/.cargo/registry/src/lib.rs", user)
		}
		return g.plant("home_path", `C:\Users\`+user+`\AppData\x.log`, user)
	case 13:
		u := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", g.r.Uint32(), g.r.IntN(65536), g.r.IntN(4096), g.r.IntN(4096), g.r.Uint64()&(1<<48-1))
		return g.plant("uuid", u, u)
	case 14:
		v := g.token(14)
		return g.plant("credentials", []string{"password=", "client_secret: ", `"api_key": "`, "X-Chroma-Token: "}[g.r.IntN(4)]+v, v)
	default:
		tok := g.token(30)
		return g.plant("bearer", "Authorization: Bearer "+tok, tok)
	}
}

func (g *planter) cardDigits() string {
	d := make([]byte, 16)
	d[0] = "3456"[g.r.IntN(4)]
	for i := 1; i < 15; i++ {
		d[i] = byte('0' + g.r.IntN(10))
	}
	sum := 0
	for i := 14; i >= 0; i-- {
		v := int(d[i] - '0')
		if (14-i)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = byte('0' + (10-sum%10)%10)
	return string(d)
}

// canary is a value with no shape: only where it goes can remove it.
func (g *planter) canary() string {
	c := "CANARY" + g.token(10)
	return g.plant("canary", c, c)
}

var separators = []string{" ", ", ", "; ", " | ", "(", ")", "[", "]", `"`, "'", "\t", "\n", "<", ">"}

// embed surrounds s with fuzzer text, always with a separator between.
func (g *planter) embed(s string) string {
	sep := func() string { return separators[g.r.IntN(len(separators))] }
	var b strings.Builder
	if g.r.IntN(2) == 0 {
		b.WriteString(g.filler)
		b.WriteString(sep())
	}
	b.WriteString(s)
	if g.r.IntN(2) == 0 {
		b.WriteString(sep())
		b.WriteString(g.filler)
	}
	return b.String()
}

var (
	fuzzAllowedKeys = []string{"http.status_code", "error.type", "exception.type", "code.namespace", "thread.name", "level", "target", "include", "db.system", "rpc.method", "http.route"}
	fuzzUnknownKeys = []string{"tenant", "tenant_name", "database_name", "collection_name", "collection_id", "http.user_agent", "http.host", "db.statement", "exception.message", "host.name", "k8s.pod.name", "user.email", "summary", "code.filepath"}
)

// text is a string for a kept place (a name, a kept key's value): clean
// words, fuzzer text, shaped secrets and shapeless names, which the
// vocabulary and the value shapes keep out.
func (g *planter) text() string {
	switch g.r.IntN(8) {
	case 0:
		return g.embed(g.secret())
	case 1:
		return g.embed(g.secret()) + " and " + g.embed(g.canary())
	case 2:
		return g.filler
	case 3:
		return "Collection [" + g.canary() + "] does not exist"
	case 4:
		return g.embed(g.canary())
	case 5:
		return g.requestPath()
	case 6:
		return g.assignedNames()
	}
	return []string{"GET", "ok", "chroma_frontend::server", "Bailing because no records were found", "42"}[g.r.IntN(5)]
}

// pathNames are vocabulary words that are no literal segment of a route:
// as a tenant or a database in a request path they are the customer's.
var pathNames = []string{"staging", "users", "default", "documents", "production", "test", "internal", "example"}

// requestPath is a name holding one of Chroma's request paths after a
// separator, with a tenant and a database that are vocabulary words.
func (g *planter) requestPath() string {
	tenant, database := pathNames[g.r.IntN(len(pathNames))], pathNames[g.r.IntN(len(pathNames))]
	path := "tenants/" + tenant + "/databases/" + database
	sep := []string{" ", "\t", "=", ":", "(", "'", ",", "*"}[g.r.IntN(8)]
	return g.plant("path", "request"+sep+"/api/v2/"+path, path)
}

// assignedNames is a message naming a tenant and a database by vocabulary
// words after key=, as a formatted log line does.
func (g *planter) assignedNames() string {
	tenant, database := pathNames[g.r.IntN(len(pathNames))], pathNames[g.r.IntN(len(pathNames))]
	return g.plant("assigned", "query failed tenant="+tenant+", database="+database, "tenant="+tenant, "database="+database)
}

// embedding fills s with a vector, as Chroma stores with a document.
func (g *planter) embedding(s pcommon.Slice) {
	for range 1 + g.r.IntN(4) {
		x := 0.9 + float64(g.r.IntN(1_000_000))/1e7
		s.AppendEmpty().SetDouble(x)
		g.plant("embedding", "", strconv.FormatFloat(x, 'g', -1, 64))
	}
}

// number is an integer that means something (a phone or an account
// number): it may stay only under a key whose shape is a number.
func (g *planter) number() int64 {
	n := int64(100_000_000_000 + g.r.IntN(800_000_000_000))
	g.plant("number", "", strconv.FormatInt(n, 10))
	return n
}

// value fills a value. dropped says the policy removes this place whatever
// it holds, so shapeless canaries may go there too.
func (g *planter) value(v pcommon.Value, dropped bool, depth int) {
	n := 6
	if depth >= 3 {
		n = 4
	}
	switch g.r.IntN(n) {
	case 0, 1:
		if dropped && g.r.IntN(2) == 0 {
			v.SetStr(g.embed(g.canary()))
		} else {
			v.SetStr(g.text())
		}
	case 2:
		switch {
		case dropped:
			v.SetInt(g.r.Int64())
		case g.r.IntN(2) == 0:
			v.SetInt(int64(g.r.IntN(1000000)))
		default:
			v.SetInt(g.number())
		}
	case 3:
		v.SetBool(g.r.IntN(2) == 0)
	case 4:
		g.attrs(v.SetEmptyMap(), dropped, depth+1)
	default:
		s := v.SetEmptySlice()
		for i := g.r.IntN(4); i >= 0; i-- {
			g.value(s.AppendEmpty(), dropped, depth+1)
		}
	}
}

// attrs fills a map with allowed and unknown keys, and keys that carry
// values themselves.
func (g *planter) attrs(m pcommon.Map, dropped bool, depth int) {
	for i := g.r.IntN(6); i >= 0; i-- {
		switch g.r.IntN(5) {
		case 0, 1:
			g.value(m.PutEmpty(fuzzAllowedKeys[g.r.IntN(len(fuzzAllowedKeys))]), dropped, depth)
		case 2, 3:
			g.value(m.PutEmpty(fuzzUnknownKeys[g.r.IntN(len(fuzzUnknownKeys))]), true, depth)
		default:
			var key string
			if g.r.IntN(2) == 0 {
				key = "attr." + g.canary()
			} else {
				key = "user." + g.secret()
			}
			g.value(m.PutEmpty(key), true, depth)
		}
	}
	if g.r.IntN(4) == 0 {
		digits := g.cardDigits()
		n, _ := strconv.ParseInt(digits, 10, 64)
		g.plant("card_number", "", digits)
		if g.r.IntN(2) == 0 {
			m.PutInt([]string{"limit", "offset", "num_ids"}[g.r.IntN(3)], n)
		} else {
			m.PutDouble([]string{"batch_size", "rows_returned"}[g.r.IntN(2)], float64(n))
		}
	}
	if g.r.IntN(4) == 0 {
		g.embedding(m.PutEmptySlice([]string{"limit", "busy_ns", "num_embeddings", "elapsed"}[g.r.IntN(4)]))
	}
	m.PutStr("thread.name", "tokio-runtime-worker")
	m.PutStr("http.status_code", "200")
	if g.r.IntN(3) == 0 {
		m.PutStr("http.method", g.embed(g.canary()))
	}
}

// resource plants identities: a customer's service name half of the time
// (Chroma's own name otherwise), instance and host names.
func (g *planter) resource(r pcommon.Resource) {
	g.where = "resource"
	g.attrs(r.Attributes(), false, 0)
	// A bare dotted quad is a version by rule (see TestTypesNeverChange):
	// versions here are text around the secrets.
	r.Attributes().PutStr("service.version", g.text()+" build")
	g.where = "identity"
	g.service = "chroma"
	if g.r.IntN(2) == 0 {
		g.service = g.canary()
	}
	r.Attributes().PutStr("service.name", g.service)
	r.Attributes().PutStr([]string{"service.instance.id", "host.name", "k8s.pod.name", "service.namespace"}[g.r.IntN(4)], g.canary())
}

// scope is named after the service, as Chroma's spans are, or holds the
// service's name beside other words, or is text.
func (g *planter) scope(s pcommon.InstrumentationScope) {
	g.where = "scope"
	switch g.r.IntN(3) {
	case 0:
		s.SetName(g.service)
	case 1:
		s.SetName(g.service + "::" + g.text())
	default:
		s.SetName(g.text())
	}
	// A bare dotted quad in a version is a version by rule (see
	// TestTypesNeverChange); versions here are text around the secrets.
	s.SetVersion(g.text() + " build")
	g.attrs(s.Attributes(), false, 0)
}

// rawURL is a request URI holding canaries; route says whether the span
// also carries its route template.
func (g *planter) rawURL() string {
	return "/api/v2/tenants/" + g.canary() + "/collections/" + g.canary() + "?q=" + g.canary() + "&k=" + g.secret()
}

func (g *planter) traces() ptrace.Traces {
	td := ptrace.NewTraces()
	for i := g.r.IntN(2); i >= 0; i-- {
		rs := td.ResourceSpans().AppendEmpty()
		g.resource(rs.Resource())
		ss := rs.ScopeSpans().AppendEmpty()
		g.scope(ss.Scope())
		for j := g.r.IntN(4); j >= 0; j-- {
			sp := ss.Spans().AppendEmpty()
			g.where = "span attributes"
			g.attrs(sp.Attributes(), false, 0)
			g.where = "span name"
			uri := g.rawURL()
			if g.r.IntN(2) == 0 {
				sp.Attributes().PutStr("http.route", "/api/v2/tenants/{tenant}/collections/{collection_id}")
				sp.SetName("GET " + uri)
			} else {
				sp.SetName(g.text())
			}
			g.where = "raw URL"
			sp.Attributes().PutStr([]string{"http.uri", "url.full", "http.target"}[g.r.IntN(3)], uri)
			g.where = "status message"
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage(g.embed(g.canary()) + " " + g.text())
			g.where = "trace state"
			if g.r.IntN(3) == 0 {
				sp.TraceState().FromRaw("vendor=" + g.secret())
			}
			for k := g.r.IntN(3); k > 0; k-- {
				ev := sp.Events().AppendEmpty()
				g.where = "event name"
				ev.SetName(g.text())
				g.where = "event attributes"
				g.attrs(ev.Attributes(), false, 0)
			}
			for k := g.r.IntN(2); k > 0; k-- {
				l := sp.Links().AppendEmpty()
				g.where = "link attributes"
				g.attrs(l.Attributes(), false, 0)
			}
		}
	}
	return td
}

func (g *planter) metrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	for i := g.r.IntN(2); i >= 0; i-- {
		rm := md.ResourceMetrics().AppendEmpty()
		g.resource(rm.Resource())
		sm := rm.ScopeMetrics().AppendEmpty()
		g.scope(sm.Scope())
		for j := g.r.IntN(4); j >= 0; j-- {
			m := sm.Metrics().AppendEmpty()
			g.where = "metric name"
			m.SetName("chroma " + g.text())
			m.SetDescription(g.text())
			g.where = "metric metadata"
			g.attrs(m.Metadata(), false, 0)
			var dps pmetric.NumberDataPointSlice
			if g.r.IntN(2) == 0 {
				dps = m.SetEmptySum().DataPoints()
			} else {
				dps = m.SetEmptyGauge().DataPoints()
			}
			for k := g.r.IntN(3); k >= 0; k-- {
				dp := dps.AppendEmpty()
				dp.SetTimestamp(pcommon.Timestamp(1000 + k))
				dp.SetIntValue(int64(g.r.IntN(1000)))
				g.where = "data point attributes"
				g.attrs(dp.Attributes(), false, 0)
				if g.r.IntN(2) == 0 {
					ex := dp.Exemplars().AppendEmpty()
					ex.SetIntValue(1)
					g.where = "exemplar attributes"
					g.attrs(ex.FilteredAttributes(), false, 0)
				}
			}
		}
	}
	return md
}

func (g *planter) logs() plog.Logs {
	ld := plog.NewLogs()
	for i := g.r.IntN(2); i >= 0; i-- {
		rl := ld.ResourceLogs().AppendEmpty()
		g.resource(rl.Resource())
		sl := rl.ScopeLogs().AppendEmpty()
		g.scope(sl.Scope())
		for j := g.r.IntN(4); j >= 0; j-- {
			lr := sl.LogRecords().AppendEmpty()
			g.where = "log attributes"
			g.attrs(lr.Attributes(), false, 0)
			g.where = "log body"
			switch g.r.IntN(4) {
			case 0:
				lr.Body().SetStr(g.embed(g.canary()) + " " + g.text())
			case 1:
				g.attrs(lr.Body().SetEmptyMap(), false, 1)
			case 2:
				lr.Body().SetInt(g.number())
			default:
				s := lr.Body().SetEmptySlice()
				s.AppendEmpty().SetStr(g.embed(g.canary()))
				s.AppendEmpty().SetInt(g.number())
				g.attrs(s.AppendEmpty().SetEmptyMap(), false, 2)
			}
			g.where = "log event name"
			lr.SetEventName(g.text())
			lr.SetSeverityText(g.text())
		}
	}
	return ld
}
