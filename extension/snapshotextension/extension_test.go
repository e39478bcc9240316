package snapshotextension

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension/internal/metadatatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// harness is an extension under test with its logs and telemetry.
type harness struct {
	ext      *snapshotExtension
	tel      *componenttest.Telemetry
	logs     *observer.ObservedLogs
	messages chan string // every log message, as it is written
}

func newHarness(t *testing.T, cfg *Config, opts ...option) *harness {
	t.Helper()
	h := &harness{tel: componenttest.NewTelemetry(), messages: make(chan string, 64)}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	set := metadatatest.NewSettings(h.tel)
	set.Logger = zap.New(core, zap.Hooks(func(e zapcore.Entry) error {
		select {
		case h.messages <- e.Message:
		default:
		}
		return nil
	}))
	ext, err := newExtension(cfg, set, opts...)
	require.NoError(t, err)
	h.ext = ext
	return h
}

// waitLog waits for a log line with message msg and returns it.
func (h *harness) waitLog(t *testing.T, msg string) observer.LoggedEntry {
	t.Helper()
	deadline := time.After(waitBound)
	for {
		if found := h.logs.FilterMessage(msg).All(); len(found) > 0 {
			return found[0]
		}
		select {
		case <-h.messages:
		case <-deadline:
			t.Fatalf("no log line %q; got:\n%v", msg, h.logs.All())
		}
	}
}

// waitFor waits until cond holds, checking it after each log line.
func (h *harness) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitBound)
	for !cond() {
		select {
		case <-h.messages:
		case <-deadline:
			t.Fatalf("gave up waiting for %s; the log:\n%v", what, h.logs.All())
		}
	}
}

// tickForAttempt sends ticks until one starts an attempt rather than being
// skipped (the previous attempt may still be finishing).
func (h *harness) tickForAttempt(t *testing.T, ticks chan<- time.Time) {
	t.Helper()
	started := func() int { return h.logs.FilterMessage("Snapshot attempt started").Len() }
	skipped := func() int { return h.logs.FilterMessageSnippet("Scheduled snapshot skipped").Len() }
	for {
		beforeStarted, beforeSkipped := started(), skipped()
		tick(t, ticks)
		h.waitFor(t, "the tick to start or skip an attempt", func() bool {
			return started() > beforeStarted || skipped() > beforeSkipped
		})
		if started() > beforeStarted {
			return
		}
	}
}

// retentionRuns counts the attempts whose retention step has ended.
func (h *harness) retentionRuns() int {
	return h.logs.FilterMessageSnippet("Retention kept every snapshot").Len() +
		h.logs.FilterMessageSnippet("Retention forgot snapshots").Len()
}

func (h *harness) start(t *testing.T) {
	t.Helper()
	require.NoError(t, h.ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, h.ext.Shutdown(context.Background())) })
}

// steppingClock returns a clock whose every reading is step after the last.
func steppingClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

func withClock(now func() time.Time) option { return func(o *options) { o.clock.now = now } }
func withTicks(snapshotTicks, pruneTicks <-chan time.Time) option {
	return func(o *options) { o.snapshotTicks, o.pruneTicks = snapshotTicks, pruneTicks }
}
func withJobs(j jobs) option                   { return func(o *options) { o.jobs = j } }
func withMaintainer(m maintainer) option       { return func(o *options) { o.maintainer = m } }
func withShutdownGrace(d time.Duration) option { return func(o *options) { o.shutdownGrace = d } }

// testConfig snapshots persist into a folder bucket at bucketDir, which it
// creates: a folder bucket must exist.
func testConfig(t testing.TB, persist, bucketDir string) *Config {
	t.Helper()
	require.NoError(t, os.MkdirAll(bucketDir, 0o755))
	cfg := createDefaultConfig().(*Config)
	cfg.PersistDirectory = persist
	cfg.Bucket.URL = (&url.URL{Scheme: "file", Path: bucketDir}).String()
	cfg.Instance = "test"
	return cfg
}

func outcome(o string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("outcome", o)), Value: n}
}

// fakeMaintainer counts the retention and prune calls that got a repository.
type fakeMaintainer struct {
	mu         sync.Mutex
	retentions int
	prunes     int
	pruned     chan struct{}
}

func (f *fakeMaintainer) ApplyRetention(_ context.Context, repo *snapshot.Repository) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if repo != nil {
		f.retentions++
	}
	return nil, nil
}

func (f *fakeMaintainer) Prune(_ context.Context, repo *snapshot.Repository) (*snapshot.PruneResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if repo != nil {
		f.prunes++
	}
	f.pruned <- struct{}{}
	return &snapshot.PruneResult{}, nil
}

func (f *fakeMaintainer) counts() (retentions, prunes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retentions, f.prunes
}

func TestAttemptTakesASnapshotWithTheEngine(t *testing.T) {
	persist := chromatest.CopyDemo(t)
	bucketDir := filepath.Join(t.TempDir(), "bucket")
	cfg := testConfig(t, persist, bucketDir)
	cfg.OnStart = true
	ticks := make(chan time.Time)
	m := &fakeMaintainer{pruned: make(chan struct{}, 1)}
	// Every clock reading is the start line's or the attempt's: no tick
	// goroutine reads it.
	h := newHarness(t, cfg, withTicks(ticks, make(chan time.Time)), withDrillTicks(make(chan time.Time)),
		withClock(steppingClock(time.Unix(0, 0), 3*time.Second)), withMaintainer(m))
	h.start(t)

	line := h.waitLog(t, "Snapshot taken")
	fields := line.ContextMap()
	id, _ := fields["snapshot_id"].(string)
	require.NotEmpty(t, id, "the log line names the snapshot: %v", fields)
	assert.Positive(t, fields["added_bytes"])
	assert.Contains(t, fields, "writer_stall")

	b, err := storage.Open(context.Background(), bucketDir, storage.Options{})
	require.NoError(t, err)
	repo, err := snapshot.Open(context.Background(), b, snapshot.Keys{})
	require.NoError(t, err)
	man, err := repo.Manifest(context.Background(), id)
	require.NoError(t, err)
	want := chromatest.DemoExpected(t)
	assert.Equal(t, int64(want.Records), man.Records())
	assert.Equal(t, "test", man.Instance)

	h.waitLog(t, "Retention kept every snapshot")
	retentions, _ := m.counts()
	assert.Equal(t, 1, retentions, "retention runs after the snapshot")

	metadatatest.AssertEqualExtensionSnapshotAttempts(t, h.tel, []metricdata.DataPoint[int64]{outcome(outcomeSuccess, 1)}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExtensionSnapshotAddedSize(t, h.tel, []metricdata.DataPoint[int64]{{Value: man.Stats.AddedBytes}}, metricdatatest.IgnoreTimestamp())
	got, err := h.tel.GetMetric("otelcol_extension_snapshot_duration")
	require.NoError(t, err)
	dps := got.Data.(metricdata.Histogram[float64]).DataPoints
	require.Len(t, dps, 1)
	assert.Equal(t, 3.0, dps[0].Sum, "the duration comes from the injected clock")
}

func TestAttemptFailureLogsClassAndWhatToDo(t *testing.T) {
	notChroma := t.TempDir() // an empty folder: a volume not mounted
	cfg := testConfig(t, notChroma, filepath.Join(t.TempDir(), "bucket"))
	cfg.OnStart = true
	m := &fakeMaintainer{pruned: make(chan struct{}, 1)}
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil), withMaintainer(m))
	h.start(t)

	line := h.waitLog(t, "Snapshot attempt failed: cannot read the persist directory")
	assert.Equal(t, zapcore.ErrorLevel, line.Level)
	fields := line.ContextMap()
	assert.Equal(t, "source", fields["error_class"])
	assert.Contains(t, fields["error"], "is empty, with no chroma.sqlite3: is Chroma's volume mounted there?")
	assert.Contains(t, fields["what_to_do"], `"persist_directory"`)
	retentions, _ := m.counts()
	assert.Zero(t, retentions, "no retention after a failed attempt")
	metadatatest.AssertEqualExtensionSnapshotAttempts(t, h.tel, []metricdata.DataPoint[int64]{outcome(outcomeFailure, 1)}, metricdatatest.IgnoreTimestamp())
}

func TestAttemptTimeout(t *testing.T) {
	cfg := testConfig(t, chromatest.CopyDemo(t), filepath.Join(t.TempDir(), "bucket"))
	cfg.OnStart = true
	cfg.Timeout = time.Nanosecond
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil))
	h.start(t)
	line := h.waitLog(t, `Snapshot attempt failed: ran longer than "timeout"`)
	assert.Equal(t, "timeout", line.ContextMap()["error_class"])
	assert.Contains(t, line.ContextMap()["what_to_do"], `"timeout"`)
}

func TestPruneRunsOnItsOwnTicks(t *testing.T) {
	cfg := testConfig(t, chromatest.CopyDemo(t), filepath.Join(t.TempDir(), "bucket"))
	pruneTicks := make(chan time.Time)
	m := &fakeMaintainer{pruned: make(chan struct{}, 1)}
	h := newHarness(t, cfg, withTicks(make(chan time.Time), pruneTicks), withMaintainer(m))
	h.start(t)
	tick(t, pruneTicks)
	receive(t, m.pruned, "prune")
	h.waitLog(t, "Prune done")
	_, prunes := m.counts()
	assert.Equal(t, 1, prunes)
}

func TestStartRefusesAMissingWriterKey(t *testing.T) {
	cfg := testConfig(t, chromatest.CopyDemo(t), filepath.Join(t.TempDir(), "bucket"))
	cfg.Encryption.WriterKeyFile = filepath.Join(t.TempDir(), "writer.key")
	h := newHarness(t, cfg)
	err := h.ext.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "encryption::writer_key_file")
	require.NoError(t, h.ext.Shutdown(context.Background()))
}

func TestStartRefusesAMalformedBucketURL(t *testing.T) {
	cfg := testConfig(t, chromatest.CopyDemo(t), "/unused")
	cfg.Bucket.URL = "s3:///prefix-without-bucket"
	h := newHarness(t, cfg)
	err := h.ext.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "no bucket name")
	require.NoError(t, h.ext.Shutdown(context.Background()))
}

func TestSkippedTicksAreCounted(t *testing.T) {
	cfg := testConfig(t, "/unused", "/unused")
	cfg.OnStart = true
	jobs := newFakeJobs()
	ticks := make(chan time.Time)
	h := newHarness(t, cfg, withTicks(ticks, nil), withJobs(jobs))
	h.start(t)
	receive(t, jobs.started, "the attempt on start")
	tick(t, ticks)
	tick(t, ticks)
	tick(t, ticks) // taken once the second skip is counted
	close(jobs.release)
	metadatatest.AssertEqualExtensionSnapshotSkippedTicks(t, h.tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
	got, err := h.tel.GetMetric("otelcol_extension_snapshot_skipped_ticks")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, got.Data.(metricdata.Sum[int64]).DataPoints[0].Value, int64(2))
	h.waitLog(t, "Scheduled snapshot skipped: the previous attempt is still running")
}

func TestShutdownIsNotHeldByAStuckAttempt(t *testing.T) {
	cfg := testConfig(t, "/unused", "/unused")
	cfg.OnStart = true
	jobs := newFakeJobs()
	jobs.ignoreCancel = true // a bucket request that does not honour cancellation
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil), withJobs(jobs), withShutdownGrace(time.Millisecond))
	require.NoError(t, h.ext.Start(context.Background(), componenttest.NewNopHost()))
	receive(t, jobs.started, "the attempt")

	require.NoError(t, h.ext.Shutdown(context.Background()))
	h.waitLog(t, "The running snapshot attempt did not stop in time; shutting down without it (it leaves no snapshot, only blocks that prune removes)")
	close(jobs.release) // let the goroutine end before the leak check
	receive(t, h.ext.done, "the scheduler's end")
}

func TestShutdownCancelsTheRunningAttempt(t *testing.T) {
	cfg := testConfig(t, "/unused", "/unused")
	cfg.OnStart = true
	jobs := newFakeJobs()
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil), withJobs(jobs), withShutdownGrace(waitBound))
	require.NoError(t, h.ext.Start(context.Background(), componenttest.NewNopHost()))
	receive(t, jobs.started, "the attempt")
	require.NoError(t, h.ext.Shutdown(context.Background()))
	assert.Equal(t, "snapshot", receive(t, jobs.finished, "the attempt's end"), "Shutdown returns once the attempt has stopped")
	assert.Empty(t, h.logs.FilterMessageSnippet("did not stop in time").All())
}

func TestEngineLogReachesTheCollectorLog(t *testing.T) {
	persist := chromatest.CopyDemo(t)
	segments, err := filepath.Glob(filepath.Join(persist, "*-*-*-*-*"))
	require.NoError(t, err)
	require.NotEmpty(t, segments)
	require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(segments[0], "stray-link")))
	cfg := testConfig(t, persist, filepath.Join(t.TempDir(), "bucket"))
	cfg.OnStart = true
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil))
	h.start(t)
	h.waitLog(t, "Snapshot taken")

	warn := h.waitLog(t, "skipping a non-regular file in a segment folder")
	assert.Equal(t, zapcore.WarnLevel, warn.Level)
	assert.Contains(t, warn.ContextMap()["path"], "stray-link")
	stored := h.waitLog(t, "snapshot stored")
	assert.Equal(t, zapcore.DebugLevel, stored.Level, "the engine's info lines are details beside the attempt's own line")
	assert.Contains(t, stored.ContextMap(), "id")
	assert.Len(t, h.logs.FilterLevelExact(zapcore.InfoLevel).All(), 2, "info: the start line and one line for the attempt")
}

func TestRetentionAndPruneWithTheEngine(t *testing.T) {
	bucketDir := filepath.Join(t.TempDir(), "bucket")
	cfg := testConfig(t, chromatest.CopyDemo(t), bucketDir)
	cfg.OnStart = true
	cfg.Retention = snapshotconfig.RetentionSettings{KeepLast: 2}
	ticks, pruneTicks := make(chan time.Time), make(chan time.Time)
	h := newHarness(t, cfg, withTicks(ticks, pruneTicks))
	h.start(t)
	for n := 1; n <= 4; n++ {
		if n > 1 {
			h.tickForAttempt(t, ticks)
		}
		h.waitFor(t, fmt.Sprintf("attempt %d and its retention", n), func() bool { return h.retentionRuns() == n })
	}
	require.Equal(t, 4, h.logs.FilterMessage("Snapshot taken").Len())
	require.Equal(t, 2, h.logs.FilterMessage("Retention forgot snapshots").Len())

	var taken []string
	for _, e := range h.logs.FilterMessage("Snapshot taken").All() {
		taken = append(taken, e.ContextMap()["snapshot_id"].(string))
	}
	b, err := storage.Open(context.Background(), bucketDir, storage.Options{})
	require.NoError(t, err)
	repo, err := snapshot.Open(context.Background(), b, snapshot.Keys{})
	require.NoError(t, err)
	list, err := repo.List(context.Background())
	require.NoError(t, err)
	var kept []string
	for _, s := range list {
		kept = append(kept, s.ID)
	}
	assert.ElementsMatch(t, taken[2:], kept, "keep_last: 2 keeps the two newest")

	tick(t, pruneTicks)
	line := h.waitLog(t, "Prune done")
	assert.Equal(t, int64(2), line.ContextMap()["snapshots"])
}

// writerKeyConfig is testConfig for an encrypted bucket, with a new
// writer key and no reader key.
func writerKeyConfig(t *testing.T) *Config {
	t.Helper()
	writer, _, err := snapshot.GenerateKeys()
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "writer.key")
	require.NoError(t, os.WriteFile(keyFile, writer, 0o600))
	cfg := testConfig(t, chromatest.CopyDemo(t), filepath.Join(t.TempDir(), "bucket"))
	cfg.Encryption.WriterKeyFile = keyFile
	return cfg
}

// TestEncryptedRetentionWithTheWriterKey: the pod holding only the writer
// key applies retention and prunes (the snapshot indexes tell it each
// snapshot's instance, time and blocks).
func TestEncryptedRetentionWithTheWriterKey(t *testing.T) {
	cfg := writerKeyConfig(t)
	cfg.OnStart = true
	cfg.Retention = snapshotconfig.RetentionSettings{KeepLast: 1}
	ticks, pruneTicks := make(chan time.Time), make(chan time.Time)
	h := newHarness(t, cfg, withTicks(ticks, pruneTicks))
	h.start(t)
	h.waitFor(t, "attempt 1 and its retention", func() bool { return h.retentionRuns() == 1 })
	h.tickForAttempt(t, ticks)
	h.waitFor(t, "attempt 2 and its retention", func() bool { return h.retentionRuns() == 2 })
	require.Equal(t, 1, h.logs.FilterMessage("Retention forgot snapshots").Len())
	tick(t, pruneTicks)
	line := h.waitLog(t, "Prune done")
	assert.Equal(t, int64(1), line.ContextMap()["snapshots"])
	assert.Empty(t, h.logs.FilterLevelExact(zapcore.ErrorLevel).All())
}
