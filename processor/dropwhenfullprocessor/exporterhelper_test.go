package dropwhenfullprocessor

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor/internal/metadatatest"
)

// TestRealExporterQueueFull puts the processor in front of a real
// exporterhelper exporter whose queue holds 2 requests and whose destination
// hangs: every request is accepted, and what the exporter never got is
// exactly what the processor counts as dropped.
func TestRealExporterQueueFull(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	var pushed atomic.Int64
	push := func(_ context.Context, td ptrace.Traces) error {
		<-release
		pushed.Add(int64(td.SpanCount()))
		return nil
	}
	qcfg := exporterhelper.NewDefaultQueueConfig()
	qcfg.QueueSize, qcfg.NumConsumers = 2, 1
	exp, err := exporterhelper.NewTraces(ctx, exportertest.NewNopSettings(component.MustNewType("fake")), struct{}{}, push,
		exporterhelper.WithQueue(configoptional.Some(qcfg)))
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))

	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(ctx)) }()
	proc, err := NewFactory().CreateTraces(ctx, metadatatest.NewSettings(tel), createDefaultConfig(), exp)
	require.NoError(t, err)
	const requests, spans = 10, 3
	for range requests {
		require.NoError(t, proc.ConsumeTraces(ctx, newData().traces), "a full queue is not the sender's problem")
	}
	close(release)
	require.NoError(t, exp.Shutdown(ctx)) // drains the queue
	require.NoError(t, proc.Shutdown(ctx))

	dropped := requests*spans - pushed.Load()
	require.Positive(t, dropped, "10 requests into a queue of 2 with the destination hanging: some must be dropped")
	metadatatest.AssertEqualProcessorDropwhenfullDroppedItems(t, tel, droppedPoints(dropped, 0, 0)[:1],
		metricdatatest.IgnoreTimestamp())
}
