package dropwhenfullprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Values of the signal attribute.
const (
	signalTraces  = "traces"
	signalMetrics = "metrics"
	signalLogs    = "logs"
)

// onlyQueueFull reports whether every failure err holds is a full sending
// queue: err is exporterhelper.ErrQueueIsFull, wraps it, or joins errors
// (errors.Join, multierr, the collector's fan-out) that each are. A join
// that also holds another failure is not: that failure must reach the
// sender, which retries the request.
func onlyQueueFull(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, inner := range errs {
			if !onlyQueueFull(inner) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return onlyQueueFull(e.Unwrap())
	default:
		return errors.Is(err, exporterhelper.ErrQueueIsFull)
	}
}

// settle turns an error of the next consumer that is only a full queue into
// a drop of items, counted and logged; every other error passes unchanged.
func (r *dropReporter) settle(ctx context.Context, err error, items int) error {
	if !onlyQueueFull(err) {
		return err
	}
	r.record(ctx, items)
	return nil
}

var guardCapabilities = consumer.Capabilities{MutatesData: false}

type tracesGuard struct {
	next     consumer.Traces
	reporter *dropReporter
}

func (g tracesGuard) Capabilities() consumer.Capabilities { return guardCapabilities }

func (g tracesGuard) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	items := td.SpanCount() // before next, which may take the data over
	return g.reporter.settle(ctx, g.next.ConsumeTraces(ctx, td), items)
}

type metricsGuard struct {
	next     consumer.Metrics
	reporter *dropReporter
}

func (g metricsGuard) Capabilities() consumer.Capabilities { return guardCapabilities }

func (g metricsGuard) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	items := md.DataPointCount()
	return g.reporter.settle(ctx, g.next.ConsumeMetrics(ctx, md), items)
}

type logsGuard struct {
	next     consumer.Logs
	reporter *dropReporter
}

func (g logsGuard) Capabilities() consumer.Capabilities { return guardCapabilities }

func (g logsGuard) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	items := ld.LogRecordCount()
	return g.reporter.settle(ctx, g.next.ConsumeLogs(ctx, ld), items)
}
