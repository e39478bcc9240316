package snapshot

import "os"

// heldLock is a lock file this process holds (see lockFile).
type heldLock struct{ f *os.File }

// named reports whether path still names the locked file: a lock file that
// was removed (and perhaps created again) while this process waited for it
// guards nothing.
func (l *heldLock) named(path string) bool {
	held, err := l.f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(path)
	return err == nil && os.SameFile(held, now)
}

func (l *heldLock) unlock() { l.f.Close() }
