package gcs_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/gcs"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/fakegcs"
)

var _ storage.Bucket = (*gcs.Bucket)(nil)

func newBucket(t *testing.T, srv *fakegcs.Server, bucket, prefix string) *gcs.Bucket {
	t.Helper()
	b, err := gcs.New(t.Context(), gcs.Options{
		Bucket:       bucket,
		Prefix:       prefix,
		Endpoint:     srv.Endpoint,
		ChunkSize:    1 << 20, // several chunks for the suite's large object
		ListPageSize: 3,       // exercise pagination everywhere
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
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
