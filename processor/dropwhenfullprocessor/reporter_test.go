package dropwhenfullprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor/internal/metadata"
	"github.com/otelcol-chroma/otelcol-chroma/processor/dropwhenfullprocessor/internal/metadatatest"
)

// TestDropsAreLoggedOncePerInterval: a queue that stays full drops in every
// request; the log gets the first drop at once, then one line per interval
// with the totals since the previous line, and the rest at shutdown.
func TestDropsAreLoggedOncePerInterval(t *testing.T) {
	ctx := context.Background()
	core, logs := observer.New(zap.InfoLevel)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(ctx)) }()
	tb, err := metadata.NewTelemetryBuilder(metadatatest.NewSettings(tel).TelemetrySettings)
	require.NoError(t, err)
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
	r := newDropReporter(tb, zap.New(core), time.Minute, "dropwhenfull", signalTraces, clock.now)

	drop := func(n int, after time.Duration) {
		clock.t = clock.t.Add(after)
		require.NoError(t, r.settle(ctx, errFull, n))
	}
	drop(10, 0)
	for range 50 {
		drop(10, time.Second) // 50 s: no new line
	}
	drop(10, 10*time.Second) // a minute after the first line
	drop(7, time.Second)
	require.NoError(t, r.shutdown(ctx))

	lines := logs.FilterMessage(dropMessage).All()
	require.Len(t, lines, 3, "first drop, one a minute later, the rest at shutdown")
	got := func(i int, key string) any { return lines[i].ContextMap()[key] }
	assert.Equal(t, int64(10), got(0, "dropped_items"))
	assert.Equal(t, int64(510), got(1, "dropped_items"), "the 51 requests since the first line")
	assert.Equal(t, int64(51), got(1, "dropped_requests"))
	assert.Equal(t, time.Minute, got(1, "since_last_line"))
	assert.Equal(t, int64(7), got(2, "dropped_items"))
	assert.Equal(t, "traces", got(0, "signal"))
	assert.Equal(t, zap.WarnLevel, lines[0].Level)
}

func TestShutdownWithoutDropsSaysNothing(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	r := newDropReporter(tb, zap.New(core), time.Minute, "dropwhenfull", signalLogs, time.Now)
	require.NoError(t, r.shutdown(context.Background()))
	assert.Zero(t, logs.Len())
}
