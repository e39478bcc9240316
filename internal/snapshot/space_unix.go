//go:build unix

package snapshot

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// VolumeSpace returns the bytes an unprivileged process may still write on
// the file system holding dir, and that file system's size.
func VolumeSpace(dir string) (available, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("read the free space of %s: %w", dir, err)
	}
	bs := int64(st.Bsize) //nolint:unconvert // Bsize is int64 on linux/amd64 only
	return int64(st.Bavail) * bs, int64(st.Blocks) * bs, nil
}
