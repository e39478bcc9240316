// Package logthrottle spaces out a log line that would otherwise repeat on
// every request: the first occurrence is logged at once, the following ones
// at most once per interval, each line carrying the totals since the
// previous one. Counting every occurrence at once is the job of a metric.
package logthrottle // import "github.com/otelcol-chroma/otelcol-chroma/internal/logthrottle"

import "time"

// Gate decides when the next line may be logged. It holds no lock: its
// caller guards it with the lock that guards the totals it logs.
type Gate struct {
	interval time.Duration
	logged   time.Time
}

// New returns a gate that opens at most once per interval.
func New(interval time.Duration) Gate {
	return Gate{interval: interval}
}

// Pass reports whether a line may be logged at now and, if so, records it.
// sinceLast is the time since the previous line, zero for the first.
func (g *Gate) Pass(now time.Time) (sinceLast time.Duration, ok bool) {
	if g.logged.IsZero() {
		g.logged = now
		return 0, true
	}
	sinceLast = now.Sub(g.logged)
	if sinceLast < g.interval {
		return 0, false
	}
	g.logged = now
	return sinceLast, true
}
