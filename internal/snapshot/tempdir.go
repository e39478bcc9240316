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

// lockSuffix ends the name of the lock file beside each temporary folder.
const lockSuffix = ".lock"

// lockedTempDir makes a folder named prefix+random in parent for one run's
// temporary files (the SQLite copy of a snapshot, the tree a restore builds).
// A lock file beside it is held for as long as the run lives, and released by
// release (the caller removes or renames the folder first). Folders and lock
// files of the same prefix whose lock is free were left by a run that was
// killed: they are removed first, so a kill -9 costs disk space only until
// the next run. recoverStale, if not nil, replaces that removal: it is given
// each stale folder (which may not exist) while its lock is held, and the
// lock file is removed only if it succeeds.
func lockedTempDir(parent, prefix string, recoverStale func(dir string) error) (dir string, release func(), err error) {
	if recoverStale == nil {
		recoverStale = removeTempDir
	}
	removeStaleTempDirs(parent, prefix, recoverStale)
	for attempt := 0; ; attempt++ {
		var rnd [8]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", nil, err
		}
		dir = filepath.Join(parent, prefix+hex.EncodeToString(rnd[:]))
		l, err := lockFile(dir+lockSuffix, true)
		if err != nil {
			return "", nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		// Between creating the lock file and locking it, another run's
		// cleanup may have found it free and removed it: it then guards
		// nothing, so start again under another name.
		if !l.named(dir + lockSuffix) {
			l.unlock()
			if attempt < 3 {
				continue
			}
			return "", nil, fmt.Errorf("lock %s: the lock file keeps disappearing", dir)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			l.unlock()
			os.Remove(dir + lockSuffix)
			return "", nil, err
		}
		return dir, func() {
			os.Remove(dir + lockSuffix)
			l.unlock()
		}, nil
	}
}

// removeStaleTempDirs removes parent/prefix* folders, and lock files without
// a folder, whose lock nobody holds. A run killed between removing its folder
// and its lock file leaves the lock file alone. Errors are ignored: the worst
// case is a stale entry left for the next run.
func removeStaleTempDirs(parent, prefix string, recoverStale func(dir string) error) {
	for _, dir := range staleTempDirCandidates(parent, prefix) {
		l, err := lockFile(dir+lockSuffix, false)
		if err != nil {
			continue // held: a live run owns it
		}
		if l.named(dir+lockSuffix) && recoverStale(dir) == nil {
			os.Remove(dir + lockSuffix)
		}
		l.unlock()
	}
}

func removeTempDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// staleTempDirCandidates lists the temporary folders of prefix in parent,
// and the folders named by lock files of prefix that have none.
func staleTempDirCandidates(parent, prefix string) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	seen := make(map[string]bool)
	var dirs []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		switch base, isLock := strings.CutSuffix(name, lockSuffix); {
		case e.IsDir() && !isLock:
			name = base
		case isLock && e.Type().IsRegular():
			name = base
		default:
			continue
		}
		if !seen[name] {
			seen[name] = true
			dirs = append(dirs, filepath.Join(parent, name))
		}
	}
	return dirs
}
