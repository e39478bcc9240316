package snapshotextension

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// consecutiveFailures reads the instance's attempt record from the bucket.
func consecutiveFailures(t *testing.T, gw *versitygw.Server) int {
	t.Helper()
	ctx := context.Background()
	b, err := storage.Open(ctx, gw.URL(), storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret})
	require.NoError(t, err)
	repo, err := snapshot.Open(ctx, b, snapshot.Keys{})
	require.NoError(t, err)
	attempts, err := repo.Attempts(ctx)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	return attempts[0].Record.ConsecutiveFailures
}

// An attempt while the bucket is down (a real S3 server, stopped) can write
// no record; the next record written counts it: the first attempt after the
// bucket is back fails too (the persist directory moved meanwhile), and its
// record says two failures in a row. Until then the receiver learns of the
// unrecorded failure from the extension. A success counts from zero again.
func TestFailuresDuringABucketOutageAreCounted(t *testing.T) {
	gw := versitygw.Start(t)
	persist := chromatest.CopyDemo(t)
	cfg := testConfig(t, persist, t.TempDir())
	cfg.Bucket.URL, cfg.Bucket.AccessKeyID, cfg.Bucket.SecretAccessKey = gw.URL(), gw.AccessKey, configopaque.String(gw.Secret)
	cfg.OnStart = true
	ticks := make(chan time.Time)
	h := newHarness(t, cfg, withTicks(ticks, make(chan time.Time)))
	h.start(t)
	h.waitLog(t, "Snapshot taken")
	failed := func() int { return h.logs.FilterMessageSnippet("Snapshot attempt failed").Len() }

	gw.Stop()
	h.tickForAttempt(t, ticks)
	h.waitFor(t, "an attempt failing with the bucket down", func() bool { return failed() == 1 })
	instance, unrecorded := h.ext.UnrecordedFailures()
	require.Equal(t, cfg.Instance, instance)
	require.Equal(t, 1, unrecorded, "the failure the bucket could not record")

	require.NoError(t, os.Rename(persist, persist+".moved"))
	gw.Start()
	h.tickForAttempt(t, ticks)
	h.waitFor(t, "an attempt failing on the moved persist directory", func() bool { return failed() == 2 })
	require.Equal(t, 2, consecutiveFailures(t, gw), "the failure during the outage and the one after it")
	_, unrecorded = h.ext.UnrecordedFailures()
	require.Zero(t, unrecorded, "the record counts it now")

	require.NoError(t, os.Rename(persist+".moved", persist))
	taken := func() int { return h.logs.FilterMessage("Snapshot taken").Len() }
	h.tickForAttempt(t, ticks)
	h.waitFor(t, "a snapshot taken", func() bool { return taken() == 2 })
	require.Equal(t, 0, consecutiveFailures(t, gw))
}
