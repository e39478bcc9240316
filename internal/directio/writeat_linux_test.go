//go:build linux

package directio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// A direct write the file system turns down (here: a length that is not a
// multiple of the logical block size, which every file system refuses with
// O_DIRECT) turns direct I/O off and reports it; the data then goes through
// the page cache.
func TestWriteAtFallsBackWhenRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := testutil.DirectIOWorks(filepath.Dir(path)); !ok {
		t.Skipf("direct I/O not available on the file system of %s: %v", path, err)
	}
	if err := Set(f, true); err != nil {
		t.Fatalf("direct I/O not available on the file system of %s: %v", path, err)
	}
	var b Buffer
	aligned := b.Fill(bytes.Repeat([]byte{'a'}, Align))
	direct, err := WriteAt(f, aligned, 0)
	if err != nil || !direct {
		t.Fatalf("aligned direct write: direct=%v err=%v", direct, err)
	}
	odd := append([]byte(nil), aligned[:Align]...)[:100] // a copy: not aligned in memory either
	direct, err = WriteAt(f, odd, Align)
	if err != nil {
		t.Fatalf("refused direct write: %v, want a fallback", err)
	}
	if direct {
		t.Fatal("a 100-byte direct write was accepted; the test needs one the kernel refuses")
	}
	if on, err := testutil.DirectIOOn(f); err != nil || on {
		t.Fatalf("after the fallback the kernel shows O_DIRECT=%v (%v), want off", on, err)
	}
	if _, err := f.WriteAt(odd, Align); err != nil {
		t.Fatalf("buffered write after the fallback: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(aligned[:Align:Align], odd...); !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want %d", len(got), len(want))
	}
}
