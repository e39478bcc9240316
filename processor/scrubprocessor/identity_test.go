package scrubprocessor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// hashOf is the hash action's output, computed here independently.
func hashOf(key, s string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(s))
	return hex.EncodeToString(mac.Sum(nil)[:hashOutputSize])
}

// twoDeployments is what two deployments' receivers send in one batch:
// the same metrics, resources that differ only by their identity.
func twoDeployments(idKey string, ids [2]string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for i, id := range ids {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr(idKey, id)
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		up := ms.AppendEmpty()
		up.SetName("chroma.persist.up")
		dp := up.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.Timestamp(100 + i)) // the healthy one is newer
		dp.SetIntValue(int64(i))
		adds := ms.AppendEmpty()
		adds.SetName("collection_add")
		sum := adds.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sdp := sum.DataPoints().AppendEmpty()
		sdp.SetIntValue(int64(10 * (i + 1)))
	}
	return md
}

// seriesByIdentity maps each resource's idKey value to its metric values.
func seriesByIdentity(t *testing.T, md pmetric.Metrics, idKey string) map[string]map[string]int64 {
	t.Helper()
	out := map[string]map[string]int64{}
	for _, rm := range md.ResourceMetrics().All() {
		id := str(t, rm.Resource().Attributes(), idKey)
		require.NotContains(t, out, id, "one resource per identity")
		out[id] = map[string]int64{}
		for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
			switch m.Type() {
			case pmetric.MetricTypeGauge:
				require.Equal(t, 1, m.Gauge().DataPoints().Len())
				out[id][m.Name()] = m.Gauge().DataPoints().At(0).IntValue()
			case pmetric.MetricTypeSum:
				require.Equal(t, 1, m.Sum().DataPoints().Len())
				out[id][m.Name()] = m.Sum().DataPoints().At(0).IntValue()
			}
		}
	}
	return out
}

func TestDeploymentsStayApart(t *testing.T) {
	for _, idKey := range []string{"service.instance.id", "host.name", "k8s.pod.name", "service.namespace", "deployment.environment.name"} {
		t.Run(idKey, func(t *testing.T) {
			ids := [2]string{"prod-eu-1", "prod-eu-2"}
			out := runMetrics(t, testConfig(t, func(c *Config) { c.HashKey = testHashKey }), twoDeployments(idKey, ids))
			assert.Equal(t, map[string]map[string]int64{
				hashOf(testHashKey, ids[0]): {"chroma.persist.up": 0, "collection_add": 10},
				hashOf(testHashKey, ids[1]): {"chroma.persist.up": 1, "collection_add": 20},
			}, seriesByIdentity(t, out, idKey), "the outage of one deployment stays visible, counters are not added")
			assert.NotContains(t, metricsJSON(t, out), "prod-eu")
		})
	}
}

func TestDeploymentsStayApartWithoutHashKey(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	set := testSettings()
	set.Logger = zap.New(core)
	f := NewFactory()
	cfg := testConfig(t, nil)
	sink := new(consumertest.MetricsSink)
	mp, err := f.CreateMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	tsink := new(consumertest.TracesSink)
	tp, err := f.CreateTraces(context.Background(), set, cfg, tsink)
	require.NoError(t, err)

	require.NoError(t, mp.ConsumeMetrics(context.Background(), twoDeployments("host.name", [2]string{"db-1", "db-2"})))
	got := seriesByIdentity(t, sink.AllMetrics()[0], "host.name")
	require.Len(t, got, 2, "a random key still keeps deployments apart")
	var metricsHash string
	for id, values := range got {
		assert.Regexp(t, `^[0-9a-f]{16}$`, id)
		if values["chroma.persist.up"] == 0 {
			metricsHash = id
		}
	}

	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("host.name", "db-1")
	require.NoError(t, tp.ConsumeTraces(context.Background(), td))
	assert.Equal(t, metricsHash, str(t, tsink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes(), "host.name"),
		"traces and metrics of one processor use the same key")

	require.Equal(t, 1, logs.Len(), "one warning per processor")
	assert.Contains(t, logs.All()[0].Message, "hash_key is not set")
	assert.NotContains(t, logs.All()[0].Message, "db-1")
}

func TestIdentityIsStableAndKeyed(t *testing.T) {
	in := twoDeployments("service.instance.id", [2]string{"prod-eu-1", "prod-eu-2"})
	run := func(key configopaque.String) string {
		md := pmetric.NewMetrics()
		in.CopyTo(md)
		out := runMetrics(t, testConfig(t, func(c *Config) { c.HashKey = key }), md)
		return str(t, out.ResourceMetrics().At(0).Resource().Attributes(), "service.instance.id")
	}
	assert.Equal(t, run(testHashKey), run(testHashKey), "same key, same identity across processors and restarts")
	assert.NotEqual(t, run(testHashKey), run(testHashKey+"-other"))
}

// Chroma copies its configured service name into the scope name of its
// spans.
func TestServiceNameAndScopeName(t *testing.T) {
	build := func(service string) ptrace.Traces {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(service)
		ss.Spans().AppendEmpty().SetName("query")
		return td
	}
	cfg := testConfig(t, func(c *Config) { c.HashKey = testHashKey })
	for _, service := range []string{"acme-payroll-prod", "Chroma", "chroma-staging", "hr"} {
		out := runTraces(t, cfg, build(service))
		rs := out.ResourceSpans().At(0)
		want := hashOf(testHashKey, service)
		assert.Equal(t, want, str(t, rs.Resource().Attributes(), "service.name"))
		assert.Equal(t, want, rs.ScopeSpans().At(0).Scope().Name())
		assert.NotContains(t, tracesJSON(t, out), `"`+service+`"`)
	}
	// The rest of a scope name that holds the service's name is a name like
	// any other: vocabulary words stay, other words are templated.
	for name, want := range map[string]string{
		"acme-payroll-prod/query":           hashOf(testHashKey, "acme-payroll-prod") + "/query",
		"frontend acme-payroll-prod ledger": "frontend " + hashOf(testHashKey, "acme-payroll-prod") + " *",
	} {
		td := build("acme-payroll-prod")
		td.ResourceSpans().At(0).ScopeSpans().At(0).Scope().SetName(name)
		out := runTraces(t, cfg, td)
		assert.Equal(t, want, out.ResourceSpans().At(0).ScopeSpans().At(0).Scope().Name())
	}
	for _, service := range serviceNameVocabulary {
		out := runTraces(t, cfg, build(service))
		rs := out.ResourceSpans().At(0)
		assert.Equal(t, service, str(t, rs.Resource().Attributes(), "service.name"), "a product name passes")
		assert.Equal(t, service, rs.ScopeSpans().At(0).Scope().Name())
	}
	customer := runTraces(t, testConfig(t, func(c *Config) { c.Policy = PolicyCustomer }), build("acme-payroll-prod"))
	assert.Equal(t, "acme-payroll-prod", customer.ResourceSpans().At(0).ScopeSpans().At(0).Scope().Name(), "the customer's own stack keeps its names")
}

// The real corpus: two configured service names, in resources and in the
// scope names of spans.
func TestCorpusServiceNamesDoNotReachTheVendor(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.HashKey = testHashKey })
	for _, run := range loadCorpus(t) {
		for _, td := range run.traces {
			out := runTraces(t, cfg, td)
			j := tracesJSON(t, out)
			assert.NotContains(t, j, "chroma-telemetry-lab")
			assert.NotContains(t, j, "chroma-env-configured")
			assert.NotContains(t, j, "chroma-")
		}
		for _, md := range run.metrics {
			j := metricsJSON(t, runMetrics(t, cfg, md))
			assert.NotContains(t, j, "chroma-")
			assert.Contains(t, j, `"name":"chroma"`, "Chroma's meter keeps its product name")
		}
	}
}

func TestIdentityRuleOverrides(t *testing.T) {
	cfg := testConfig(t, func(c *Config) {
		c.HashKey = testHashKey
		c.Keys = []KeyRule{{Key: "service.name", Action: ActionHash, Values: []string{"payroll-search"}}, {Key: "host.name", Action: ActionDrop}}
	})
	td := ptrace.NewTraces()
	attrs := td.ResourceSpans().AppendEmpty().Resource().Attributes()
	attrs.PutStr("service.name", "payroll-search")
	attrs.PutStr("host.name", "db-1")
	out := runTraces(t, cfg, td)
	assert.Equal(t, map[string]any{"service.name": "payroll-search"}, out.ResourceSpans().At(0).Resource().Attributes().AsRaw())
}

// Chroma's own telemetry names only its service; two replicas behind their
// own collectors stay apart when each names its instance.
func TestInstanceForTelemetryWithoutIdentity(t *testing.T) {
	chromaSpan := func(attrs map[string]any) ptrace.Traces {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		require.NoError(t, rs.Resource().Attributes().FromRaw(attrs))
		rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("query")
		return td
	}
	instanceOf := func(instance string, attrs map[string]any) string {
		cfg := testConfig(t, func(c *Config) {
			c.HashKey = testHashKey
			c.Instance = instance
		})
		return str(t, runTraces(t, cfg, chromaSpan(attrs)).ResourceSpans().At(0).Resource().Attributes(), "service.instance.id")
	}
	only := map[string]any{"service.name": "chroma"}
	assert.Equal(t, hashOf(testHashKey, "chroma-0"), instanceOf("chroma-0", only))
	assert.Equal(t, hashOf(testHashKey, "chroma-1"), instanceOf("chroma-1", only))
	assert.Equal(t, hashOf(testHashKey, "own-id"), instanceOf("chroma-0", map[string]any{"service.name": "chroma", "service.instance.id": "own-id"}),
		"an identity the telemetry carries wins")

	customer := runTraces(t, testConfig(t, func(c *Config) {
		c.Policy = PolicyCustomer
		c.Instance = "chroma-0"
	}), chromaSpan(only))
	assert.Equal(t, "chroma-0", str(t, customer.ResourceSpans().At(0).Resource().Attributes(), "service.instance.id"))
}
