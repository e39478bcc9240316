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

// guard hands data of one signal to the next consumer and settles its error.
type guard[T any] struct {
	next     func(context.Context, T) error
	items    func(T) int
	reporter *dropReporter
}

func (g guard[T]) consume(ctx context.Context, data T) error {
	items := g.items(data) // before next, which may take the data over
	return g.reporter.settle(ctx, g.next(ctx, data), items)
}

func tracesGuard(next consumer.Traces, r *dropReporter) (consumer.Traces, error) {
	g := guard[ptrace.Traces]{next: next.ConsumeTraces, items: ptrace.Traces.SpanCount, reporter: r}
	return consumer.NewTraces(g.consume, consumer.WithCapabilities(guardCapabilities))
}

func metricsGuard(next consumer.Metrics, r *dropReporter) (consumer.Metrics, error) {
	g := guard[pmetric.Metrics]{next: next.ConsumeMetrics, items: pmetric.Metrics.DataPointCount, reporter: r}
	return consumer.NewMetrics(g.consume, consumer.WithCapabilities(guardCapabilities))
}

func logsGuard(next consumer.Logs, r *dropReporter) (consumer.Logs, error) {
	g := guard[plog.Logs]{next: next.ConsumeLogs, items: plog.Logs.LogRecordCount, reporter: r}
	return consumer.NewLogs(g.consume, consumer.WithCapabilities(guardCapabilities))
}
