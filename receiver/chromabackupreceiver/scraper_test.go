package chromabackupreceiver

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// volatile are the metrics whose values depend on the machine running the test.
var volatile = []string{"chroma.persist.volume.available", "chroma.persist.volume.size"}

func newTestScraper(t testing.TB, dir string) (*chromaScraper, *observer.ObservedLogs) {
	t.Helper()
	return newBucketScraper(t, dir, func(*Config) {})
}

// gauge returns the value of an integer metric, and whether it was emitted.
func gauge(md pmetric.Metrics, name string) (int64, bool) {
	dp, ok := dataPoint(md, name)
	return dp.IntValue(), ok
}

// floatGauge returns the value of a floating-point metric, and whether it was emitted.
func floatGauge(md pmetric.Metrics, name string) (float64, bool) {
	dp, ok := dataPoint(md, name)
	return dp.DoubleValue(), ok
}

func dataPoint(md pmetric.Metrics, name string) (pmetric.NumberDataPoint, bool) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if m := ms.At(k); m.Name() == name {
					return m.Gauge().DataPoints().At(0), true
				}
			}
		}
	}
	return pmetric.NewNumberDataPoint(), false
}

func TestScrapeDemoPersistDir(t *testing.T) {
	dir := chromatest.CopyDemo(t)
	want := chromatest.DemoExpected(t)
	s, _ := newTestScraper(t, dir)

	md, err := s.scrape(context.Background())
	require.NoError(t, err)

	up, _ := gauge(md, "chroma.persist.up")
	assert.Equal(t, int64(1), up)
	collections, _ := gauge(md, "chroma.persist.collections")
	assert.Equal(t, int64(want.Collections), collections, "collections as Chroma's API reported them")
	records, _ := gauge(md, "chroma.persist.records")
	assert.Equal(t, int64(want.Records), records, "records as Chroma's API reported them")
	avail, _ := gauge(md, "chroma.persist.volume.available")
	size, _ := gauge(md, "chroma.persist.volume.size")
	assert.Positive(t, avail)
	assert.GreaterOrEqual(t, size, avail)

	compareGolden(t, md, "expected.yaml", volatile)
	assertNoPathLeaks(t, md, dir)
	assertNoSQLiteSideFiles(t, dir)
}

// compareGolden compares md with testdata/name (rewritten when
// UPDATE_GOLDEN is set), ignoring the values of the volatile metrics.
func compareGolden(t *testing.T, md pmetric.Metrics, name string, volatile []string) {
	t.Helper()
	expectedFile := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		require.NoError(t, golden.WriteMetrics(t, expectedFile, md))
	}
	expected, err := golden.ReadMetrics(expectedFile)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(expected, md,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreMetricValues(volatile...),
		pmetrictest.IgnoreMetricsOrder(), pmetrictest.IgnoreResourceMetricsOrder()))
}

// assertNoPathLeaks checks that no attribute anywhere carries the persist path.
func assertNoPathLeaks(t *testing.T, md pmetric.Metrics, dir string) {
	t.Helper()
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	assert.NotContains(t, string(b), dir)
	assert.NotContains(t, string(b), filepath.Base(filepath.Dir(dir)))
}

func assertNoSQLiteSideFiles(t *testing.T, dir string) {
	t.Helper()
	for _, suffix := range []string{"-journal", "-wal", "-shm"} {
		_, err := os.Stat(filepath.Join(dir, "chroma.sqlite3"+suffix))
		assert.True(t, os.IsNotExist(err), "the probe must not create chroma.sqlite3%s", suffix)
	}
}

func TestScrapeSeesChanges(t *testing.T) {
	dir := chromatest.CopyDemo(t)
	want := chromatest.DemoExpected(t)
	s, _ := newTestScraper(t, dir)
	_, err := s.scrape(context.Background())
	require.NoError(t, err)

	db, err := sql.Open("sqlite3", filepath.Join(dir, "chroma.sqlite3"))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`DELETE FROM embeddings WHERE id IN (SELECT id FROM embeddings LIMIT 10)`)
	require.NoError(t, err)
	// A write inside the same second and of the same size must still be seen.
	require.NoError(t, os.Chtimes(filepath.Join(dir, "chroma.sqlite3"), time.Now(), time.Now().Add(time.Second)))

	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	records, _ := gauge(md, "chroma.persist.records")
	assert.Equal(t, int64(want.Records-10), records)
}

func TestScrapeBadInput(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T) string
		wantMsg string
		hasSize bool
		// once: the message appears once, however many probes it failed.
		once bool
	}{
		{
			name:    "missing directory",
			setup:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			wantMsg: "does not exist: check persist_directory and that Chroma's volume is mounted here",
			once:    true,
		},
		{
			name: "a file, not a directory",
			setup: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "file")
				require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
				return p
			},
			wantMsg: "is not a directory",
		},
		{
			name:    "an empty directory: a volume not mounted",
			setup:   func(t *testing.T) string { return t.TempDir() },
			wantMsg: "is empty, with no chroma.sqlite3: is Chroma's volume mounted there?",
			hasSize: true,
			once:    true,
		},
		{
			name: "not a Chroma persist directory",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600))
				return dir
			},
			wantMsg: "has no chroma.sqlite3: point the persist directory at the folder Chroma was started with",
			hasSize: true,
			once:    true,
		},
		{
			name: "a chroma.sqlite3 that is not a SQLite file",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, "chroma.sqlite3"), []byte(strings.Repeat("garbage!", 1024)), 0o600))
				return dir
			},
			wantMsg: "chroma.sqlite3 is not a SQLite database",
			hasSize: true,
		},
		{
			name: "a SQLite database that is not Chroma's",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				db, err := sql.Open("sqlite3", filepath.Join(dir, "chroma.sqlite3"))
				require.NoError(t, err)
				_, err = db.Exec(`CREATE TABLE t (x)`)
				require.NoError(t, err)
				require.NoError(t, db.Close())
				return dir
			},
			wantMsg: "not a Chroma",
			hasSize: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestScraper(t, tt.setup(t))
			md, err := s.scrape(context.Background())
			require.Error(t, err)
			assert.True(t, scrapererror.IsPartialScrapeError(err))
			assert.Contains(t, err.Error(), tt.wantMsg)
			if tt.once {
				assert.Equal(t, 1, strings.Count(err.Error(), tt.wantMsg), "each problem is said once: %v", err)
			}

			up, ok := gauge(md, "chroma.persist.up")
			require.True(t, ok, "chroma.persist.up is always emitted")
			assert.Equal(t, int64(0), up)
			_, ok = gauge(md, "chroma.persist.records")
			assert.False(t, ok, "no record count without a readable database")
			_, ok = gauge(md, "chroma.persist.size")
			assert.Equal(t, tt.hasSize, ok)

			// The same problem again is not reported again.
			_, err = s.scrape(context.Background())
			assert.NoError(t, err)
		})
	}
}

func TestScrapeLockedDatabase(t *testing.T) {
	dir := chromatest.CopyDemo(t)
	s, logs := newTestScraper(t, dir)
	s.probe.busyTimeout = 50 * time.Millisecond

	// A writer in the middle of a commit holds an exclusive lock.
	db, err := sql.Open("sqlite3", filepath.Join(dir, "chroma.sqlite3"))
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`)
	require.NoError(t, err)

	md, err := s.scrape(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "locked")
	up, _ := gauge(md, "chroma.persist.up")
	assert.Equal(t, int64(0), up)

	_, err = conn.ExecContext(context.Background(), `ROLLBACK`)
	require.NoError(t, err)
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	up, _ = gauge(md, "chroma.persist.up")
	assert.Equal(t, int64(1), up)
	assert.Equal(t, 1, logs.FilterMessage("Chroma persist directory is readable again").Len())
}
