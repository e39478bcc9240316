package scrubprocessor

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// readmeCanaries are the values the corpus README plants; every one names a
// tenant, database or collection, or is the query string, the user agent or
// the host. None may reach the vendor in any form.
var readmeCanaries = []string{
	"canary", // every planted value carries it, in any case
	"canary_tenant_acme_corp", "canary_db_payroll", "CANARYCOLL-jdoe-ssn-123-45-6789", "CANARYCOLL-renamed",
	"CANARY-QUERYSTRING-SECRET", "canary_qs", "CANARY-MISSING-COLLECTION-NAME", "does-not-exist-CANARY-PATH",
	"CanaryAgent/1.0 (ua-canary-42)", "ua-canary-42", "jdoe", "123-45-6789", "555-44-3333",
	"default_tenant", "default_database", // tenant and database names too
	"127.0.0.1", ":8021", // the host
	"/home/runner", ".cargo/registry", // build machine paths
	"limit=10", "offset=0", // the query string
	"Collection forking is unsupported", // error text
}

var uuidRe = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// sensitiveKeys are the keys the README lists; their corpus values are
// searched for in the output too.
var sensitiveKeys = map[string]bool{
	"http.uri": true, "http.user_agent": true, "http.host": true, "tenant_name": true, "database_name": true,
	"tenant": true, "database": true, "collection_name": true, "collection_id": true,
	"source_collection_id": true, "target_collection_id": true, "exception.message": true,
	"db.statement": true, "summary": true,
}

// corpusNeedles gathers what must not survive: the README's canaries, every
// UUID in the raw corpus, and the values under the sensitive keys (URIs
// only where they differ from their route template, since a template is
// what the vendor keeps).
func corpusNeedles(t *testing.T, runs []corpusRun) []string {
	set := map[string]bool{}
	for _, c := range readmeCanaries {
		set[c] = true
	}
	dir := corpusDir(t)
	for _, f := range corpusFiles {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		for _, u := range uuidRe.FindAllString(string(raw), -1) {
			set[strings.ToLower(u)] = true
		}
	}
	collect := func(m pcommon.Map) {
		route := ""
		if r, ok := m.Get("http.route"); ok {
			route = r.Str()
		}
		for k, v := range m.All() {
			s := v.AsString()
			if !sensitiveKeys[k] || len(s) < 4 || (k == "http.uri" && s == route) {
				continue
			}
			set[s] = true
		}
	}
	for _, r := range runs {
		for _, td := range r.traces {
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, sp := range ss.Spans().All() {
						collect(sp.Attributes())
						if msg := sp.Status().Message(); msg != "" {
							set[msg] = true
						}
						for _, ev := range sp.Events().All() {
							collect(ev.Attributes())
						}
					}
				}
			}
		}
		for _, md := range r.metrics {
			for _, rm := range md.ResourceMetrics().All() {
				for _, sm := range rm.ScopeMetrics().All() {
					for _, m := range sm.Metrics().All() {
						if m.Type() == pmetric.MetricTypeSum {
							for _, dp := range m.Sum().DataPoints().All() {
								collect(dp.Attributes())
							}
						}
					}
				}
			}
		}
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	require.Greater(t, len(out), 100, "the corpus yields its sensitive values")
	return out
}

// spanSummary is what on-call needs from a span.
type spanSummary struct {
	Name, Route, Method, Status string
	StatusCode                  ptrace.StatusCode
	Start, End                  pcommon.Timestamp
	Events                      int
}

func summarize(td ptrace.Traces) []spanSummary {
	var out []spanSummary
	get := func(m pcommon.Map, k string) string {
		if v, ok := m.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				out = append(out, spanSummary{
					Name: sp.Name(), Route: get(sp.Attributes(), "http.route"), Method: get(sp.Attributes(), "http.method"),
					Status: get(sp.Attributes(), "http.status_code"), StatusCode: sp.Status().Code(),
					Start: sp.StartTimestamp(), End: sp.EndTimestamp(), Events: sp.Events().Len(),
				})
			}
		}
	}
	return out
}

func metricValues(md pmetric.Metrics) map[string]float64 {
	out := map[string]float64{}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for _, dp := range m.Sum().DataPoints().All() {
						out[m.Name()] += numberValue(dp)
					}
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						out[m.Name()] += dp.Sum() + float64(dp.Count())
					}
				}
			}
		}
	}
	return out
}

// vendorCorpusOutput runs one corpus file through the vendor policy, after
// plant has changed each copy of its requests, checks that what on-call
// needs stays (addEvents: events plant added per span) and returns the
// serialized output.
func vendorCorpusOutput(t *testing.T, r corpusRun, plant func(ptrace.Traces, pmetric.Metrics), addEvents int) string {
	cfg := testConfig(t, nil)
	var out strings.Builder
	for _, td := range r.traces {
		want := summarize(td)
		for i := range want {
			want[i].Events += addEvents
		}
		in := ptrace.NewTraces()
		td.CopyTo(in)
		plant(in, pmetric.NewMetrics())
		got := runTraces(t, cfg, in)
		assert.Equal(t, want, summarize(got), "span names, routes, methods, status and durations stay")
		out.WriteString(tracesJSON(t, got))
	}
	for _, md := range r.metrics {
		want := metricValues(md)
		in := pmetric.NewMetrics()
		md.CopyTo(in)
		plant(ptrace.NewTraces(), in)
		got := runMetrics(t, cfg, in)
		assert.Equal(t, want, metricValues(got), "metric values stay")
		assert.Equal(t, md.MetricCount(), got.MetricCount())
		out.WriteString(metricsJSON(t, got))
	}
	return out.String()
}

func TestCorpusVendorPolicy(t *testing.T) {
	runs := loadCorpus(t)
	needles := corpusNeedles(t, runs)
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			serialized := vendorCorpusOutput(t, r, func(ptrace.Traces, pmetric.Metrics) {}, 0)
			lower := strings.ToLower(serialized)
			for _, n := range needles {
				if strings.Contains(serialized, n) || strings.Contains(lower, strings.ToLower(n)) {
					t.Errorf("%q reached the vendor output", n)
				}
			}
			for _, kept := range []string{`"http.route"`, `"http.method"`, `"http.status_code"`, `"busy_ns"`, `"code.namespace"`} {
				assert.True(t, strings.Contains(serialized, kept), "%s is kept", kept)
			}
		})
	}
}

// plantInCorpus puts a collection name with no shape where Chroma puts
// names and error text into strings the vendor keeps: event names, kept
// keys' values, metric descriptions and units. Span names, routes, methods,
// status, durations and metric values are left as they are.
func plantInCorpus(td ptrace.Traces, md pmetric.Metrics, planted string) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				sp.Events().AppendEmpty().SetName("Collection [" + planted + "] does not exist")
				if sp.Events().Len() > 1 {
					ev := sp.Events().At(0)
					ev.SetName(ev.Name() + " " + planted)
					ev.Attributes().PutStr("error.type", planted)
				}
				for _, k := range []string{"code.function", "thread.name", "target", "exception.type", "db.operation", "include"} {
					sp.Attributes().PutStr(k, "chroma::"+planted)
				}
			}
		}
	}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				m.SetDescription("Requests for collection " + planted)
				m.SetUnit("{" + planted + "}")
			}
		}
	}
}

func TestCorpusVendorPolicyPlantedNames(t *testing.T) {
	const planted = "zorblax-payroll"
	for _, r := range loadCorpus(t) {
		t.Run(r.name, func(t *testing.T) {
			plant := func(td ptrace.Traces, md pmetric.Metrics) { plantInCorpus(td, md, planted) }
			s := strings.ToLower(vendorCorpusOutput(t, r, plant, 1))
			for _, n := range []string{"zorblax", "payroll"} {
				assert.NotContains(t, s, n)
			}
			assert.Contains(t, s, `"collection [*] does not exist"`)
			assert.Contains(t, s, `"chroma::*"`)
		})
	}
}

func TestCorpusCustomerPolicy(t *testing.T) {
	runs := loadCorpus(t)
	cfg := testConfig(t, func(c *Config) { c.Policy = PolicyCustomer })
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			var out strings.Builder
			for _, td := range r.traces {
				in := ptrace.NewTraces()
				td.CopyTo(in)
				out.WriteString(tracesJSON(t, runTraces(t, cfg, in)))
			}
			for _, md := range r.metrics {
				in := pmetric.NewMetrics()
				md.CopyTo(in)
				out.WriteString(metricsJSON(t, runMetrics(t, cfg, in)))
			}
			s := out.String()
			own := []string{"canary_tenant_acme_corp", "canary_db_payroll", "CANARY-MISSING-COLLECTION-NAME", "CanaryAgent/1.0 (ua-canary-42)", "/home/runner/.cargo", "CANARYCOLL-jdoe-ssn-****"}
			if strings.Contains(r.name, "debug") {
				own = append(own, "db.statement", "SELECT")
			}
			for _, o := range own {
				assert.True(t, strings.Contains(s, o), "the customer keeps its own names: %q", o)
			}
			for _, secret := range []string{"123-45-6789", "555-44-3333"} {
				assert.False(t, strings.Contains(s, secret), "social security numbers go, even inside a name: %q", secret)
			}
		})
	}
}
