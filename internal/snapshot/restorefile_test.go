package snapshot

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/directio"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// writeFileInBlocks restores content into a new file through restoreFile,
// block by block in reverse order, from unaligned buffers. setup, if not nil,
// sees the file before the first write.
func writeFileInBlocks(t *testing.T, path string, content []byte, blockSize int, direct bool, setup func(*restoreFile)) *restoreFile {
	t.Helper()
	rf, err := createRestoreFile(path, int64(len(content)), direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rf.close)
	if setup != nil {
		setup(rf)
	}
	var scratch directio.Buffer
	for off := (len(content) - 1) / blockSize * blockSize; off >= 0; off -= blockSize {
		block := content[off:min(off+blockSize, len(content))]
		unaligned := append([]byte{0}, block...)[1:]
		if err := rf.writeBlock(unaligned, int64(off), &scratch); err != nil {
			t.Fatal(err)
		}
	}
	return rf
}

// requireDirectIO skips the test where the file system of dir takes no
// direct writes, as found by opening a file there with O_DIRECT.
func requireDirectIO(t *testing.T, dir string) {
	t.Helper()
	if ok, err := testutil.DirectIOWorks(dir); !ok {
		t.Skipf("the file system of %s takes no direct writes (%v): nothing to test here", dir, err)
	}
}

// kernelDirect reports whether the kernel has O_DIRECT on rf's file.
func kernelDirect(t *testing.T, rf *restoreFile) bool {
	t.Helper()
	on, err := testutil.DirectIOOn(rf.f)
	if err != nil {
		t.Fatalf("read the file's flags from the kernel: %v", err)
	}
	return on
}

// finishAndCheck finishes rf with mode and mtime, then checks the file at
// path holds want and carries them.
func finishAndCheck(t *testing.T, rf *restoreFile, path string, want []byte, mode fs.FileMode, mtime time.Time) {
	t.Helper()
	if err := rf.finish(mode, mtime); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s has %d bytes, want %d", path, len(got), len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s content differs", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode || !st.ModTime().Equal(mtime) {
		t.Fatalf("%s: mode %v mtime %v, want %v %v", path, st.Mode().Perm(), st.ModTime(), mode, mtime)
	}
}

func TestRestoreFileDirectWithPartialLastBlock(t *testing.T) {
	const blockSize = 1 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	mtime := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	for _, c := range []struct {
		size   int
		direct bool // files of a block (1 MiB) and more are written direct
		padded bool // the last block is not a multiple of 4096 bytes
	}{
		{3*blockSize + 12345, true, true},
		{2 * blockSize, true, false},
		{blockSize + 1, true, true},
		{blockSize, true, false},
		{blockSize - 1, false, false},
		{100, false, false},
	} {
		content := make([]byte, c.size)
		for i := range content {
			content[i] = byte(rng.Uint32())
		}
		dir := t.TempDir()
		requireDirectIO(t, dir)
		path := filepath.Join(dir, "data_level0.bin")
		rf := writeFileInBlocks(t, path, content, blockSize, true, nil)
		if got := kernelDirect(t, rf); got != c.direct {
			t.Fatalf("size %d: the kernel shows O_DIRECT=%v after the writes, want %v", c.size, got, c.direct)
		}
		if rf.padded.Load() != c.padded {
			t.Fatalf("size %d: padded = %v, want %v", c.size, rf.padded.Load(), c.padded)
		}
		finishAndCheck(t, rf, path, content, 0o644, mtime)
	}
}

// A repository's block size need not be a multiple of the direct-I/O
// alignment: blocks at unaligned offsets go through the page cache.
func TestRestoreFileWithUnalignedBlockSize(t *testing.T) {
	const blockSize = 100_000
	content := bytes.Repeat([]byte("hnswlib!"), 15*blockSize/8+5)
	dir := t.TempDir()
	requireDirectIO(t, dir)
	path := filepath.Join(dir, "data_level0.bin")
	rf := writeFileInBlocks(t, path, content, blockSize, true, nil)
	if rf.direct.Load() || kernelDirect(t, rf) {
		t.Fatal("still direct after a write at an unaligned offset")
	}
	mtime := time.Unix(1750000000, 0)
	finishAndCheck(t, rf, path, content, 0o644, mtime)
}

// A file system that takes O_DIRECT but turns the first aligned write down:
// the file is written through the page cache from then on, and completely.
// The refusal is the kernel's own: the stand-in drops the last byte of each
// direct write, a length no file system takes with O_DIRECT.
func TestRestoreFileFallsBackWhenDirectWritesAreRefused(t *testing.T) {
	dir := t.TempDir()
	requireDirectIO(t, dir)
	calls := 0
	refusing := func(f *os.File, p []byte, off int64) (bool, error) {
		calls++
		return directio.WriteAt(f, p[:len(p)-1], off)
	}
	content := bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/16+7)
	path := filepath.Join(dir, "link_lists.bin")
	rf := writeFileInBlocks(t, path, content, 1<<20, true, func(rf *restoreFile) {
		if !kernelDirect(t, rf) {
			t.Fatal("a 5 MiB segment file was not opened for direct writes")
		}
		rf.writeDirect = refusing
	})
	if calls != 1 {
		t.Fatalf("%d direct writes tried, want 1 before falling back", calls)
	}
	if rf.direct.Load() || rf.padded.Load() || kernelDirect(t, rf) {
		t.Fatal("still direct after a refused write")
	}
	mtime := time.Unix(1700000000, 0)
	finishAndCheck(t, rf, path, content, 0o600, mtime)
}

func TestRestoreFileNeverDirectForTheDatabase(t *testing.T) {
	dir := t.TempDir()
	requireDirectIO(t, dir)
	path := filepath.Join(dir, "chroma.sqlite3")
	rf := writeFileInBlocks(t, path, make([]byte, 4<<20), 1<<20, false, nil)
	if rf.direct.Load() || kernelDirect(t, rf) {
		t.Fatal("direct I/O used although not asked for")
	}
}
