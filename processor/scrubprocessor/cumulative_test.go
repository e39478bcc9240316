package scrubprocessor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
)

// exporter feeds consecutive exports through one metrics processor.
type exporter struct {
	t    *testing.T
	p    processor.Metrics
	sink *consumertest.MetricsSink
}

func newExporter(t *testing.T, cfg *Config) *exporter {
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), testSettings(), cfg, sink)
	require.NoError(t, err)
	return &exporter{t: t, p: p, sink: sink}
}

func (x *exporter) export(md pmetric.Metrics) pmetric.Metrics {
	x.sink.Reset()
	require.NoError(x.t, x.p.ConsumeMetrics(context.Background(), md))
	require.Len(x.t, x.sink.AllMetrics(), 1)
	return x.sink.AllMetrics()[0]
}

// contribution is one series of a counter that the vendor policy merges:
// tenant is dropped.
type contribution struct {
	tenant string
	value  int64
	start  pcommon.Timestamp
}

func counterExport(ts pcommon.Timestamp, temporality pmetric.AggregationTemporality, monotonic bool, parts ...contribution) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("collection_add")
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(temporality)
	sum.SetIsMonotonic(monotonic)
	for _, c := range parts {
		dp := sum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("tenant", c.tenant)
		dp.SetStartTimestamp(c.start)
		dp.SetTimestamp(ts)
		dp.SetIntValue(c.value)
	}
	return md
}

func onlyPoint(t *testing.T, md pmetric.Metrics) pmetric.NumberDataPoint {
	t.Helper()
	require.Equal(t, 1, md.DataPointCount())
	return md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0)
}

func TestMergedCounterStaysMonotonicAcrossExports(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	cum := pmetric.AggregationTemporalityCumulative
	exports := []struct {
		name  string
		parts []contribution
		want  int64
	}{
		{"both tenants", []contribution{{"acme", 10, 1}, {"globex", 5, 1}}, 15},
		{"globex missing", []contribution{{"acme", 11, 1}}, 16},
		{"acme missing", []contribution{{"globex", 6, 1}}, 17},
		{"both again", []contribution{{"acme", 12, 1}, {"globex", 7, 1}}, 19},
		{"globex restarted", []contribution{{"acme", 13, 1}, {"globex", 1, 50}}, 21},
		{"restarted one missing", []contribution{{"acme", 14, 1}}, 22},
		{"a new tenant", []contribution{{"acme", 15, 1}, {"initech", 3, 60}}, 26},
	}
	for i, e := range exports {
		dp := onlyPoint(t, x.export(counterExport(pcommon.Timestamp(100*(i+1)), cum, true, e.parts...)))
		assert.Equal(t, e.want, dp.IntValue(), e.name)
		assert.Equal(t, pcommon.Timestamp(1), dp.StartTimestamp(), "%s: one series since the first start", e.name)
		assert.Equal(t, pcommon.Timestamp(100*(i+1)), dp.Timestamp())
	}
}

// Two processes whose only difference the vendor policy drops send their
// exports separately; each export carries the total of both.
func TestMergedCounterAcrossRequests(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	export := func(pid string, ts, v int64) int64 {
		md := counterExport(pcommon.Timestamp(ts), pmetric.AggregationTemporalityCumulative, true, contribution{"acme", v, 1})
		md.ResourceMetrics().At(0).Resource().Attributes().PutStr("process.pid", pid)
		return onlyPoint(t, x.export(md)).IntValue()
	}
	assert.Equal(t, int64(10), export("101", 100, 10))
	assert.Equal(t, int64(30), export("202", 101, 20))
	assert.Equal(t, int64(31), export("101", 200, 11))
	assert.Equal(t, int64(33), export("202", 201, 22))
}

func TestNonMonotonicCumulativeCarriesLastValue(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	cum := pmetric.AggregationTemporalityCumulative
	assert.Equal(t, int64(8), onlyPoint(t, x.export(counterExport(100, cum, false, contribution{"acme", 5, 1}, contribution{"globex", 3, 1}))).IntValue())
	assert.Equal(t, int64(5), onlyPoint(t, x.export(counterExport(200, cum, false, contribution{"acme", 2, 1}))).IntValue(),
		"an up-down counter may fall; the absent tenant counts with its last value")
}

func TestDeltaSumsAreNotCarried(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	delta := pmetric.AggregationTemporalityDelta
	assert.Equal(t, int64(15), onlyPoint(t, x.export(counterExport(100, delta, true, contribution{"acme", 10, 90}, contribution{"globex", 5, 90}))).IntValue())
	assert.Equal(t, int64(1), onlyPoint(t, x.export(counterExport(200, delta, true, contribution{"acme", 1, 190}))).IntValue())
}

// A retried or reordered export does not count as a restart.
func TestOlderPointIsIgnored(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	cum := pmetric.AggregationTemporalityCumulative
	x.export(counterExport(200, cum, true, contribution{"acme", 20, 1}, contribution{"globex", 5, 1}))
	assert.Equal(t, int64(25), onlyPoint(t, x.export(counterExport(100, cum, true, contribution{"acme", 10, 1}))).IntValue())
}

// The real per-tenant counters of Chroma, one tenant missing from the next
// export.
func TestChromaCountersDoNotDropWhenATenantIsMissing(t *testing.T) {
	first := chromaTenantCounters(t)
	second := pmetric.NewMetrics()
	first.CopyTo(second)
	for _, rm := range second.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() == pmetric.MetricTypeSum && m.Sum().DataPoints().Len() == 2 {
					m.Sum().DataPoints().RemoveIf(func(dp pmetric.NumberDataPoint) bool {
						dp.SetTimestamp(dp.Timestamp() + 60e9)
						return dp.IntValue() > 5 // the point added beside Chroma's
					})
				}
			}
		}
	}
	x := newExporter(t, testConfig(t, nil))
	before := sumsByMetric(x.export(first))
	after := sumsByMetric(x.export(second))
	require.NotEmpty(t, before)
	for name, v := range before {
		assert.GreaterOrEqual(t, after[name], v, name)
	}
}

// dropTenantAndMerge does to a counterExport what the processor does:
// scrub (here: drop tenant), merge, carry; it returns the merged value.
func dropTenantAndMerge(t *testing.T, cs *cumulativeState, md pmetric.Metrics) int64 {
	var cc cumulativeCall
	cs.before(md, &cc)
	rm := md.ResourceMetrics().At(0)
	sm := rm.ScopeMetrics().At(0)
	m := sm.Metrics().At(0)
	for _, dp := range m.Sum().DataPoints().All() {
		dp.Attributes().Remove("tenant")
	}
	cs.scrubbed(rm, sm, m, &cc)
	var mg merger
	mg.dedupPoints(m)
	cs.after(md, &cc)
	return onlyPoint(t, md).IntValue()
}

func TestCumulativeStateForgetsAfterTTL(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cs := newCumulativeState(100, time.Hour, func() time.Time { return now })
	run := func(monotonic bool, parts ...contribution) int64 {
		md := counterExport(pcommon.Timestamp(now.UnixNano()), pmetric.AggregationTemporalityCumulative, monotonic, parts...)
		return dropTenantAndMerge(t, cs, md)
	}
	assert.Equal(t, int64(15), run(true, contribution{"acme", 10, 1}, contribution{"globex", 5, 1}))
	assert.Equal(t, 2, cs.parts)
	for range 5 {
		now = now.Add(20 * time.Minute)
		run(true, contribution{"acme", 11, 1})
	}
	assert.Equal(t, 1, cs.parts, "globex is forgotten")
	assert.Equal(t, int64(16), run(true, contribution{"acme", 11, 1}), "and what it counted stays")
}

func TestCumulativeStateLimit(t *testing.T) {
	cs := newCumulativeState(2, time.Hour, time.Now)
	for _, want := range []int64{6, 6} {
		md := counterExport(100, pmetric.AggregationTemporalityCumulative, true, contribution{"a", 1, 1}, contribution{"b", 2, 1}, contribution{"c", 3, 1})
		assert.Equal(t, want, dropTenantAndMerge(t, cs, md), "a contributor beyond the limit counts in its own export")
		assert.Equal(t, 2, cs.parts)
	}
}

// Exports of several processes arrive concurrently (-race); the total
// accounts for each process's latest value.
func TestMergedCounterConcurrentExports(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	const procs, exports = 4, 50
	var wg sync.WaitGroup
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= exports; i++ {
				md := counterExport(pcommon.Timestamp(i), pmetric.AggregationTemporalityCumulative, true, contribution{"acme", int64(i), 1})
				md.ResourceMetrics().At(0).Resource().Attributes().PutInt("process.pid", int64(p))
				require.NoError(t, x.p.ConsumeMetrics(context.Background(), md))
			}
		}()
	}
	wg.Wait()
	md := counterExport(exports, pmetric.AggregationTemporalityCumulative, true, contribution{"acme", exports, 1})
	md.ResourceMetrics().At(0).Resource().Attributes().PutInt("process.pid", 0)
	assert.Equal(t, int64(procs*exports), onlyPoint(t, x.export(md)).IntValue())
}

func histogramExport(ts pcommon.Timestamp, bounds []float64, parts map[string][]uint64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("query_latency")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for tenant, counts := range parts {
		dp := h.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("tenant", tenant)
		dp.SetStartTimestamp(1)
		dp.SetTimestamp(ts)
		dp.ExplicitBounds().FromRaw(bounds)
		dp.BucketCounts().FromRaw(counts)
		var n uint64
		for _, c := range counts {
			n += c
		}
		dp.SetCount(n)
		dp.SetSum(float64(10 * n))
	}
	return md
}

func TestMergedHistogramStaysMonotonicAcrossExports(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	bounds := []float64{10, 100}
	out := x.export(histogramExport(100, bounds, map[string][]uint64{"acme": {1, 2, 3}, "globex": {4, 0, 1}}))
	dp := out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0)
	assert.Equal(t, []uint64{5, 2, 4}, dp.BucketCounts().AsRaw())

	out = x.export(histogramExport(200, bounds, map[string][]uint64{"acme": {2, 2, 3}}))
	dp = out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0)
	assert.Equal(t, []uint64{6, 2, 4}, dp.BucketCounts().AsRaw(), "globex counts with its last buckets")
	assert.Equal(t, uint64(12), dp.Count())
	assert.InDelta(t, 120.0, dp.Sum(), 1e-9)
	assert.Equal(t, pcommon.Timestamp(1), dp.StartTimestamp())

	out = x.export(histogramExport(300, []float64{5}, map[string][]uint64{"acme": {1, 1}}))
	dp = out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0)
	assert.Equal(t, []uint64{1, 1}, dp.BucketCounts().AsRaw(), "other bounds are another series")
}

func TestMergedSummaryStaysMonotonicAcrossExports(t *testing.T) {
	x := newExporter(t, testConfig(t, nil))
	export := func(ts pcommon.Timestamp, counts map[string]uint64) pmetric.SummaryDataPoint {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("sizes")
		dps := m.SetEmptySummary().DataPoints()
		for tenant, n := range counts {
			dp := dps.AppendEmpty()
			dp.Attributes().PutStr("tenant", tenant)
			dp.SetTimestamp(ts)
			dp.SetCount(n)
			dp.SetSum(float64(n))
		}
		return x.export(md).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Summary().DataPoints().At(0)
	}
	assert.Equal(t, uint64(7), export(100, map[string]uint64{"acme": 3, "globex": 4}).Count())
	dp := export(200, map[string]uint64{"acme": 5})
	assert.Equal(t, uint64(9), dp.Count())
	assert.InDelta(t, 9.0, dp.Sum(), 1e-9)
}
