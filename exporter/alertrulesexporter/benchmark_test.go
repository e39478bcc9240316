package alertrulesexporter

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter/internal/metadatatest"
)

// benchSamples is 30 minutes of history at a 15 s scrape interval.
const (
	benchSamples = 120
	benchStep    = 15 * time.Second
)

// benchMetrics is one batch at time at: series/2 deployments, each with a
// gauge counted in bytes and one in attempts (series series in all).
func benchMetrics(series int, at time.Time, step int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for i := range series / 2 {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "otelcol-chroma")
		rm.Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("i%05d", i))
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		for _, g := range []struct {
			name, unit string
			value      float64
		}{
			{"chroma.persist.volume.available", "By", float64(1e9 - step*1e5)},
			{"chroma.backup.consecutive_failures", "{attempt}", float64(i % 5)},
		} {
			m := ms.AppendEmpty()
			m.SetName(g.name)
			m.SetUnit(g.unit)
			dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetDoubleValue(g.value)
			dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
		}
	}
	return md
}

// benchExporter is a started exporter whose own evaluation loop stays idle,
// with its window filled with series series of 30 minutes each.
func benchExporter(b *testing.B, series int) (*alertRulesExporter, time.Time) {
	b.Helper()
	cfg := testConfig(newFakeAlertmanager(b))
	cfg.RuleFiles = []string{"testdata/bench-rules.yaml"}
	cfg.EvaluationInterval = time.Hour
	cfg.Window = 2 * time.Hour
	cfg.MaxSeries = series
	cfg.Directory = b.TempDir()
	e, err := newAlertRulesExporter(cfg, metadatatest.NewSettings(componenttest.NewTelemetry()))
	require.NoError(b, err)
	require.NoError(b, e.start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, e.shutdown(context.Background())) })
	now := time.Now()
	start := now.Add(-benchSamples * benchStep)
	for s := range benchSamples {
		require.NoError(b, e.consumeMetrics(context.Background(), benchMetrics(series, start.Add(time.Duration(s)*benchStep), s)))
	}
	return e, now
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkEvaluate is one evaluation cycle of bench-rules.yaml (a
// recording rule, aggregation, predict_linear over 30m, absent) over the
// window; window-MiB is the heap the filled window takes.
func BenchmarkEvaluate(b *testing.B) {
	for _, series := range []int{100, 10000} {
		b.Run(fmt.Sprintf("series=%d", series), func(b *testing.B) {
			before := heapInUse()
			e, now := benchExporter(b, series)
			window := float64(heapInUse()-min(before, heapInUse())) / (1 << 20)
			groups, errs := e.rules.LoadGroups(time.Minute, labels.EmptyLabels(), "", nil, false, "testdata/bench-rules.yaml")
			require.Empty(b, errs)
			ctx := context.Background()
			at := now
			for b.Loop() {
				at = at.Add(time.Millisecond)
				for _, g := range groups {
					g.Eval(ctx, at)
				}
			}
			// Reported after the loop: b.Loop's first call resets reported metrics.
			b.ReportMetric(window, "window-MiB")
			for _, g := range groups {
				for _, r := range g.Rules() {
					require.NoError(b, r.LastError(), r.Name())
				}
			}
		})
	}
}

// BenchmarkConsume is one batch (one sample of every series) into the
// window: what ConsumeMetrics costs the pipeline.
func BenchmarkConsume(b *testing.B) {
	for _, series := range []int{100, 10000} {
		b.Run(fmt.Sprintf("series=%d", series), func(b *testing.B) {
			e, now := benchExporter(b, series)
			ctx := context.Background()
			step := 0
			for b.Loop() {
				step++
				md := benchMetrics(series, now.Add(time.Duration(step)*time.Millisecond), step)
				if err := e.consumeMetrics(ctx, md); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
