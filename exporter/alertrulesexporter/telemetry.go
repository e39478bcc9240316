package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"context"
	"errors"
	"math"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter/internal/metadata"
)

// The counters that Prometheus' rule manager and notifier keep in their own
// registry, reported as the exporter's telemetry.
const (
	promRuleEvaluations        = "prometheus_rule_evaluations_total"
	promRuleEvaluationFailures = "prometheus_rule_evaluation_failures_total"
	promNotificationsSent      = "prometheus_notifications_sent_total"
	promNotificationErrors     = "prometheus_notifications_errors_total"
	promNotificationsDropped   = "prometheus_notifications_dropped_total"
)

// registerTelemetry reports Prometheus' counters and the window's series
// through the collector's telemetry.
func registerTelemetry(tb *metadata.TelemetryBuilder, reg prometheus.Gatherer, w *window) error {
	counter := func(name string) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(counterSum(reg, name))
			return nil
		}
	}
	return errors.Join(
		tb.RegisterExporterAlertrulesRuleEvaluationsCallback(counter(promRuleEvaluations)),
		tb.RegisterExporterAlertrulesRuleEvaluationFailuresCallback(counter(promRuleEvaluationFailures)),
		tb.RegisterExporterAlertrulesAlertsSentCallback(counter(promNotificationsSent)),
		tb.RegisterExporterAlertrulesAlertSendFailuresCallback(counter(promNotificationErrors)),
		tb.RegisterExporterAlertrulesAlertsDroppedCallback(counter(promNotificationsDropped)),
		tb.RegisterExporterAlertrulesSeriesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(min(w.numSeries(), math.MaxInt64)))
			return nil
		}),
	)
}

// counterSum adds up every series of the counter family name.
func counterSum(reg prometheus.Gatherer, name string) int64 {
	families, _ := reg.Gather() // a partial gather still reports what it has
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return int64(sum)
}
