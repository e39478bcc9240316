//go:build !unix

package snapshot

import (
	"errors"
	"os"
)

// lockFile on systems without flock: the owner creates the file exclusively;
// stale folders are never detected as free, so they are left in place.
func lockFile(path string, exclusive bool) (*heldLock, error) {
	if !exclusive {
		return nil, errors.New("cannot tell a stale folder from a live one here")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &heldLock{f: f}, nil
}
