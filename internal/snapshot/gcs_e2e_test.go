package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/fakegcs"
)

// The demo persist directory, written by a real Chroma, goes through a
// gs:// bucket on fake-gcs-server and back: an encrypted snapshot with
// blocks larger than one upload chunk, a byte-identical restore, and a
// block altered in the bucket caught by verify --read-data.
func TestDemoRoundTripGCS(t *testing.T) {
	ctx := testContext(t)
	srv := fakegcs.Start(t)
	b, err := storage.Open(ctx, srv.URLWithPrefix("demo")+"&chunk_size=262144", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := chromatest.CopyDemo(t)
	// The demo's blocks all compress below one chunk: make one that does not.
	vectors, err := filepath.Glob(filepath.Join(src, "*", "data_level0.bin"))
	if err != nil || len(vectors) == 0 {
		t.Fatalf("no data_level0.bin in the demo: %v", err)
	}
	(&fixture{}).overwrite(t, vectors[0], 0, randomBytes(newRand(), 512<<10))
	writer, reader := mustKeys(t)
	m, err := mustOpen(t, b, writer).Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir(), BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	repo := mustOpen(t, b, reader)
	requireSameTree(t, src, restoreTo(t, repo, m.ID))
	if _, err := repo.Verify(ctx, m.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatalf("verify --read-data of a good snapshot: %v", err)
	}

	victim := largestBlock(t, b)
	alterObject(t, srv, "demo/"+victim)
	_, err = repo.Verify(ctx, m.ID, VerifyOptions{ReadData: true})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), victim[strings.LastIndexByte(victim, '/')+1:]) {
		t.Fatalf("verify --read-data after altering %s: %v, want ErrCorrupt naming it", victim, err)
	}
}

func largestBlock(t *testing.T, b storage.Bucket) string {
	t.Helper()
	var key string
	var size int64
	for o, err := range b.List(t.Context(), "blocks/") {
		if err != nil {
			t.Fatal(err)
		}
		if o.Size > size {
			key, size = o.Key, o.Size
		}
	}
	if size <= 256<<10 {
		t.Fatalf("largest block %s has %d bytes; the test wants one over a 256 KiB upload chunk", key, size)
	}
	return key
}

// alterObject flips one byte of an object, writing through a bucket opened
// on the whole emulator bucket rather than the snapshot's prefix.
func alterObject(t *testing.T, srv *fakegcs.Server, name string) {
	t.Helper()
	b, err := storage.Open(t.Context(), srv.URLWithPrefix(""), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Read(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := b.Write(t.Context(), name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(fmt.Errorf("rewrite %s: %w", name, err))
	}
}
