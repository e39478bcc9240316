package dropwhenfullprocessor

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/multierr"

	"github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor/internal/metadatatest"
)

var errFull = exporterhelper.ErrQueueIsFull

// queueFullErrors are the shapes in which a full queue reaches the processor.
var queueFullErrors = map[string]error{
	"as is":                errFull,
	"wrapped":              fmt.Errorf("export: %w", errFull),
	"permanent":            consumererror.NewPermanent(errFull),
	"joined":               errors.Join(errFull, fmt.Errorf("second exporter: %w", errFull)),
	"fan-out (multierr)":   multierr.Combine(errFull, errFull),
	"wrapped join":         fmt.Errorf("pipeline: %w", errors.Join(errFull, errFull)),
	"two verbs, both full": fmt.Errorf("%w and %w", errFull, errFull),
}

// otherErrors must reach the sender unchanged: it retries them.
var otherErrors = map[string]error{
	"another error":           errors.New("connection refused"),
	"wrapped other":           fmt.Errorf("export: %w", errors.New("connection refused")),
	"joined with a full one":  errors.Join(errFull, errors.New("connection refused")),
	"fan-out with a full one": multierr.Combine(errors.New("connection refused"), errFull),
	"wrapped mixed join":      fmt.Errorf("pipeline: %w", errors.Join(errFull, errors.New("memory limit"))),
	"empty join":              &emptyJoin{},
}

type emptyJoin struct{}

func (*emptyJoin) Error() string   { return "no errors" }
func (*emptyJoin) Unwrap() []error { return nil }

// data is one request of each signal with a known number of items.
type data struct {
	traces  ptrace.Traces   // 3 spans
	metrics pmetric.Metrics // 2 data points
	logs    plog.Logs       // 4 log records
}

func newData() data {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range 3 {
		spans.AppendEmpty().SetName("s")
	}
	md := pmetric.NewMetrics()
	dps := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints()
	dps.AppendEmpty().SetIntValue(1)
	dps.AppendEmpty().SetIntValue(2)
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 4 {
		recs.AppendEmpty().Body().SetStr("l")
	}
	return data{td, md, ld}
}

// consumeAll sends one request of each signal through processors whose next
// consumer fails with err, and returns the three errors they return.
func consumeAll(t *testing.T, tel *componenttest.Telemetry, err error) (traces, metrics, logs error) {
	t.Helper()
	ctx, next, cfg, f := context.Background(), consumertest.NewErr(err), createDefaultConfig(), NewFactory()
	set := metadatatest.NewSettings(tel)
	tp, e := f.CreateTraces(ctx, set, cfg, next)
	require.NoError(t, e)
	mp, e := f.CreateMetrics(ctx, set, cfg, next)
	require.NoError(t, e)
	lp, e := f.CreateLogs(ctx, set, cfg, next)
	require.NoError(t, e)
	d := newData()
	traces, metrics, logs = tp.ConsumeTraces(ctx, d.traces), mp.ConsumeMetrics(ctx, d.metrics), lp.ConsumeLogs(ctx, d.logs)
	for _, c := range []interface{ Shutdown(context.Context) error }{tp, mp, lp} {
		require.NoError(t, c.Shutdown(ctx))
	}
	return traces, metrics, logs
}

func droppedPoints(traces, metrics, logs int64) []metricdata.DataPoint[int64] {
	point := func(signal string, n int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(
			attribute.String("processor", "dropwhenfull"), attribute.String("signal", signal))}
	}
	return []metricdata.DataPoint[int64]{point("traces", traces), point("metrics", metrics), point("logs", logs)}
}

func TestQueueFullBecomesACountedDrop(t *testing.T) {
	for name, err := range queueFullErrors {
		t.Run(name, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
			te, me, le := consumeAll(t, tel, err)
			require.NoError(t, te)
			require.NoError(t, me)
			require.NoError(t, le)
			metadatatest.AssertEqualProcessorDropwhenfullDroppedItems(t, tel, droppedPoints(3, 2, 4),
				metricdatatest.IgnoreTimestamp())
		})
	}
}

func TestOtherErrorsPassUnchanged(t *testing.T) {
	for name, err := range otherErrors {
		t.Run(name, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
			te, me, le := consumeAll(t, tel, err)
			for _, got := range []error{te, me, le} {
				assert.Same(t, any(err), any(got), "the error must pass as it is")
			}
			_, missing := tel.GetMetric("otelcol_processor_dropwhenfull_dropped_items")
			assert.Error(t, missing, "nothing dropped, nothing counted")
		})
	}
}

func TestSuccessPasses(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	te, me, le := consumeAll(t, tel, nil)
	require.NoError(t, errors.Join(te, me, le))
	_, missing := tel.GetMetric("otelcol_processor_dropwhenfull_dropped_items")
	assert.Error(t, missing)
}

func TestDataReachesTheNextConsumerUnchanged(t *testing.T) {
	ctx, sink := context.Background(), new(consumertest.TracesSink)
	tp, err := NewFactory().CreateTraces(ctx, metadatatest.NewSettings(componenttest.NewTelemetry()), createDefaultConfig(), sink)
	require.NoError(t, err)
	d := newData()
	require.NoError(t, tp.ConsumeTraces(ctx, d.traces))
	require.Len(t, sink.AllTraces(), 1)
	assert.Equal(t, 3, sink.SpanCount())
	assert.False(t, tp.Capabilities().MutatesData)
}

// fakeClock is the reporter's clock in tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }
