package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter/internal/metadata"
	"github.com/otelcol-chroma/otelcol-chroma/internal/logthrottle"
)

// dropLogInterval spaces the log lines about dropped samples: a pipeline
// over the limit drops in every batch, and one line a minute (with the
// totals since the previous line) says as much as one line per batch.
const dropLogInterval = time.Minute

// dropReporter counts dropped samples in the telemetry at once and logs
// them at most once per dropLogInterval.
type dropReporter struct {
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	cfg       *Config
	now       func() time.Time

	mu      sync.Mutex
	gate    logthrottle.Gate
	pending appendResult
}

func (d *dropReporter) record(ctx context.Context, res appendResult) {
	if res.dropped() == 0 {
		return
	}
	for reason, n := range map[string]int{"series_limit": res.seriesLimit, "out_of_window": res.outOfWindow, "rejected": res.rejected} {
		if n > 0 {
			d.telemetry.ExporterAlertrulesDroppedSamples.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending.seriesLimit += res.seriesLimit
	d.pending.outOfWindow += res.outOfWindow
	d.pending.rejected += res.rejected
	since, ok := d.gate.Pass(d.now())
	if !ok {
		return
	}
	fields := []zap.Field{
		zap.Int("series_limit", d.pending.seriesLimit),
		zap.Int("out_of_window", d.pending.outOfWindow),
		zap.Int("rejected", d.pending.rejected),
		zap.Int("max_series", d.cfg.MaxSeries),
		zap.Duration("window", d.cfg.Window),
		zap.String("what_to_do", "raise max_series, or drop unneeded metrics before this exporter (filter processor); out_of_window samples are older than the window or than the series' newest sample"),
	}
	if since > 0 {
		fields = append(fields, zap.Duration("since_last_line", since.Round(time.Second)))
	}
	d.logger.Warn("alertrules: dropped samples; rules do not see them", fields...)
	d.pending = appendResult{}
}
