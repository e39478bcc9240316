package snapshotextension

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension/internal/metadatatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

func withDrillTicks(ticks <-chan time.Time) option { return func(o *options) { o.drillTicks = ticks } }

// restoreTest reads the bucket's restore-test record.
func restoreTest(t *testing.T, bucketDir string) *snapshot.RestoreTestRecord {
	t.Helper()
	b, err := storage.Open(context.Background(), bucketDir, storage.Options{})
	require.NoError(t, err)
	repo, err := snapshot.Open(context.Background(), b, snapshot.Keys{})
	require.NoError(t, err)
	st, err := repo.Status(context.Background())
	require.NoError(t, err)
	require.NoError(t, st.RestoreTestErr)
	require.NotNil(t, st.RestoreTest, "no restore-test record")
	return st.RestoreTest
}

// On a compressed schedule (a drill every second) the extension runs
// drills with a real Chroma on the restored copy, one log line each, and
// records them where the receiver reads them.
func TestDrillsRunOnTheirSchedule(t *testing.T) {
	bin := chromatest.Binary(t)
	bucketDir := filepath.Join(t.TempDir(), "bucket")
	cfg := testConfig(t, chromatest.CopyDemo(t), bucketDir)
	cfg.OnStart = true
	cfg.Drill.Interval = time.Second
	cfg.Drill.ChromaCommand = bin
	scratch := t.TempDir()
	cfg.Drill.ScratchDirectory = scratch
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil))
	h.start(t)

	start := h.waitLog(t, "Scheduled snapshots").ContextMap()
	assert.Equal(t, true, start["drill_with_chroma"])
	h.waitFor(t, "two drills", func() bool { return h.logs.FilterMessage("Restore drill passed").Len() >= 2 })
	line := h.logs.FilterMessage("Restore drill passed").All()[0].ContextMap()
	assert.Equal(t, true, line["chroma_checked"])
	assert.Positive(t, line["recovery_time"])
	assert.Equal(t, h.logs.FilterMessage("Snapshot taken").All()[0].ContextMap()["snapshot_id"], line["snapshot_id"])

	rec := restoreTest(t, bucketDir)
	assert.True(t, rec.Success)
	assert.True(t, rec.ChromaChecked)
	assert.Equal(t, "test", rec.Instance)
	assert.Positive(t, rec.Duration)
	require.NoError(t, h.ext.Shutdown(context.Background()))
	entries, err := os.ReadDir(scratch)
	require.NoError(t, err)
	assert.Empty(t, entries, "every drill deletes its scratch folder")
	got, err := h.tel.GetMetric("otelcol_extension_snapshot_drills")
	require.NoError(t, err)
	var passed int64 // a drill cut short by the shutdown counts as cancelled
	for _, dp := range got.Data.(metricdata.Sum[int64]).DataPoints {
		if o, _ := dp.Attributes.Value("outcome"); o.AsString() == outcomeSuccess {
			passed = dp.Value
		}
	}
	assert.GreaterOrEqual(t, passed, int64(2))
	_, err = h.tel.GetMetric("otelcol_extension_snapshot_drill_recovery_time")
	require.NoError(t, err)
}

// A drill of a snapshot whose blocks were altered fails with one error
// line that says what to do, and records the failure.
func TestDrillFailureIsLoggedAndRecorded(t *testing.T) {
	bucketDir := filepath.Join(t.TempDir(), "bucket")
	cfg := testConfig(t, chromatest.CopyDemo(t), bucketDir)
	cfg.OnStart = true
	drillTicks := make(chan time.Time)
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil), withDrillTicks(drillTicks))
	h.start(t)
	h.waitLog(t, "Snapshot taken")
	tick(t, drillTicks)
	h.waitLog(t, "Restore drill passed")
	passed := restoreTest(t, bucketDir)

	blocks, err := filepath.Glob(filepath.Join(bucketDir, "blocks", "*", "*"))
	require.NoError(t, err)
	for _, b := range blocks {
		require.NoError(t, os.WriteFile(b, []byte("tampered"), 0o644))
	}
	tick(t, drillTicks)
	line := h.waitLog(t, "Restore drill failed: an object in the bucket is damaged")
	assert.Equal(t, zapcore.ErrorLevel, line.Level)
	assert.Equal(t, "repository", line.ContextMap()["error_class"])
	assert.Equal(t, true, line.ContextMap()["recorded"])
	rec := restoreTest(t, bucketDir)
	assert.False(t, rec.Success)
	assert.Equal(t, snapshot.ClassRepository, rec.ErrorClass)
	assert.True(t, rec.LastSuccess.Equal(passed.LastSuccess), "the last success is kept")
	metadatatest.AssertEqualExtensionSnapshotDrills(t, h.tel,
		[]metricdata.DataPoint[int64]{outcome(outcomeSuccess, 1), outcome(outcomeFailure, 1)}, metricdatatest.IgnoreTimestamp())
}

// An encrypted bucket without the reader key runs no drills, and the start
// says where to run them instead.
func TestEncryptedWithoutReaderKeyHasNoDrills(t *testing.T) {
	cfg := writerKeyConfig(t)
	cfg.Drill.Interval = time.Second
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil))
	h.start(t)
	warn := h.logs.FilterMessageSnippet("Restore drills are off").All()
	require.Len(t, warn, 1)
	assert.Contains(t, warn[0].Message, "otelcol-chroma snapshot drill")
	assert.NotContains(t, h.waitLog(t, "Scheduled snapshots").ContextMap(), "drill_interval")
}
