package scrubprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/metadatatest"
)

// chromaTenantCounters takes Chroma's real per-tenant counters from the
// corpus and gives each a second series, as a server with two tenants and
// two collections would send: another tenant on every counter labelled by
// tenant only, another collection of the same tenant on every counter
// labelled by collection too.
func chromaTenantCounters(t *testing.T) pmetric.Metrics {
	runs := loadCorpus(t)
	md := pmetric.NewMetrics()
	runs[0].metrics[0].CopyTo(md)
	otherCollection := "2f410304-531e-4ee6-a80e-894646ebc9f7" // from run2
	added := 0
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() != pmetric.MetricTypeSum || m.Sum().DataPoints().Len() != 1 {
					continue
				}
				orig := m.Sum().DataPoints().At(0)
				tenant, ok := orig.Attributes().Get("tenant")
				if !ok {
					continue
				}
				dp := m.Sum().DataPoints().AppendEmpty()
				orig.CopyTo(dp)
				dp.SetIntValue(orig.IntValue() + 5)
				if _, hasColl := orig.Attributes().Get("collection_id"); hasColl {
					dp.Attributes().PutStr("collection_id", otherCollection)
				} else if tenant.Str() == "default_tenant" {
					dp.Attributes().PutStr("tenant", "canary_tenant_acme_corp")
				} else {
					dp.Attributes().PutStr("tenant", "default_tenant")
				}
				added++
			}
		}
	}
	require.Greater(t, added, 10, "the corpus has Chroma's per-tenant counters")
	return md
}

// sumsByMetric adds up every sum data point per metric name.
func sumsByMetric(md pmetric.Metrics) map[string]int64 {
	out := map[string]int64{}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() == pmetric.MetricTypeSum {
					for _, dp := range m.Sum().DataPoints().All() {
						out[m.Name()] += dp.IntValue()
					}
				}
			}
		}
	}
	return out
}

// assertUniqueSeries fails when a metric carries two points with the same
// attributes.
func assertUniqueSeries(t *testing.T, md pmetric.Metrics) {
	t.Helper()
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() != pmetric.MetricTypeSum {
					continue
				}
				seen := map[string]bool{}
				for _, dp := range m.Sum().DataPoints().All() {
					sig := string(appendMapSig(nil, dp.Attributes()))
					assert.False(t, seen[sig], "%s has duplicate series %v", m.Name(), dp.Attributes().AsRaw())
					seen[sig] = true
				}
			}
		}
	}
}

func TestMergeChromaTenantCounters(t *testing.T) {
	in := chromaTenantCounters(t)
	want := sumsByMetric(in)

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), metadatatest.NewSettings(tel), testConfig(t, nil), sink)
	require.NoError(t, err)
	work := pmetric.NewMetrics()
	in.CopyTo(work)
	require.NoError(t, p.ConsumeMetrics(context.Background(), work))
	out := sink.AllMetrics()[0]

	assert.Equal(t, want, sumsByMetric(out), "merging keeps every count")
	assertUniqueSeries(t, out)
	merged := in.DataPointCount() - out.DataPointCount()
	assert.Positive(t, merged)
	for _, rm := range out.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() == pmetric.MetricTypeSum {
					assert.Equal(t, 1, m.Sum().DataPoints().Len(), "%s: both tenants fold into one series", m.Name())
				}
			}
		}
	}
	metadatatest.AssertEqualProcessorScrubMergedDatapoints(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("signal", "metrics")),
		Value:      int64(merged),
	}}, metricdatatest.IgnoreTimestamp())
	assert.NotContains(t, metricsJSON(t, out), "canary")
	assert.NotContains(t, metricsJSON(t, out), "default_tenant")

	// Hashing the tenant keeps tenants apart while collections merge.
	hashed := runMetrics(t, testConfig(t, func(c *Config) {
		c.HashKey = testHashKey
		c.Keys = []KeyRule{{Key: "tenant", Action: ActionHash}}
	}), in)
	assert.Equal(t, want, sumsByMetric(hashed))
	assertUniqueSeries(t, hashed)
	for _, rm := range hashed.ResourceMetrics().All() {
		for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
			if m.Name() == "create_database" {
				require.Equal(t, 2, m.Sum().DataPoints().Len(), "two tenants stay two series")
			}
			if m.Name() == "collection_add" {
				require.Equal(t, 1, m.Sum().DataPoints().Len(), "two collections of one tenant merge")
				assert.Regexp(t, `^[0-9a-f]{16}$`, str(t, m.Sum().DataPoints().At(0).Attributes(), "tenant"))
			}
		}
	}
}

func TestMergeHistogram(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("get_latency")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	add := func(tenant string, start, ts int, counts []uint64, sum, lo, hi float64) {
		dp := h.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("tenant", tenant)
		dp.SetStartTimestamp(pcommon.Timestamp(start))
		dp.SetTimestamp(pcommon.Timestamp(ts))
		dp.ExplicitBounds().FromRaw([]float64{0, 5, 10, 25})
		dp.BucketCounts().FromRaw(counts)
		var n uint64
		for _, c := range counts {
			n += c
		}
		dp.SetCount(n)
		dp.SetSum(sum)
		dp.SetMin(lo)
		dp.SetMax(hi)
	}
	add("default_tenant", 100, 200, []uint64{1, 4, 9, 4, 0}, 146, 0, 23)
	add("canary_tenant_acme_corp", 50, 300, []uint64{0, 0, 0, 1, 2}, 123, 23, 50)
	out := runMetrics(t, testConfig(t, nil), md)
	dps := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints()
	require.Equal(t, 1, dps.Len())
	dp := dps.At(0)
	assert.Equal(t, []uint64{1, 4, 9, 5, 2}, dp.BucketCounts().AsRaw())
	assert.Equal(t, uint64(21), dp.Count())
	assert.InDelta(t, 269.0, dp.Sum(), 1e-9)
	assert.InDelta(t, 0.0, dp.Min(), 1e-9)
	assert.InDelta(t, 50.0, dp.Max(), 1e-9)
	assert.Equal(t, pcommon.Timestamp(50), dp.StartTimestamp())
	assert.Equal(t, pcommon.Timestamp(300), dp.Timestamp())
	assert.Empty(t, dp.Attributes().AsRaw())
}

func TestMergeExponentialHistogram(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("latency")
	eh := m.SetEmptyExponentialHistogram()
	a := eh.DataPoints().AppendEmpty()
	a.Attributes().PutStr("tenant", "a")
	a.SetScale(1)
	a.Positive().SetOffset(-1)
	a.Positive().BucketCounts().FromRaw([]uint64{1, 2, 3, 4}) // indices -1..2
	a.SetZeroCount(1)
	a.SetCount(11)
	a.SetSum(10)
	b := eh.DataPoints().AppendEmpty()
	b.Attributes().PutStr("tenant", "b")
	b.SetScale(0)
	b.Positive().SetOffset(1)
	b.Positive().BucketCounts().FromRaw([]uint64{5})
	b.Negative().SetOffset(0)
	b.Negative().BucketCounts().FromRaw([]uint64{2})
	b.SetCount(7)
	b.SetSum(3)

	out := runMetrics(t, testConfig(t, nil), md)
	dps := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).ExponentialHistogram().DataPoints()
	require.Equal(t, 1, dps.Len())
	dp := dps.At(0)
	assert.Equal(t, int32(0), dp.Scale())
	// At scale 0, scale-1 indices -1,0,1,2 fall into -1,0,0,1.
	assert.Equal(t, int32(-1), dp.Positive().Offset())
	assert.Equal(t, []uint64{1, 5, 4 + 5}, dp.Positive().BucketCounts().AsRaw())
	assert.Equal(t, int32(0), dp.Negative().Offset())
	assert.Equal(t, []uint64{2}, dp.Negative().BucketCounts().AsRaw())
	assert.Equal(t, uint64(18), dp.Count())
	assert.Equal(t, uint64(1), dp.ZeroCount())
	assert.InDelta(t, 13.0, dp.Sum(), 1e-9)
}

func TestMergeGaugeSummaryAndResources(t *testing.T) {
	md := pmetric.NewMetrics()
	for i, path := range []string{"/opt/acme/chroma-1", "/opt/acme/chroma-2"} {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "chroma")
		rm.Resource().Attributes().PutStr("process.executable.path", path)
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		g := ms.AppendEmpty()
		g.SetName("queue_depth")
		gdp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		gdp.SetTimestamp(pcommon.Timestamp(100 + i))
		gdp.SetIntValue(int64(10 + i))
		s := ms.AppendEmpty()
		s.SetName("requests")
		sdp := s.SetEmptySum().DataPoints().AppendEmpty()
		sdp.SetIntValue(int64(3 + i))
		q := ms.AppendEmpty()
		q.SetName("sizes")
		qdp := q.SetEmptySummary().DataPoints().AppendEmpty()
		qdp.SetTimestamp(pcommon.Timestamp(100 + i))
		qdp.SetCount(uint64(2 + i))
		qdp.SetSum(float64(20 + i))
		qv := qdp.QuantileValues().AppendEmpty()
		qv.SetQuantile(0.5)
		qv.SetValue(float64(7 + i))
	}
	out := runMetrics(t, testConfig(t, nil), md)
	require.Equal(t, 1, out.ResourceMetrics().Len(), "resources that differed by a dropped attribute only merge")
	ms := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	require.Equal(t, 3, ms.Len(), "and so do their metrics")
	byName := map[string]pmetric.Metric{}
	for _, m := range ms.All() {
		byName[m.Name()] = m
	}
	assert.Equal(t, int64(11), byName["queue_depth"].Gauge().DataPoints().At(0).IntValue(), "gauges keep the latest")
	assert.Equal(t, int64(7), byName["requests"].Sum().DataPoints().At(0).IntValue(), "sums add")
	sdp := byName["sizes"].Summary().DataPoints().At(0)
	assert.Equal(t, uint64(5), sdp.Count())
	assert.InDelta(t, 41.0, sdp.Sum(), 1e-9)
	assert.InDelta(t, 8.0, sdp.QuantileValues().At(0).Value(), 1e-9, "quantiles of the latest point")
	assert.Equal(t, 3, out.DataPointCount())
}

func TestMergeMetricsWhoseNamesBecameEqual(t *testing.T) {
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	for i, user := range []string{"jdoe@acme.com", "bob@acme.com"} {
		m := ms.AppendEmpty()
		m.SetName("logins/" + user)
		dp := m.SetEmptySum().DataPoints().AppendEmpty()
		dp.SetDoubleValue(1.5 + float64(i))
	}
	out := runMetrics(t, testConfig(t, nil), md)
	oms := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	require.Equal(t, 1, oms.Len())
	assert.Equal(t, "logins/*", oms.At(0).Name())
	assert.InDelta(t, 4.0, oms.At(0).Sum().DataPoints().At(0).DoubleValue(), 1e-9)
}

func TestMergeSkipsPointsWithoutValue(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	m.SetEmptySum()
	for i, tenant := range []string{"a", "b", "c"} {
		dp := m.Sum().DataPoints().AppendEmpty()
		dp.Attributes().PutStr("tenant", tenant)
		dp.SetIntValue(int64(i + 1))
		if tenant == "b" {
			dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
		}
	}
	out := runMetrics(t, testConfig(t, nil), md)
	dps := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	require.Equal(t, 1, dps.Len())
	assert.Equal(t, int64(4), dps.At(0).IntValue())
	assert.False(t, dps.At(0).Flags().NoRecordedValue())
}

// Many series exercise the hashed grouping.
func TestMergeManySeries(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("collection_add")
	dps := m.SetEmptySum().DataPoints()
	var want int64
	for i := 0; i < 200; i++ {
		dp := dps.AppendEmpty()
		dp.Attributes().PutStr("tenant", "t"+string(rune('a'+i%26)))
		dp.Attributes().PutStr("http.route", []string{"/add", "/upsert", "/get"}[i%3])
		dp.SetIntValue(int64(i))
		want += int64(i)
	}
	out := runMetrics(t, testConfig(t, nil), md)
	odps := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	require.Equal(t, 3, odps.Len(), "one series per route")
	var got int64
	for _, dp := range odps.All() {
		got += dp.IntValue()
	}
	assert.Equal(t, want, got)
}
