package alertrulesexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter/internal/metadatatest"
)

// newTestExporter starts an exporter and returns it with its telemetry and
// log, to look at the window inside.
func newTestExporter(t *testing.T, mutate func(*Config)) (*alertRulesExporter, *componenttest.Telemetry, *observer.ObservedLogs) {
	t.Helper()
	cfg := testConfig(newFakeAlertmanager(t))
	mutate(cfg)
	return newTestExporterWith(t, cfg)
}

func newTestExporterWith(t *testing.T, cfg *Config) (*alertRulesExporter, *componenttest.Telemetry, *observer.ObservedLogs) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	core, logs := observer.New(zap.InfoLevel)
	set := metadatatest.NewSettings(tt)
	set.Logger = zap.New(core)
	e, err := newAlertRulesExporter(cfg, set)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, e.shutdown(context.Background())) })
	return e, tt, logs
}

func assertDropped(t *testing.T, tt *componenttest.Telemetry, reason string, n int64) {
	t.Helper()
	metadatatest.AssertEqualExporterAlertrulesDroppedSamples(t, tt,
		[]metricdata.DataPoint[int64]{{Value: n, Attributes: attribute.NewSet(attribute.String("reason", reason))}},
		metricdatatest.IgnoreTimestamp())
}

// Beyond max_series, new series are dropped with a metric and a log line;
// once old series leave the window, new ones fit again.
func TestSeriesLimit(t *testing.T) {
	e, tt, logs := newTestExporter(t, func(c *Config) { c.MaxSeries = 2 })
	ctx := context.Background()
	now := time.Now()
	for _, instance := range []string{"a", "b", "c"} {
		require.NoError(t, e.consumeMetrics(ctx, failures(instance, 1, now)))
	}
	assert.Equal(t, 2, e.window.receivedSeries())
	assertDropped(t, tt, "series_limit", 1)
	require.Equal(t, 1, logs.FilterMessage("alertrules: dropped samples; rules do not see them").Len())
	entry := logs.FilterMessage("alertrules: dropped samples; rules do not see them").All()[0]
	assert.Equal(t, int64(1), entry.ContextMap()["series_limit"])
	assert.Equal(t, int64(2), entry.ContextMap()["max_series"])

	// A series already held keeps receiving samples.
	require.NoError(t, e.consumeMetrics(ctx, failures("a", 2, now.Add(time.Second))))
	assertDropped(t, tt, "series_limit", 1)

	require.NoError(t, e.window.truncate(now.Add(e.cfg.Window+time.Minute)))
	assert.Zero(t, e.window.receivedSeries(), "series with no sample in the window are forgotten")
	require.NoError(t, e.consumeMetrics(ctx, failures("c", 1, now.Add(e.cfg.Window+2*time.Minute))))
	assert.Equal(t, 1, e.window.receivedSeries())
	assertDropped(t, tt, "series_limit", 1)
}

// Samples older than the window are dropped and counted, not stored.
func TestSamplesOlderThanTheWindow(t *testing.T) {
	e, tt, _ := newTestExporter(t, func(*Config) {})
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, e.consumeMetrics(ctx, failures("a", 1, now)))
	require.NoError(t, e.window.truncate(now))
	require.NoError(t, e.consumeMetrics(ctx, failures("b", 1, now.Add(-2*e.cfg.Window))))
	assertDropped(t, tt, "out_of_window", 1)
	assert.Equal(t, 1, e.window.receivedSeries())
}

// Truncation frees the head's memory: no series is left once everything is
// older than the window.
func TestTruncateFreesSeries(t *testing.T) {
	e, _, _ := newTestExporter(t, func(c *Config) { c.RuleFiles = []string{"testdata/no-rules.yaml"} })
	ctx := context.Background()
	now := time.Now()
	for _, instance := range []string{"a", "b", "c"} {
		require.NoError(t, e.consumeMetrics(ctx, failures(instance, 1, now)))
	}
	require.Equal(t, uint64(3), e.window.numSeries())
	require.NoError(t, e.window.truncate(now.Add(e.cfg.Window+time.Minute)))
	assert.Zero(t, e.window.numSeries())
}

// Exponential histograms become native histograms in the window, as remote
// write sends them to a Prometheus with native histograms on.
func TestExponentialHistogram(t *testing.T) {
	e, tt, _ := newTestExporter(t, func(*Config) {})
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "chroma")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("chroma.query.duration")
	m.SetUnit("s")
	h := m.SetEmptyExponentialHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := h.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetScale(2)
	dp.SetCount(3)
	dp.SetSum(1.5)
	dp.Positive().SetOffset(-4)
	dp.Positive().BucketCounts().FromRaw([]uint64{1, 2})
	require.NoError(t, e.consumeMetrics(context.Background(), md))

	q, err := e.window.Querier(0, time.Now().Add(time.Minute).UnixMilli())
	require.NoError(t, err)
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "chroma_query_duration_seconds"))
	require.True(t, set.Next(), "the histogram is in the window under its remote-write name")
	it := set.At().Iterator(nil)
	require.Equal(t, chunkenc.ValHistogram, it.Next())
	_, hist := it.AtHistogram(nil)
	assert.Equal(t, uint64(3), hist.Count)
	_, err = tt.GetMetric("otelcol_exporter_alertrules_dropped_samples")
	assert.Error(t, err, "nothing was dropped")
}

// Drops are counted at once but logged at most once a minute, with the
// totals since the previous line.
func TestDropLogIsSpaced(t *testing.T) {
	e, tt, logs := newTestExporter(t, func(c *Config) { c.MaxSeries = 1 })
	clock := time.Now()
	e.drops.now = func() time.Time { return clock }
	ctx := context.Background()
	require.NoError(t, e.consumeMetrics(ctx, failures("held", 1, time.Now())))
	for i := range 3 {
		clock = clock.Add(time.Second)
		require.NoError(t, e.consumeMetrics(ctx, failures(fmt.Sprintf("new%d", i), 1, time.Now())))
	}
	assertDropped(t, tt, "series_limit", 3)
	const msg = "alertrules: dropped samples; rules do not see them"
	require.Equal(t, 1, logs.FilterMessage(msg).Len(), "one line for three batches within a minute")

	clock = clock.Add(dropLogInterval)
	require.NoError(t, e.consumeMetrics(ctx, failures("new3", 1, time.Now())))
	lines := logs.FilterMessage(msg).All()
	require.Len(t, lines, 2)
	assert.Equal(t, int64(3), lines[1].ContextMap()["series_limit"], "the two unlogged drops and this one")
}
