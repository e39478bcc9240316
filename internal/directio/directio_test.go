package directio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

func TestBufferIsAlignedAndPadded(t *testing.T) {
	var b Buffer
	for _, n := range []int{1, Align - 1, Align, Align + 1, 1 << 20, 1<<20 + 1, 3} {
		p := bytes.Repeat([]byte{0xab}, n)
		q := b.Fill(p)
		if len(q) != RoundUp(n) || len(q)%Align != 0 {
			t.Fatalf("Fill(%d bytes) gave %d bytes", n, len(q))
		}
		if uintptr(unsafe.Pointer(&q[0]))%Align != 0 {
			t.Fatalf("Fill(%d bytes) is not aligned", n)
		}
		if !IsAligned(q) {
			t.Fatalf("IsAligned(Fill(%d bytes)) = false", n)
		}
		if !bytes.Equal(q[:n], p) {
			t.Fatalf("Fill(%d bytes) changed the data", n)
		}
		// The padding is zero even where an earlier, longer fill left data.
		for i, c := range q[n:] {
			if c != 0 {
				t.Fatalf("Fill(%d bytes): padding byte %d is %#x", n, i, c)
			}
		}
	}
}

func TestIsAligned(t *testing.T) {
	var b Buffer
	q := b.Get(2 * Align)
	for _, c := range []struct {
		p    []byte
		want bool
	}{
		{q, true},
		{q[:Align], true},
		{q[1 : Align+1], false},
		{q[:Align-1], false},
		{nil, false},
	} {
		if got := IsAligned(c.p); got != c.want {
			t.Errorf("IsAligned(len %d at offset %d) = %v, want %v", len(c.p), uintptr(unsafe.Pointer(unsafe.SliceData(c.p)))%Align, got, c.want)
		}
	}
}

func TestSetDirectWritesRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Set(f, true); err != nil {
		t.Skipf("direct I/O not available here: %v", err)
	}
	var b Buffer
	want := bytes.Repeat([]byte("chroma!"), 3*Align/7+1)[:3*Align]
	if _, err := f.WriteAt(b.Fill(want), 0); err != nil {
		t.Fatalf("aligned direct write: %v", err)
	}
	if err := Set(f, false); err != nil {
		t.Fatal(err)
	}
	// Off again, an unaligned write works.
	if _, err := f.WriteAt([]byte("x"), 1); err != nil {
		t.Fatal(err)
	}
	want[1] = 'x'
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("file content differs from what was written")
	}
}
