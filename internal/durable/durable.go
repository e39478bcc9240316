// Package durable makes file system changes survive a crash: the fsync of a
// folder that makes a create, rename or delete in it permanent.
package durable

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// SyncDir fsyncs the folder dir, so that the entries created, renamed or
// removed in it survive a power loss. Some file systems (and some FUSE
// mounts) cannot fsync a folder and answer EINVAL: their folder changes are
// as durable as they get, and that is not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fsync folder %s: %w", dir, err)
	}
	return nil
}
