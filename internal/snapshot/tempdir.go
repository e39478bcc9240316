package snapshot

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// lockedTempDir makes a folder named prefix+random in parent for one run's
// temporary files (the SQLite copy of a snapshot, the tree a restore builds).
// A lock file beside it is held for as long as the run lives, and released by
// release (the caller removes or renames the folder first). Folders of the same
// prefix whose lock is free were left by a run that was killed: they are
// removed first, so a kill -9 costs disk space only until the next run.
func lockedTempDir(parent, prefix string) (dir string, release func(), err error) {
	removeStaleTempDirs(parent, prefix)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", nil, err
	}
	dir = filepath.Join(parent, prefix+hex.EncodeToString(rnd[:]))
	unlock, err := lockFile(dir+".lock", true)
	if err != nil {
		return "", nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		unlock()
		os.Remove(dir + ".lock")
		return "", nil, err
	}
	return dir, func() {
		unlock()
		os.Remove(dir + ".lock")
	}, nil
}

// removeStaleTempDirs removes parent/prefix* folders whose lock nobody holds.
// Errors are ignored: the worst case is a stale folder left for the next run.
func removeStaleTempDirs(parent, prefix string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, prefix) {
			continue
		}
		dir := filepath.Join(parent, name)
		unlock, err := lockFile(dir+".lock", false)
		if err != nil {
			continue // held: a live run owns it
		}
		if err := os.RemoveAll(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			os.Remove(dir + ".lock")
		}
		unlock()
	}
}
