package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter/internal/metadata"
)

// Defaults.
const (
	defaultEvaluationInterval = 15 * time.Second
	defaultWindow             = time.Hour
	defaultMaxSeries          = 10000
	defaultResendDelay        = time.Minute
	defaultQueueCapacity      = 10000
)

// NewFactory returns the factory of the alertrules exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		EvaluationInterval: defaultEvaluationInterval,
		Window:             defaultWindow,
		MaxSeries:          defaultMaxSeries,
		ResendDelay:        defaultResendDelay,
		QueueCapacity:      defaultQueueCapacity,
	}
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("alertrules: unexpected config type %T", cfg)
	}
	e, err := newAlertRulesExporter(c, set)
	if err != nil {
		return nil, err
	}
	// No queue and no retry in front: ConsumeMetrics only appends to memory
	// and returns, so the pipeline is never held up by an Alertmanager.
	return exporterhelper.NewMetrics(ctx, set, cfg, e.consumeMetrics,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	)
}
