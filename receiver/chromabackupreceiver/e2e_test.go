package chromabackupreceiver

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver/internal/metadata"
)

// TestEndToEndWithRealChroma runs the receiver on the persist directory of a real
// Chroma server while a client writes to it, and checks the metrics against what
// Chroma reports through its own API.
func TestEndToEndWithRealChroma(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Chroma server")
	}
	persist := filepath.Join(t.TempDir(), "persist")
	srv := chromatest.Start(t, chromatest.Options{PersistDir: persist})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cfg := createDefaultConfig().(*Config)
	cfg.PersistDirectory = persist
	cfg.CollectionInterval = 50 * time.Millisecond
	cfg.InitialDelay = 0
	sink := new(consumertest.MetricsSink)
	rcv, err := NewFactory().CreateMetrics(ctx, receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })

	// Enough writes to cross Chroma's 1000-record HNSW sync threshold.
	w := chromatest.NewLoadWriter(srv.Client, chromatest.LoadOptions{Collections: 3, BatchSize: 50, MaxOps: 120, Seed: 7})
	require.NoError(t, w.Run(ctx))

	var downDuringWrites atomic.Int64
	for _, md := range sink.AllMetrics() {
		if v, ok := gauge(md, "chroma.persist.up"); ok && v == 0 {
			downDuringWrites.Add(1)
		}
	}
	scrapesDuringWrites := len(sink.AllMetrics())

	wantCollections, err := srv.Client.CountCollections(ctx)
	require.NoError(t, err)
	wantRecords := 0
	for _, name := range w.Collections() {
		c, err := srv.Client.GetCollection(ctx, name)
		require.NoError(t, err)
		n, err := srv.Client.Count(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, w.Expected()[name], n, "the writer and Chroma agree on %s", name)
		wantRecords += n
	}
	require.Positive(t, wantRecords)

	// Wait for a scrape that sees the final state.
	var last pmetric.Metrics
	require.Eventually(t, func() bool {
		all := sink.AllMetrics()
		if len(all) == 0 {
			return false
		}
		last = all[len(all)-1]
		c, _ := gauge(last, "chroma.persist.collections")
		r, _ := gauge(last, "chroma.persist.records")
		return c == int64(wantCollections) && r == int64(wantRecords)
	}, time.Minute, 20*time.Millisecond, "metrics never matched Chroma's API: %d collections, %d records", wantCollections, wantRecords)

	up, _ := gauge(last, "chroma.persist.up")
	assert.Equal(t, int64(1), up)
	size, _ := gauge(last, "chroma.persist.size")
	assert.Positive(t, size)
	assert.Positive(t, scrapesDuringWrites, "the receiver scraped while Chroma was written to")
	assert.Zero(t, downDuringWrites.Load(), "chroma.persist.up stayed 1 while Chroma was written to")
	assert.NotContains(t, srv.Logs(), "database is locked")
}
