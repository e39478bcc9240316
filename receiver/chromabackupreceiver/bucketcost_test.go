package chromabackupreceiver

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// countingBucket counts the bucket operations that become requests on S3:
// a listing counts one per started page of 1,000 keys.
type countingBucket struct {
	storage.Bucket
	requests atomic.Int64
}

func (b *countingBucket) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		b.requests.Add(1)
		n := 0
		for info, err := range b.Bucket.List(ctx, prefix) {
			if n++; n%1000 == 1 && n > 1 {
				b.requests.Add(1)
			}
			if !yield(info, err) {
				return
			}
		}
	}
}

func (b *countingBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	b.requests.Add(1)
	return b.Bucket.Read(ctx, key)
}

func (b *countingBucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	b.requests.Add(1)
	return b.Bucket.Stat(ctx, key)
}

// countingTransport counts HTTP requests to an S3 store.
type countingTransport struct {
	base     http.RoundTripper
	requests atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	return c.base.RoundTrip(r)
}

// addFakeManifests writes n manifest objects straight into a bucket's
// folder, with ids older than every real one: the probe lists
// snapshots/ but never reads a manifest, so their content does not matter.
func addFakeManifests(t testing.TB, dir string, n int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "snapshots"), 0o755))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("%s-%08x", base.Add(time.Duration(i)*time.Minute).Format("20060102T150405Z"), i)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "snapshots", id+".manifest"), make([]byte, 100), 0o644))
	}
}

func newCountingProbe(t testing.TB, dir string) (*bucketProbe, *countingBucket) {
	t.Helper()
	b, err := storage.Open(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	cb := &countingBucket{Bucket: b}
	return newBucketProbe(cb, snapshot.Keys{}, time.Minute, 15*time.Minute), cb
}

// A scrape that finds status/ unchanged costs one listing of status/,
// whatever the number of snapshots; a new attempt, or listInterval
// passing, lists snapshots/ and blocks/ again.
func TestBucketProbeCost(t *testing.T) {
	dir := t.TempDir()
	fx := newBucketFixture(t, "file://"+dir, false)
	fx.snapshot(t, "test-instance")
	addFakeManifests(t, dir, 2500)
	p, cb := newCountingProbe(t, dir)
	now := time.Now()
	p.now = func() time.Time { return now }

	st, err := p.run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2501, st.inv.Snapshots)
	// config.json, status/, status/attempts/, one record,
	// restore-test.json, 3 pages of snapshots/, blocks/.
	assert.Equal(t, int64(9), cb.requests.Swap(0))

	for range 3 {
		st, err = p.run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, int64(1), cb.requests.Swap(0), "an unchanged bucket costs one listing of status/")
		assert.Equal(t, 2501, st.inv.Snapshots)
	}

	fx.snapshot(t, "test-instance")
	st, err = p.run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2502, st.inv.Snapshots, "a new attempt record triggers a new listing")
	assert.Equal(t, int64(8), cb.requests.Swap(0), "the same, without config.json")

	// A deletion writes no record: seen after listInterval.
	require.NoError(t, os.Remove(filepath.Join(dir, "snapshots", "20200101T000000Z-00000000.manifest")))
	st, err = p.run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2502, st.inv.Snapshots)
	now = now.Add(15 * time.Minute)
	st, err = p.run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2501, st.inv.Snapshots, "listed again after listInterval")
}

// BenchmarkBucketScrape measures one bucket probe against a file bucket
// holding 10 and 10,000 snapshots: "unchanged" is the usual scrape (no new
// attempt since the last one), "changed" lists snapshots/ and blocks/ again
// (a new attempt was recorded). requests/op counts the bucket requests
// the same scrape makes on S3 (1,000 keys per listing page).
func BenchmarkBucketScrape(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		dir := b.TempDir()
		fx := newBucketFixture(b, "file://"+dir, false)
		fx.snapshot(b, "test-instance")
		addFakeManifests(b, dir, n-1)
		for _, changed := range []bool{false, true} {
			name := fmt.Sprintf("snapshots=%d/unchanged", n)
			if changed {
				name = fmt.Sprintf("snapshots=%d/changed", n)
			}
			b.Run(name, func(b *testing.B) {
				p, cb := newCountingProbe(b, dir)
				_, err := p.run(context.Background())
				require.NoError(b, err)
				cb.requests.Store(0)
				for b.Loop() {
					if changed {
						p.stamps = nil
					}
					if _, err := p.run(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cb.requests.Load())/float64(b.N), "requests/op")
			})
		}
	}
}
