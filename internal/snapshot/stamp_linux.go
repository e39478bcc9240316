//go:build linux

package snapshot

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func platformStamp(fi fs.FileInfo) (ctime int64, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Sec*1e9 + st.Ctim.Nsec, st.Ino
	}
	return 0, 0
}

// preallocate reserves size bytes for a file about to be filled by
// out-of-order writes, so it gets contiguous extents instead of a sparse
// file filled in random order.
func preallocate(f *os.File, size int64) error {
	if size > 0 {
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err == nil {
			return nil
		}
	}
	return f.Truncate(size)
}

// startWriteback asks the kernel to start writing a just-written range to
// disk without waiting, so the fsync that ends a restore finds little left
// to do and disk writes overlap with downloading and decoding.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
