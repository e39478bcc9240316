//go:build unix

package snapshot

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive, non-blocking lock on path (creating it; with
// exclusive, failing if it exists). The kernel releases it when the process
// dies, however it dies.
func lockFile(path string, exclusive bool) (*heldLock, error) {
	flags := os.O_RDWR | os.O_CREATE
	if exclusive {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return &heldLock{f: f}, nil
}
