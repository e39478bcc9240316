package snapshot

import (
	"io/fs"
	"time"
)

// fileStamp is what must not change while a file is read: a change of any
// field means the file was written (or replaced) meanwhile.
type fileStamp struct {
	size  int64
	mtime int64 // UnixNano
	ctime int64 // UnixNano, where the platform has it
	ino   uint64
	mode  fs.FileMode
}

func stampOf(fi fs.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
	s.ctime, s.ino = platformStamp(fi)
	return s
}

// recent reports whether the file changed so shortly before t that a write
// in the same timestamp tick could go unnoticed.
func (s fileStamp) recent(t time.Time, window time.Duration) bool {
	last := max(s.mtime, s.ctime)
	return last >= t.Add(-window).UnixNano()
}
