package snapshot

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/directio"
)

// writeFileInBlocks restores content into a new file through restoreFile,
// block by block in reverse order, from unaligned buffers.
func writeFileInBlocks(t *testing.T, path string, content []byte, blockSize int, direct bool) *restoreFile {
	t.Helper()
	rf, err := createRestoreFile(path, int64(len(content)), direct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rf.close)
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
	for _, size := range []int{3*blockSize + 12345, 2 * blockSize, blockSize + 1, 100} {
		content := make([]byte, size)
		for i := range content {
			content[i] = byte(rng.Uint32())
		}
		path := filepath.Join(t.TempDir(), "data_level0.bin")
		rf := writeFileInBlocks(t, path, content, blockSize, true)
		wantDirect := size >= directMinSize && directio.Set(rf.f, true) == nil
		if rf.direct.Load() != wantDirect {
			t.Fatalf("size %d: direct = %v, want %v", size, rf.direct.Load(), wantDirect)
		}
		if wantDirect && size%directio.Align != 0 && !rf.padded.Load() {
			t.Fatalf("size %d: the partial last block was not padded", size)
		}
		finishAndCheck(t, rf, path, content, 0o644, mtime)
	}
}

// A repository's block size need not be a multiple of the direct-I/O
// alignment: blocks at unaligned offsets go through the page cache.
func TestRestoreFileWithUnalignedBlockSize(t *testing.T) {
	const blockSize = 100_000
	content := bytes.Repeat([]byte("hnswlib!"), 15*blockSize/8+5)
	path := filepath.Join(t.TempDir(), "data_level0.bin")
	rf := writeFileInBlocks(t, path, content, blockSize, true)
	if rf.direct.Load() {
		t.Fatal("still direct after a write at an unaligned offset")
	}
	mtime := time.Unix(1750000000, 0)
	finishAndCheck(t, rf, path, content, 0o644, mtime)
}

func TestRestoreFileFallsBackWhenDirectWritesAreRefused(t *testing.T) {
	calls := 0
	directWriteAt = func(f *os.File, p []byte, off int64) (int, error) {
		calls++
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.EINVAL}
	}
	t.Cleanup(func() { directWriteAt = (*os.File).WriteAt })

	content := bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/16+7)
	path := filepath.Join(t.TempDir(), "link_lists.bin")
	rf := writeFileInBlocks(t, path, content, 1<<20, true)
	if directio.Set(rf.f, false) != nil {
		t.Skip("direct I/O not available here")
	}
	if calls != 1 {
		t.Fatalf("%d direct writes tried, want 1 before falling back", calls)
	}
	if rf.direct.Load() || rf.padded.Load() {
		t.Fatal("still direct after a refused write")
	}
	mtime := time.Unix(1700000000, 0)
	finishAndCheck(t, rf, path, content, 0o600, mtime)
}

func TestRestoreFileNeverDirectForTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chroma.sqlite3")
	rf := writeFileInBlocks(t, path, make([]byte, 4<<20), 1<<20, false)
	if rf.direct.Load() {
		t.Fatal("direct I/O used although not asked for")
	}
}
