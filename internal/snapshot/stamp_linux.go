//go:build linux

package snapshot

import (
	"io/fs"
	"os"
	"syscall"
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
