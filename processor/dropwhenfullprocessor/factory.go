package dropwhenfullprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor/internal/metadata"
)

// NewFactory returns the factory of the dropwhenfull processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

// The data passes unchanged: only the next consumer's error is looked at.
func passTraces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error)      { return td, nil }
func passMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) { return md, nil }
func passLogs(_ context.Context, ld plog.Logs) (plog.Logs, error)                { return ld, nil }

func newReporter(set processor.Settings, cfg component.Config, signal string) (*dropReporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return newDropReporter(tb, set.Logger, cfg.(*Config).LogInterval, set.ID.String(), signal, time.Now), nil
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	r, err := newReporter(set, cfg, signalTraces)
	if err != nil {
		return nil, err
	}
	g, err := tracesGuard(next, r)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, g, passTraces,
		processorhelper.WithCapabilities(guardCapabilities), processorhelper.WithShutdown(r.shutdown))
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	r, err := newReporter(set, cfg, signalMetrics)
	if err != nil {
		return nil, err
	}
	g, err := metricsGuard(next, r)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, g, passMetrics,
		processorhelper.WithCapabilities(guardCapabilities), processorhelper.WithShutdown(r.shutdown))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	r, err := newReporter(set, cfg, signalLogs)
	if err != nil {
		return nil, err
	}
	g, err := logsGuard(next, r)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, g, passLogs,
		processorhelper.WithCapabilities(guardCapabilities), processorhelper.WithShutdown(r.shutdown))
}
