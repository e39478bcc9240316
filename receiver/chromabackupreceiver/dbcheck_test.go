package chromabackupreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/scraper/scrapererror"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// fakeClock is the probe's clock in tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func scrapeUp(t *testing.T, s *chromaScraper) (int64, error) {
	t.Helper()
	md, err := s.scrape(context.Background())
	up, ok := gauge(md, "chroma.persist.up")
	require.True(t, ok, "chroma.persist.up is always emitted")
	return up, err
}

// A real Chroma persist directory whose chroma.sqlite3 gets a page of junk:
// the counts still read, but the next quick_check turns chroma.persist.up to
// 0 and reports it once; the check runs at most once per interval, and again
// at once when the file changes after a failure (here: it is restored).
func TestScrapeNoticesDamagedDatabase(t *testing.T) {
	dir := chromatest.CopyDemo(t)
	s, logs := newTestScraper(t, dir)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s.probe.check.now = clock.now
	check := s.probe.check

	up, err := scrapeUp(t, s)
	require.NoError(t, err)
	assert.Equal(t, int64(1), up)
	assert.Equal(t, 1, check.runs)

	chromatest.DamageTable(t, dir, "embedding_metadata")
	up, err = scrapeUp(t, s)
	require.NoError(t, err)
	assert.Equal(t, int64(1), up, "no new check before the interval has passed")
	assert.Equal(t, 1, check.runs)

	clock.t = clock.t.Add(time.Hour)
	up, err = scrapeUp(t, s)
	require.Error(t, err)
	assert.True(t, scrapererror.IsPartialScrapeError(err))
	assert.Contains(t, err.Error(), "quick_check")
	assert.Contains(t, err.Error(), "restore")
	assert.Equal(t, int64(0), up)
	assert.Equal(t, 2, check.runs)

	// The verdict stands without checking again, and is reported once.
	up, err = scrapeUp(t, s)
	require.NoError(t, err)
	assert.Equal(t, int64(0), up)
	assert.Equal(t, 2, check.runs)

	// A restored database is checked at once.
	require.NoError(t, chromatest.CopyDir(chromatest.DemoDir(t), dir))
	up, err = scrapeUp(t, s)
	require.NoError(t, err)
	assert.Equal(t, int64(1), up)
	assert.Equal(t, 3, check.runs)
	assert.Equal(t, 1, logs.FilterMessage("Chroma persist directory is readable again").Len())
}

func TestQuickCheckOff(t *testing.T) {
	dir := chromatest.CopyDemo(t)
	chromatest.DamageTable(t, dir, "embedding_metadata")
	s, _ := newTestScraper(t, dir)
	s.probe.check.interval = 0
	up, err := scrapeUp(t, s)
	require.NoError(t, err)
	assert.Equal(t, int64(1), up)
	assert.Equal(t, 0, s.probe.check.runs)
}
