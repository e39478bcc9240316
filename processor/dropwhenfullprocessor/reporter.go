package dropwhenfullprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-chroma/otelcol-chroma/internal/logthrottle"
	"github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor/internal/metadata"
)

// dropMessage is the log line an operator searches for.
const dropMessage = "dropwhenfull: the sending queue behind this processor is full; data dropped instead of refused"

// dropReporter counts dropped items in the telemetry at once and logs them
// at most once per interval, with the totals since the previous line.
type dropReporter struct {
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
	signal    string
	attrs     metric.MeasurementOption
	now       func() time.Time

	mu       sync.Mutex
	gate     logthrottle.Gate
	pending  int // items dropped since the last line
	requests int // requests dropped since the last line
}

func newDropReporter(tb *metadata.TelemetryBuilder, logger *zap.Logger, interval time.Duration, id, signal string, now func() time.Time) *dropReporter {
	return &dropReporter{
		telemetry: tb, logger: logger, signal: signal, now: now,
		attrs: metric.WithAttributeSet(attribute.NewSet(attribute.String("processor", id), attribute.String("signal", signal))),
		gate:  logthrottle.New(interval),
	}
}

func (r *dropReporter) record(ctx context.Context, items int) {
	r.telemetry.ProcessorDropwhenfullDroppedItems.Add(ctx, int64(items), r.attrs)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending += items
	r.requests++
	if since, ok := r.gate.Pass(r.now()); ok {
		r.logLocked(since)
	}
}

// logLocked writes the line for what is pending; r.mu is held.
func (r *dropReporter) logLocked(since time.Duration) {
	fields := []zap.Field{
		zap.String("signal", r.signal),
		zap.Int("dropped_items", r.pending),
		zap.Int("dropped_requests", r.requests),
		zap.String("what_to_do", "the destination has been down or slow for longer than its sending queue holds: check the exporter's log and otelcol_exporter_send_failed_*; raise sending_queue.queue_size (and the file_storage max_size) to ride out longer outages"),
	}
	if since > 0 {
		fields = append(fields, zap.Duration("since_last_line", since.Round(time.Second)))
	}
	r.logger.Warn(dropMessage, fields...)
	r.pending, r.requests = 0, 0
}

// shutdown logs the drops not yet logged, so that none goes unsaid.
func (r *dropReporter) shutdown(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.requests > 0 {
		r.logLocked(0)
	}
	r.telemetry.Shutdown()
	return nil
}
