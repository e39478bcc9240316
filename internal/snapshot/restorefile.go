package snapshot

import (
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/directio"
)

// directMinSize is the smallest file written directly: below one block the
// page cache costs nothing worth saving.
const directMinSize = 1 << 20

// restoreFile is one file being restored. Large segment files are written
// with direct I/O where the file system supports it: the blocks go from our
// buffer to the disk without being copied into the page cache and written
// back later, which on a 2-CPU machine is most of a restore's CPU time.
// Writes that the file system refuses direct fall back to buffered writes,
// for this file from then on.
type restoreFile struct {
	f      *os.File
	path   string
	size   int64
	direct atomic.Bool
	// writeDirect makes the direct writes: directio.WriteAt, or in a test a
	// file system that refuses them.
	writeDirect func(f *os.File, p []byte, off int64) (direct bool, err error)
	// padded is set when a direct write of the last, partial block ran past
	// size: finish truncates the file back.
	padded atomic.Bool
}

// createRestoreFile creates path (which must not exist) with room for size
// bytes; direct asks for direct I/O (never for a file that is read right
// after the restore, like the database being checked).
func createRestoreFile(path string, size int64, direct bool) (*restoreFile, error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := preallocate(fh, size); err != nil {
		fh.Close()
		return nil, fmt.Errorf("size %s: %w", path, err)
	}
	rf := &restoreFile{f: fh, path: path, size: size, writeDirect: directio.WriteAt}
	if direct && size >= directMinSize && directio.Set(fh, true) == nil {
		rf.direct.Store(true)
	}
	return rf, nil
}

// writeBlock writes p at off. scratch is the calling worker's aligned
// buffer, used when p is not aligned for a direct write.
func (rf *restoreFile) writeBlock(p []byte, off int64, scratch *directio.Buffer) error {
	if rf.direct.Load() {
		done, err := rf.tryDirect(p, off, scratch)
		if done || err != nil {
			return err
		}
	}
	if _, err := rf.f.WriteAt(p, off); err != nil {
		return err // names the file and the operation
	}
	startWriteback(rf.f, off, int64(len(p)))
	return nil
}

// tryDirect writes p at off with direct I/O. When that is not possible (a
// block at an unaligned offset, from a block size that is not a multiple of
// the alignment, or a file system that turned an aligned direct write down)
// it turns direct I/O off for this file and reports done=false: the caller
// writes through the page cache, as every later write of this file will.
func (rf *restoreFile) tryDirect(p []byte, off int64, scratch *directio.Buffer) (done bool, err error) {
	if off%directio.Align == 0 {
		q := p
		if !directio.IsAligned(q) {
			q = scratch.Fill(p)
		}
		direct, err := rf.writeDirect(rf.f, q, off)
		if err != nil {
			return false, err // names the file and the operation
		}
		if direct {
			if len(q) > len(p) {
				rf.padded.Store(true)
			}
			return true, nil
		}
		rf.direct.Store(false)
		return false, nil
	}
	rf.direct.Store(false)
	if err := directio.Set(rf.f, false); err != nil {
		return false, fmt.Errorf("write %s: %w", rf.path, err)
	}
	return false, nil
}

// finish cuts off direct-write padding, makes the content durable, closes
// the file and gives it its mode and mtime.
func (rf *restoreFile) finish(mode fs.FileMode, mtime time.Time) error {
	f := rf.f
	rf.f = nil
	if rf.padded.Load() {
		if err := f.Truncate(rf.size); err != nil {
			f.Close()
			return fmt.Errorf("size %s: %w", rf.path, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", rf.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", rf.path, err)
	}
	if err := os.Chmod(rf.path, mode.Perm()); err != nil {
		return fmt.Errorf("set mode of %s: %w", rf.path, err)
	}
	if err := os.Chtimes(rf.path, mtime, mtime); err != nil {
		return fmt.Errorf("set mtime of %s: %w", rf.path, err)
	}
	return nil
}

// close releases a file that was not finished.
func (rf *restoreFile) close() {
	if rf.f != nil {
		rf.f.Close()
		rf.f = nil
	}
}
