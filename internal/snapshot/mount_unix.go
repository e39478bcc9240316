//go:build unix

package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// onOtherDevice reports whether the folder path is on another file system
// than its parent: the mark of a mount point, except for a bind mount of a
// folder of the same file system.
func onOtherDevice(path string) (bool, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return false, err
	}
	parent, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return false, err
	}
	a, ok1 := st.Sys().(*syscall.Stat_t)
	b, ok2 := parent.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return false, fmt.Errorf("no device numbers for %s", path)
	}
	return a.Dev != b.Dev, nil
}
