package chromabackupreceiver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver/internal/metadata"
)

// bucketVolatile are the bucket metrics whose values depend on when the
// test ran or how fast the machine is (the manifest holds the timings, so
// the bucket's size varies too).
var bucketVolatile = []string{
	"chroma.bucket.size",
	"chroma.backup.age", "chroma.backup.last_success.time", "chroma.backup.duration", "chroma.backup.writer_stall",
	"chroma.backup.restore_test.age", "chroma.backup.restore_test.last_success.time", "chroma.backup.restore_test.duration",
}

// bucketFixture is a persist directory (the real demo database) and a
// bucket with snapshots of it, taken through the engine.
type bucketFixture struct {
	persist string
	bucket  snapshotconfig.BucketSettings
	writer  []byte // writer key file contents; nil when unencrypted
	reader  []byte
}

func newBucketFixture(t testing.TB, url string, encrypted bool) *bucketFixture {
	t.Helper()
	fx := &bucketFixture{persist: chromatest.CopyDemo(t), bucket: snapshotconfig.BucketSettings{URL: url}}
	var err error
	if encrypted {
		fx.writer, fx.reader, err = snapshot.GenerateKeys()
		require.NoError(t, err)
	}
	return fx
}

func (fx *bucketFixture) settings(t testing.TB) snapshotconfig.BucketSettings {
	t.Helper()
	return fx.bucket
}

func (fx *bucketFixture) repo(t testing.TB, keyFile []byte) *snapshot.Repository {
	t.Helper()
	s := fx.settings(t)
	b, err := s.Open(context.Background(), storage.Options{})
	require.NoError(t, err)
	keys := snapshot.Keys{}
	if keyFile != nil {
		keys, err = snapshot.ParseReaderKey(keyFile, "reader key")
		if err != nil {
			keys, err = snapshot.ParseWriterKey(keyFile, "writer key")
		}
		require.NoError(t, err)
	}
	repo, err := snapshot.Open(context.Background(), b, keys)
	require.NoError(t, err)
	return repo
}

// snapshot takes one snapshot as instance, with the writer key if any.
func (fx *bucketFixture) snapshot(t testing.TB, instance string) *snapshot.Manifest {
	t.Helper()
	m, err := fx.repo(t, fx.writer).Snapshot(context.Background(), snapshot.SnapshotOptions{
		PersistDir: fx.persist, ScratchDir: t.TempDir(), Instance: instance,
	})
	require.NoError(t, err)
	return m
}

// failAttempt records a failed attempt of instance (its persist directory is missing).
func (fx *bucketFixture) failAttempt(t testing.TB, instance string) {
	t.Helper()
	_, err := fx.repo(t, fx.writer).Snapshot(context.Background(), snapshot.SnapshotOptions{
		PersistDir: filepath.Join(t.TempDir(), "missing"), Instance: instance,
	})
	require.Error(t, err)
}

func writeKeyFile(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func newBucketScraper(t testing.TB, persist string, configure func(*Config), opts ...scraperOption) (*chromaScraper, *observer.ObservedLogs) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.PersistDirectory = persist
	cfg.Instance = "test-instance"
	configure(cfg)
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zap.DebugLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	s := newScraper(cfg, set, opts...)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	return s, logs
}

// assertMatchesBucket checks the snapshot metrics against the bucket
// itself: count = manifests, size and time = the newest manifest's (read
// with the reader key, which the receiver never has).
func assertMatchesBucket(t *testing.T, md pmetric.Metrics, repo *snapshot.Repository) {
	t.Helper()
	list, err := repo.List(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, list)
	newest := list[0]
	require.NotNil(t, newest.Manifest, "the test reads manifests with the reader key")
	st, err := repo.Status(context.Background())
	require.NoError(t, err)

	count, _ := gauge(md, "chroma.backup.count")
	assert.Equal(t, int64(len(list)), count, "count = manifests")
	last, _ := gauge(md, "chroma.backup.last_success.time")
	assert.Equal(t, newest.Created.Unix(), last, "time of the newest manifest")
	size, _ := gauge(md, "chroma.backup.size")
	assert.Equal(t, newest.Manifest.Stats.LogicalBytes, size, "size of the newest manifest")
	added, _ := gauge(md, "chroma.backup.added_size")
	assert.Equal(t, newest.Manifest.Stats.AddedBytes, added, "bytes the newest manifest added")
	stall, _ := floatGauge(md, "chroma.backup.writer_stall")
	assert.InDelta(t, newest.Manifest.Timings.WriterStall.Seconds(), stall, 1e-9)
	bucketSize, _ := gauge(md, "chroma.bucket.size")
	assert.Equal(t, st.TotalBytes(), bucketSize)
	up, _ := gauge(md, "chroma.bucket.up")
	assert.Equal(t, int64(1), up)
	persistUp, _ := gauge(md, "chroma.persist.up")
	assert.Equal(t, int64(1), persistUp, "the persist metrics flow beside the bucket's")
}

// The bucket metrics match the bucket whether the repository is
// unencrypted, or encrypted and the receiver holds the writer key or no
// key at all.
func TestBucketMetricsMatchTheBucket(t *testing.T) {
	for _, tc := range []struct {
		name      string
		encrypted bool
		key       func(fx *bucketFixture) []byte
	}{
		{"unencrypted", false, func(*bucketFixture) []byte { return nil }},
		{"encrypted, writer key", true, func(fx *bucketFixture) []byte { return fx.writer }},
		{"encrypted, no key", true, func(*bucketFixture) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newBucketFixture(t, "file://"+t.TempDir(), tc.encrypted)
			fx.snapshot(t, "other-replica")
			fx.snapshot(t, "test-instance")
			fx.failAttempt(t, "test-instance")
			fx.failAttempt(t, "test-instance")
			s, logs := newBucketScraper(t, fx.persist, func(c *Config) {
				c.Bucket = fx.settings(t)
				if k := tc.key(fx); k != nil {
					c.Encryption.WriterKeyFile = writeKeyFile(t, k)
				}
			})
			md, err := s.scrape(context.Background())
			require.NoError(t, err)
			assertMatchesBucket(t, md, fx.repo(t, fx.reader))
			success, _ := gauge(md, "chroma.backup.last_attempt.success")
			assert.Equal(t, int64(0), success, "this instance's last attempt failed")
			failures, _ := gauge(md, "chroma.backup.consecutive_failures")
			assert.Equal(t, int64(2), failures)
			_, ok := gauge(md, "chroma.backup.restore_test.last_attempt.success")
			assert.False(t, ok, "no restore test has run")
			assert.Zero(t, logs.Len(), "nothing to log: %v", logs.All())
			age, _ := floatGauge(md, "chroma.backup.age")
			assert.GreaterOrEqual(t, age, 0.0, "the newest id may be a second ahead of the clock; the age is never negative")
			b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
			require.NoError(t, err)
			assert.NotContains(t, string(b), fx.persist)
			assert.NotContains(t, string(b), fx.bucket.URL)
		})
	}
}

func TestBucketMetricsGolden(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), false)
	fx.snapshot(t, "test-instance")
	repo := fx.repo(t, nil)
	require.NoError(t, repo.WriteRestoreTest(context.Background(), &snapshot.RestoreTestRecord{
		SnapshotID: "x", Started: time.Now().Add(-time.Minute), Finished: time.Now(), Success: true, LastSuccess: time.Now(),
	}))
	s, _ := newBucketScraper(t, fx.persist, func(c *Config) { c.Bucket = fx.settings(t) })
	md, err := s.scrape(context.Background())
	require.NoError(t, err)

	compareGolden(t, md, "expected_bucket.yaml", append(volatile, bucketVolatile...))
}

// The restore-test metrics come from status/restore-test.json: a failed
// test keeps the time of the last passing one, whose age keeps growing.
func TestRestoreTestMetrics(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), true)
	fx.snapshot(t, "test-instance")
	passed := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	require.NoError(t, fx.repo(t, fx.writer).WriteRestoreTest(context.Background(), &snapshot.RestoreTestRecord{
		SnapshotID: "x", Started: passed.Add(-42 * time.Second), Finished: passed.Add(-2 * time.Second), Success: false, LastSuccess: passed,
	}))
	s, _ := newBucketScraper(t, fx.persist, func(c *Config) { c.Bucket = fx.settings(t) })
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	ok, _ := gauge(md, "chroma.backup.restore_test.last_attempt.success")
	assert.Equal(t, int64(0), ok)
	last, _ := gauge(md, "chroma.backup.restore_test.last_success.time")
	assert.Equal(t, passed.Unix(), last)
	age, _ := floatGauge(md, "chroma.backup.restore_test.age")
	assert.GreaterOrEqual(t, age, 2*time.Hour.Seconds())
	d, _ := floatGauge(md, "chroma.backup.restore_test.duration")
	assert.InDelta(t, 40.0, d, 1e-9, "a record without duration_ns: the test's span")

	// A drill's record gives its measured recovery time, which leaves out
	// the drill's own checks and cleanup.
	require.NoError(t, fx.repo(t, fx.writer).WriteRestoreTest(context.Background(), &snapshot.RestoreTestRecord{
		SnapshotID: "x", Started: passed.Add(-42 * time.Second), Finished: passed, Success: true, LastSuccess: passed, Duration: 7 * time.Second,
	}))
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	d, _ = floatGauge(md, "chroma.backup.restore_test.duration")
	assert.InDelta(t, 7.0, d, 1e-9)
}

// A status record that fails authentication is not trusted: bucket.up is
// 0, the metrics it feeds report failure, one log line says so, and one
// says when it is resolved.
func TestForgedStatusRecord(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), true)
	fx.snapshot(t, "test-instance")
	repo := fx.repo(t, fx.writer)
	require.NoError(t, repo.WriteRestoreTest(context.Background(), &snapshot.RestoreTestRecord{
		SnapshotID: "x", Started: time.Now(), Finished: time.Now(), Success: true, LastSuccess: time.Now(),
	}))
	key := snapshot.AttemptKey("test-instance")
	genuine := readObject(t, repo.Bucket(), key)
	forged := bytes.Replace(genuine, []byte(`"consecutive_failures":0`), []byte(`"consecutive_failures":9`), 1)
	require.NotEqual(t, genuine, forged)
	writeObject(t, repo.Bucket(), key, forged)
	writeObject(t, repo.Bucket(), snapshot.RestoreTestKey, bytes.Replace(readObject(t, repo.Bucket(), snapshot.RestoreTestKey), []byte(`"success":true`), []byte(`"success":false`), 1))

	s, logs := newBucketScraper(t, fx.persist, func(c *Config) {
		c.Bucket = fx.settings(t)
		c.Encryption.WriterKeyFile = writeKeyFile(t, fx.writer)
	})
	md, err := s.scrape(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot be trusted")
	assert.Contains(t, err.Error(), key)
	for name, want := range map[string]int64{"chroma.bucket.up": 0, "chroma.backup.last_attempt.success": 0, "chroma.backup.restore_test.last_attempt.success": 0, "chroma.backup.count": 1} {
		got, ok := gauge(md, name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	for _, name := range []string{"chroma.backup.consecutive_failures", "chroma.backup.restore_test.last_success.time"} {
		_, ok := gauge(md, name)
		assert.False(t, ok, "%s comes from an untrusted record", name)
	}
	persistUp, _ := gauge(md, "chroma.persist.up")
	assert.Equal(t, int64(1), persistUp)

	_, err = s.scrape(context.Background())
	assert.NoError(t, err, "the same problem is reported once")

	// The next attempt rewrites the record: trusted again.
	writeObject(t, repo.Bucket(), key, genuine)
	require.NoError(t, repo.WriteRestoreTest(context.Background(), &snapshot.RestoreTestRecord{
		SnapshotID: "x", Started: time.Now(), Finished: time.Now(), Success: true, LastSuccess: time.Now(),
	}))
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	up, _ := gauge(md, "chroma.bucket.up")
	assert.Equal(t, int64(1), up)
	assert.Equal(t, 1, logs.FilterMessage("snapshot bucket is readable again and its status records are trusted").Len())
}

func readObject(t testing.TB, b storage.Bucket, key string) []byte {
	t.Helper()
	rc, err := b.Read(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	require.NoError(t, err)
	return buf.Bytes()
}

func writeObject(t testing.TB, b storage.Bucket, key string, data []byte) {
	t.Helper()
	require.NoError(t, b.Write(context.Background(), key, bytes.NewReader(data), int64(len(data))))
}

// fakeHost offers extensions by id.
type fakeHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h fakeHost) GetExtensions() map[component.ID]component.Component { return h.exts }

type fakeSnapshotExtension struct {
	component.StartFunc
	component.ShutdownFunc
	settings snapshotconfig.Settings
}

func (e fakeSnapshotExtension) SnapshotSettings() snapshotconfig.Settings { return e.settings }

// With snapshot_extension the bucket comes from the extension's settings.
func TestSnapshotExtensionReference(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), false)
	fx.snapshot(t, "test-instance")
	id := component.MustNewID("snapshot")
	cfg := createDefaultConfig().(*Config)
	cfg.PersistDirectory, cfg.Instance, cfg.SnapshotExtension = fx.persist, "test-instance", &id
	require.NoError(t, cfg.Validate())

	host := fakeHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{
		id: fakeSnapshotExtension{settings: snapshotconfig.Settings{Bucket: fx.settings(t)}},
	}}
	s := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	require.NoError(t, s.start(context.Background(), host))
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	count, _ := gauge(md, "chroma.backup.count")
	assert.Equal(t, int64(1), count)

	other := component.MustNewIDWithName("snapshot", "other")
	cfg.SnapshotExtension = &other
	err = newScraper(cfg, receivertest.NewNopSettings(metadata.Type)).start(context.Background(), host)
	require.ErrorContains(t, err, `no extension "snapshot/other" is running`)

	// An extension recording under another instance label: warned at start.
	mismatched := component.MustNewIDWithName("snapshot", "mismatched")
	host.exts[mismatched] = fakeSnapshotExtension{settings: snapshotconfig.Settings{Bucket: fx.settings(t), Instance: "prod-eu-1"}}
	cfg.SnapshotExtension = &mismatched
	core, logs := observer.New(zap.WarnLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	require.NoError(t, newScraper(cfg, set).start(context.Background(), host))
	require.Equal(t, 1, logs.FilterMessageSnippet(`snapshot_extension records attempts as instance "prod-eu-1", but this receiver's instance is "test-instance"`).Len())

	// An extension without an instance label records under the host name.
	host.exts[mismatched] = fakeSnapshotExtension{settings: snapshotconfig.Settings{Bucket: fx.settings(t)}}
	require.NoError(t, newScraper(cfg, set).start(context.Background(), host))
	hostName, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, 1, logs.FilterMessageSnippet(fmt.Sprintf(`snapshot_extension records attempts as instance %q, but this receiver's instance is "test-instance"`, hostName)).Len())

	cfg.SnapshotExtension = &other
	host.exts[other] = plainExtension{}
	err = newScraper(cfg, receivertest.NewNopSettings(metadata.Type)).start(context.Background(), host)
	require.ErrorContains(t, err, `extension "snapshot/other" is not a snapshot extension`)
}

// unrecordingExtension is a snapshot extension whose last attempts failed
// without a status record (the bucket refused writes).
type unrecordingExtension struct {
	fakeSnapshotExtension
	instance string
	failures int
}

func (e unrecordingExtension) UnrecordedFailures() (string, int) { return e.instance, e.failures }

// The extension's failures the bucket holds no record of count on top of
// the record's, for the receiver's own instance only; without a record at
// all (a bucket never written), they are the whole count.
func TestUnrecordedFailuresCount(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), false)
	id := component.MustNewID("snapshot")
	scrape := func(ext unrecordingExtension) (success, failures int64, ok bool) {
		t.Helper()
		cfg := createDefaultConfig().(*Config)
		cfg.PersistDirectory, cfg.Instance, cfg.SnapshotExtension = fx.persist, "test-instance", &id
		ext.settings = snapshotconfig.Settings{Bucket: fx.settings(t), Instance: "test-instance"}
		host := fakeHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{id: ext}}
		s := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
		require.NoError(t, s.start(context.Background(), host))
		md, err := s.scrape(context.Background())
		require.NoError(t, err)
		success, _ = gauge(md, "chroma.backup.last_attempt.success")
		failures, ok = gauge(md, "chroma.backup.consecutive_failures")
		return success, failures, ok
	}

	success, failures, ok := scrape(unrecordingExtension{instance: "test-instance", failures: 3})
	assert.True(t, ok, "no record in the bucket yet: the unrecorded failures are the count")
	assert.Equal(t, []int64{0, 3}, []int64{success, failures})

	fx.snapshot(t, "test-instance")
	fx.failAttempt(t, "test-instance")
	success, failures, _ = scrape(unrecordingExtension{instance: "test-instance", failures: 2})
	assert.Equal(t, []int64{0, 3}, []int64{success, failures}, "one recorded failure and two unrecorded")
	success, failures, _ = scrape(unrecordingExtension{instance: "test-instance"})
	assert.Equal(t, []int64{0, 1}, []int64{success, failures}, "the record alone")
	success, failures, _ = scrape(unrecordingExtension{instance: "prod-eu-1", failures: 5})
	assert.Equal(t, []int64{0, 1}, []int64{success, failures}, "another instance's failures are not this one's")

	fx.snapshot(t, "test-instance")
	success, failures, _ = scrape(unrecordingExtension{instance: "test-instance", failures: 1})
	assert.Equal(t, []int64{0, 1}, []int64{success, failures}, "a failure after the recorded success")
	success, failures, _ = scrape(unrecordingExtension{instance: "test-instance"})
	assert.Equal(t, []int64{1, 0}, []int64{success, failures})
}

type plainExtension struct {
	component.StartFunc
	component.ShutdownFunc
}

// A key that is not the repository's is a bucket problem that names the key.
func TestBucketWrongKey(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), true)
	fx.snapshot(t, "test-instance")
	otherWriter, _, err := snapshot.GenerateKeys()
	require.NoError(t, err)
	s, _ := newBucketScraper(t, fx.persist, func(c *Config) {
		c.Bucket = fx.settings(t)
		c.Encryption.WriterKeyFile = writeKeyFile(t, otherWriter)
	})
	md, err := s.scrape(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the key in encryption does not fit the repository")
	up, _ := gauge(md, "chroma.bucket.up")
	assert.Equal(t, int64(0), up)
}

// Snapshots taken under another instance label: the attempt metrics are
// absent, and one warning names the instances the bucket holds.
func TestBucketNoRecordForInstance(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), false)
	fx.snapshot(t, "prod-eu-1")
	s, logs := newBucketScraper(t, fx.persist, func(c *Config) { c.Bucket = fx.settings(t) })
	for range 2 {
		md, err := s.scrape(context.Background())
		require.NoError(t, err)
		_, ok := gauge(md, "chroma.backup.last_attempt.success")
		assert.False(t, ok)
		count, _ := gauge(md, "chroma.backup.count")
		assert.Equal(t, int64(1), count)
	}
	warnings := logs.FilterMessageSnippet(`no attempt record for instance "test-instance"`).All()
	require.Len(t, warnings, 1, "warned once")
	assert.Contains(t, warnings[0].Message, "status/attempts/prod-eu-1.json")
}

// A damaged status object in an unencrypted repository (its checksum
// fails, or it is not JSON at all) is not trusted either.
func TestCorruptStatusObject(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"checksum": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"outcome":"success"`), []byte(`"outcome":"failure"`), 1)
		},
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			fx := newBucketFixture(t, "file://"+t.TempDir(), false)
			fx.snapshot(t, "test-instance")
			repo := fx.repo(t, nil)
			key := snapshot.AttemptKey("test-instance")
			writeObject(t, repo.Bucket(), key, damage(readObject(t, repo.Bucket(), key)))
			s, _ := newBucketScraper(t, fx.persist, func(c *Config) { c.Bucket = fx.settings(t) })
			md, err := s.scrape(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), "cannot be trusted")
			assert.Contains(t, err.Error(), key)
			up, _ := gauge(md, "chroma.bucket.up")
			assert.Equal(t, int64(0), up)
			success, _ := gauge(md, "chroma.backup.last_attempt.success")
			assert.Equal(t, int64(0), success)
			count, _ := gauge(md, "chroma.backup.count")
			assert.Equal(t, int64(1), count, "the listings are still reported")
		})
	}
}

// TestStaleBackupsCannotLookFresh: a junk manifest with an id far in the
// future, and a newer snapshot of a damaged database, do not move
// chroma.backup.last_success.time: it is the last success that the status
// records name, so the stale-backup alert still fires.
func TestStaleBackupsCannotLookFresh(t *testing.T) {
	fx := newBucketFixture(t, "file://"+t.TempDir(), false)
	good := fx.snapshot(t, "test-instance")
	repo := fx.repo(t, nil)
	b, err := fx.bucket.Open(context.Background(), storage.Options{})
	require.NoError(t, err)
	writeObject(t, b, "snapshots/99991231T235959Z-00000000.manifest", []byte("junk"))
	chromatest.DamageTable(t, fx.persist, "embedding_metadata")
	damaged, err := repo.Snapshot(context.Background(), snapshot.SnapshotOptions{
		PersistDir: fx.persist, ScratchDir: t.TempDir(), Instance: "test-instance",
	})
	require.ErrorIs(t, err, snapshot.ErrSourceCorrupt)
	require.NotNil(t, damaged)

	s, _ := newBucketScraper(t, fx.persist, func(c *Config) { c.Bucket = fx.settings(t) })
	md, _ := s.scrape(context.Background())
	last, ok := gauge(md, "chroma.backup.last_success.time")
	require.True(t, ok)
	assert.Equal(t, good.Created.Unix(), last, "the last good snapshot's time, not the junk's or the damaged one's")
	size, _ := gauge(md, "chroma.backup.size")
	assert.Equal(t, good.Stats.LogicalBytes, size)
	success, _ := gauge(md, "chroma.backup.last_attempt.success")
	assert.Equal(t, int64(0), success, "the damaged snapshot's attempt failed")
}
