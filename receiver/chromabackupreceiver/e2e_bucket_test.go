package chromabackupreceiver

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

func newVersitygwFixture(t *testing.T, encrypted bool) (*bucketFixture, *versitygw.Server, string) {
	t.Helper()
	// The SDK refuses a custom HTTP client (the request counter) when it
	// must add a CA bundle to it; versitygw runs on plain HTTP.
	t.Setenv("AWS_CA_BUNDLE", "")
	srv := versitygw.Start(t)
	fx := newBucketFixture(t, srv.URLWithPrefix("backups"), encrypted)
	fx.bucket.AccessKeyID, fx.bucket.SecretAccessKey = srv.AccessKey, configopaque.String(srv.Secret)
	return fx, srv, filepath.Join(srv.DataDir, srv.Bucket, "backups")
}

// Against a real S3 server (versitygw), with snapshots taken through the
// engine and the writer key only: the metrics match the bucket; a steady
// scrape costs one request; the server stopped sets chroma.bucket.up to 0
// while the persist metrics continue, logged once; restarted, the probe
// recovers by itself, logged once.
func TestBucketMetricsVersitygw(t *testing.T) {
	fx, srv, _ := newVersitygwFixture(t, true)
	fx.snapshot(t, "other-replica")
	fx.snapshot(t, "test-instance")
	fx.failAttempt(t, "test-instance")
	counter := &countingTransport{base: http.DefaultTransport}
	s, logs := newBucketScraper(t, fx.persist, func(c *Config) {
		c.Bucket = fx.settings(t)
		c.Encryption.WriterKeyFile = writeKeyFile(t, fx.writer)
		c.BucketTimeout = 3 * time.Second
	}, withHTTPClient(&http.Client{Transport: counter}))
	ctx := context.Background()

	md, err := s.scrape(ctx)
	require.NoError(t, err)
	assertMatchesBucket(t, md, fx.repo(t, fx.reader))
	failures, _ := gauge(md, "chroma.backup.consecutive_failures")
	assert.Equal(t, int64(1), failures)
	counter.requests.Store(0)
	_, err = s.scrape(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), counter.requests.Load(), "a scrape of an unchanged bucket is one listing")

	srv.Stop()
	for i := range 2 {
		counter.requests.Store(0)
		md, err = s.scrape(ctx)
		assert.LessOrEqual(t, counter.requests.Load(), int64(3), "a scrape tries a down bucket a few times, spaced, then waits for the next scrape")
		up, _ := gauge(md, "chroma.bucket.up")
		assert.Equal(t, int64(0), up)
		persistUp, _ := gauge(md, "chroma.persist.up")
		assert.Equal(t, int64(1), persistUp, "the persist metrics keep flowing")
		_, ok := gauge(md, "chroma.backup.count")
		assert.False(t, ok, "nothing is reported from a bucket that cannot be read")
		if i == 0 {
			require.Error(t, err)
			assert.Contains(t, err.Error(), "cannot read the snapshot bucket")
			assert.Contains(t, err.Error(), "cannot reach the bucket: check its endpoint and the network")
		} else {
			assert.NoError(t, err, "the same problem is reported once")
		}
	}

	srv.Start()
	md, err = s.scrape(ctx)
	require.NoError(t, err)
	assertMatchesBucket(t, md, fx.repo(t, fx.reader))
	assert.Equal(t, 1, logs.FilterMessage("snapshot bucket is readable again and its status records are trusted").Len())
}

// Bad bucket settings are bucket problems, not crashes: wrong credentials
// and a missing bucket set chroma.bucket.up to 0 with a message that says so.
func TestBucketMisconfiguredVersitygw(t *testing.T) {
	fx, srv, _ := newVersitygwFixture(t, false)
	fx.snapshot(t, "test-instance")
	for name, c := range map[string]struct {
		mutate func(*Config)
		advice string
	}{
		"wrong secret": {func(c *Config) { c.Bucket.SecretAccessKey = "wrong" }, "check the bucket's credentials, name and permissions"},
		"missing bucket": {func(c *Config) {
			c.Bucket.URL = srv.URLWithPrefix("backups")[:len("s3://")] + "nope" + srv.URLWithPrefix("backups")[len("s3://")+len(srv.Bucket):]
		}, "bucket nope does not exist: create it or fix the bucket name"},
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := newBucketScraper(t, fx.persist, func(cfg *Config) {
				cfg.Bucket = fx.settings(t)
				cfg.BucketTimeout = 3 * time.Second
				c.mutate(cfg)
			})
			md, err := s.scrape(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.advice)
			up, _ := gauge(md, "chroma.bucket.up")
			assert.Equal(t, int64(0), up)
			persistUp, _ := gauge(md, "chroma.persist.up")
			assert.Equal(t, int64(1), persistUp)
		})
	}
}

// TestBucketRequestsVersitygw records the requests and time of one scrape
// against versitygw at 10 and 10,000 snapshots (BENCHMARKS.md): an
// unchanged bucket costs one request at both sizes; a changed one lists
// snapshots/ in pages of 1,000.
func TestBucketRequestsVersitygw(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 objects")
	}
	for _, n := range []int{10, 10_000} {
		fx, _, dir := newVersitygwFixture(t, false)
		fx.snapshot(t, "test-instance")
		addFakeManifests(t, dir, n-1)
		counter := &countingTransport{base: http.DefaultTransport}
		s, _ := newBucketScraper(t, fx.persist, func(c *Config) { c.Bucket = fx.settings(t) }, withHTTPClient(&http.Client{Transport: counter}))
		_, err := s.scrape(context.Background()) // opens the repository (config.json)
		require.NoError(t, err)
		for _, changed := range []bool{true, false} {
			counter.requests.Store(0)
			if changed {
				s.bucket.stamps = nil
			}
			start := time.Now()
			md, err := s.scrape(context.Background())
			elapsed := time.Since(start)
			require.NoError(t, err)
			count, _ := gauge(md, "chroma.backup.count")
			require.Equal(t, int64(n), count)
			want := int64(1)
			if changed {
				// status/, status/attempts/, a record, restore-test.json, blocks/, snapshots/ pages.
				want = 5 + int64((n+999)/1000)
			}
			assert.Equal(t, want, counter.requests.Load(), "snapshots=%d changed=%v", n, changed)
			t.Logf("versitygw: snapshots=%d changed=%v: %d requests, %s per scrape", n, changed, counter.requests.Load(), elapsed)
		}
	}
}
