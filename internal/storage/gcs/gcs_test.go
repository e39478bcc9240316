package gcs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/gcs"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/fakegcs"
)

var _ storage.Bucket = (*gcs.Bucket)(nil)

func newBucket(t *testing.T, srv *fakegcs.Server, bucket, prefix string) *gcs.Bucket {
	t.Helper()
	return newBucketAt(t, srv.Endpoint, bucket, prefix)
}

// newBucketAt reaches a bucket of fake-gcs-server through endpoint.
func newBucketAt(t *testing.T, endpoint, bucket, prefix string) *gcs.Bucket {
	t.Helper()
	b, err := gcs.New(t.Context(), gcs.Options{
		Bucket:       bucket,
		Prefix:       prefix,
		Endpoint:     endpoint,
		ChunkSize:    1 << 20, // several chunks for the suite's large object
		ListPageSize: 3,       // exercise pagination everywhere
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// A restore's 32 waiting requests find their connections open again.
func TestKeepsConnectionsForARestore(t *testing.T) {
	srv := fakegcs.Start(t)
	proxy := testutil.StartConnProxy(t, srv.Endpoint)
	storagetest.ReusesConnections(t, newBucketAt(t, proxy.URL, srv.Bucket, ""), proxy, 32)
}

func TestConformancePrefix(t *testing.T) {
	srv := fakegcs.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		return newBucket(t, srv, srv.Bucket, fmt.Sprintf("backups/run-%d", n.Add(1)))
	})
}

func TestConformanceWholeBucket(t *testing.T) {
	srv := fakegcs.Start(t)
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		name := fmt.Sprintf("whole-%d", n.Add(1))
		srv.CreateBucket(t, name)
		return newBucket(t, srv, name, "")
	})
}

func TestMissingBucket(t *testing.T) {
	srv := fakegcs.Start(t)
	b := newBucket(t, srv, "no-such-bucket", "p")
	err := b.Write(t.Context(), "k", bytes.NewReader([]byte("x")), 1)
	if !errors.Is(err, storage.ErrNoBucket) || !errors.Is(err, storage.ErrPermanent) || !strings.Contains(err.Error(), "bucket no-such-bucket does not exist") {
		t.Fatalf("Write to a missing bucket: %v, want ErrNoBucket", err)
	}
	for _, err := range b.List(t.Context(), "") {
		if !errors.Is(err, storage.ErrNoBucket) {
			t.Fatalf("List of a missing bucket: %v, want ErrNoBucket", err)
		}
	}
}

// Objects larger than a chunk, sized or not, go up as resumable uploads, so
// that memory stays at one chunk; smaller ones in one request. The proxy sees how each upload starts.
func TestUploadKinds(t *testing.T) {
	srv := fakegcs.Start(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var kinds []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kind := r.URL.Query().Get("uploadType"); kind != "" && r.Method == http.MethodPost {
			mu.Lock()
			kinds = append(kinds, kind)
			mu.Unlock()
		}
		r.Host = target.Host // the emulator reads other hosts as bucket names
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	b, err := gcs.New(t.Context(), gcs.Options{Bucket: srv.Bucket, Endpoint: proxy.URL, ChunkSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("chroma!"), 200_000)
	for _, w := range []struct {
		key  string
		data []byte
		size int64
	}{{"small", []byte("small"), 5}, {"big", big, int64(len(big))}, {"unsized", big, -1}, {"unsized-small", []byte("x"), -1}} {
		if err := b.Write(t.Context(), w.key, bytes.NewReader(w.data), w.size); err != nil {
			t.Fatal(err)
		}
		if got := storagetest.ReadObject(t, b, w.key); !bytes.Equal(got, w.data) {
			t.Fatalf("%s: read back %d bytes, want %d", w.key, len(got), len(w.data))
		}
	}
	if want := []string{"media", "resumable", "resumable", "media"}; !slices.Equal(kinds, want) {
		t.Fatalf("upload kinds = %q, want %q", kinds, want)
	}
}

// A reader that fails midway must never leave its first bytes stored as the
// object, whichever of the cancellation and the request body's end reaches
// the store first. Repeated, since the outcome of that race varies.
func TestFailingReaderStoresNothing(t *testing.T) {
	srv := fakegcs.Start(t)
	b := newBucket(t, srv, srv.Bucket, "failing")
	ctx := t.Context()
	for i := range 40 {
		key := fmt.Sprintf("k%d", i)
		r := io.MultiReader(bytes.NewReader(make([]byte, 64<<10)), iotest.ErrReader(errors.New("source broke")))
		if err := b.Write(ctx, key, r, 512<<10); err == nil {
			t.Fatalf("Write from a failing reader succeeded")
		}
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("attempt %d: Stat after a failed Write: %v, want ErrNotExist", i, err)
		}
	}
}

// cancelAfter is a reader that cancels the upload's context once it has
// given n bytes, as a shutdown would midway through an upload.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// A resumable upload canceled after its first chunks reports the
// cancellation and stores nothing; a later upload of the same key works.
func TestCanceledResumableUploadStoresNothing(t *testing.T) {
	srv := fakegcs.Start(t)
	b, err := gcs.New(t.Context(), gcs.Options{Bucket: srv.Bucket, Endpoint: srv.Endpoint, ChunkSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("chroma!"), 200_000) // 1.4 MB: several chunks
	for _, size := range []int64{int64(len(data)), -1} {
		ctx, cancel := context.WithCancel(t.Context())
		err := b.Write(ctx, "k", &cancelAfter{r: bytes.NewReader(data), n: 600 << 10, cancel: cancel}, size)
		cancel()
		if !errors.Is(err, context.Canceled) || errors.Is(err, storage.ErrPermanent) {
			t.Fatalf("size %d: Write canceled midway = %v, want context.Canceled", size, err)
		}
		if _, err := b.Stat(t.Context(), "k"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("size %d: Stat after a canceled Write: %v, want ErrNotExist", size, err)
		}
	}
	if err := b.Write(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got := storagetest.ReadObject(t, b, "k"); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, want %d", len(got), len(data))
	}
}

// CreateIfAbsent of an object larger than a chunk (a resumable upload) is
// refused with ErrExists over an existing object, which stays as it was.
func TestCreateIfAbsentResumable(t *testing.T) {
	srv := fakegcs.Start(t)
	b := newBucket(t, srv, srv.Bucket, "locks")
	first := bytes.Repeat([]byte("first "), 400_000) // 2.4 MB, chunk 1 MiB
	second := bytes.Repeat([]byte("second"), 400_000)
	if err := b.CreateIfAbsent(t.Context(), "big", bytes.NewReader(first), int64(len(first))); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{int64(len(second)), -1} {
		err := b.CreateIfAbsent(t.Context(), "big", bytes.NewReader(second), size)
		if !errors.Is(err, storage.ErrExists) {
			t.Fatalf("size %d: CreateIfAbsent over an existing object = %v, want ErrExists", size, err)
		}
	}
	if got := storagetest.ReadObject(t, b, "big"); !bytes.Equal(got, first) {
		t.Fatalf("the existing object changed")
	}
}
