package dropwhenfullprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor/internal/metadatatest"
)

// The cost in front of an exporter whose queue is full: one error check and
// a counter increment per request (the log line is rate-limited).

func BenchmarkTracesQueueFull(b *testing.B) {
	ctx := context.Background()
	p, err := NewFactory().CreateTraces(ctx, metadatatest.NewSettings(componenttest.NewTelemetry()), createDefaultConfig(), consumertest.NewErr(errFull))
	if err != nil {
		b.Fatal(err)
	}
	td := newData().traces
	for b.Loop() {
		if err := p.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMetricsQueueFull(b *testing.B) {
	ctx := context.Background()
	p, err := NewFactory().CreateMetrics(ctx, metadatatest.NewSettings(componenttest.NewTelemetry()), createDefaultConfig(), consumertest.NewErr(errFull))
	if err != nil {
		b.Fatal(err)
	}
	md := newData().metrics
	for b.Loop() {
		if err := p.ConsumeMetrics(ctx, md); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogsQueueFull(b *testing.B) {
	ctx := context.Background()
	p, err := NewFactory().CreateLogs(ctx, metadatatest.NewSettings(componenttest.NewTelemetry()), createDefaultConfig(), consumertest.NewErr(errFull))
	if err != nil {
		b.Fatal(err)
	}
	ld := newData().logs
	for b.Loop() {
		if err := p.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	}
}
