package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The file cache lets a snapshot skip reading segment files that have not
// changed since the previous snapshot taken on this machine, as restic
// does: Chroma rewrites its HNSW files only when it persists an index, so
// most snapshots find them as they were. It lives beside the scratch
// folders (SnapshotOptions.ScratchDir), one file per repository and
// persist directory, and records for each segment file the stamp it had
// when it was last read (size, mtime, ctime, inode, mode), when that read
// started, and its block hashes. A file is skipped only when
//   - its stamp is exactly the recorded one (any write changes ctime, which
//     user programs cannot set back),
//   - it had last changed more than racyWindow before that read started (so
//     a write in the same timestamp tick as the read cannot hide), and
//   - every one of its blocks is in the bucket's listing of this run, and
//   - that read was less than maxFileCacheAge ago: every file is read at
//     least once a day, whatever its stamp says, so that a file system that
//     fails to update a stamp cannot keep a stale copy for longer.
//
// Anything else, or a missing or unreadable cache, means the file is read.
const (
	fileCacheFormat = 1
	maxFileCacheAge = 24 * time.Hour
)

type fileCacheDoc struct {
	Format     int                   `json:"format"`
	Repository string                `json:"repository_id"`
	Persist    string                `json:"persist_dir"`
	Files      map[string]cachedFile `json:"files"`
}

type cachedFile struct {
	Size      int64  `json:"size"`
	MTime     int64  `json:"mtime_ns"`
	CTime     int64  `json:"ctime_ns"`
	Ino       uint64 `json:"inode"`
	Mode      uint32 `json:"mode"`
	ReadStart int64  `json:"read_start_ns"`
	BlockSize int    `json:"block_size"`
	Blocks    []Hash `json:"blocks"`
}

type fileCache struct {
	path       string
	doc        fileCacheDoc
	racyWindow time.Duration
}

// fileCachePath names the cache of one repository and persist directory in
// the scratch parent folder.
func fileCachePath(scratchParent, repoID, persist string) string {
	sum := sha256.Sum256([]byte(repoID + "\x00" + persist))
	return filepath.Join(scratchParent, "otelcol-chroma-files-"+hex.EncodeToString(sum[:8])+".json")
}

// loadFileCache reads the cache of repoID and persist in scratchParent; one
// that is missing, unreadable or of another repository or persist directory
// is empty. window is the racy window of the skip rule.
func loadFileCache(scratchParent, repoID, persist string, window time.Duration) *fileCache {
	path := fileCachePath(scratchParent, repoID, persist)
	fc := &fileCache{path: path, racyWindow: window, doc: fileCacheDoc{Format: fileCacheFormat, Repository: repoID, Persist: persist}}
	removeStaleCacheTemps(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return fc
	}
	var doc fileCacheDoc
	if json.Unmarshal(data, &doc) != nil || doc.Format != fileCacheFormat || doc.Repository != repoID || doc.Persist != persist {
		return fc
	}
	fc.doc.Files = doc.Files
	return fc
}

// lookup returns the recorded blocks of the file at path if it can be
// skipped (see above); stored says whether a block is in the bucket.
func (fc *fileCache) lookup(path string, st fileStamp, blockSize int, stored func(Hash) bool) (cachedFile, bool) {
	e, ok := fc.doc.Files[path]
	read := time.Unix(0, e.ReadStart)
	if !ok || e.stamp() != st || e.BlockSize != blockSize || st.recent(read, fc.racyWindow) || time.Since(read) > maxFileCacheAge {
		return cachedFile{}, false
	}
	if int64(len(e.Blocks)) != (e.Size+int64(blockSize)-1)/int64(blockSize) {
		return cachedFile{}, false
	}
	for _, h := range e.Blocks {
		if !stored(h) {
			return cachedFile{}, false
		}
	}
	return e, true
}

// removeStaleCacheTemps removes the temporary files of saves that a kill
// interrupted (a minute old: a save in progress takes milliseconds).
func removeStaleCacheTemps(path string) {
	temps, _ := filepath.Glob(path + ".*.tmp")
	for _, tmp := range temps {
		if fi, err := os.Stat(tmp); err == nil && time.Since(fi.ModTime()) > time.Minute {
			os.Remove(tmp)
		}
	}
}

func (e cachedFile) stamp() fileStamp {
	return fileStamp{size: e.Size, mtime: e.MTime, ctime: e.CTime, ino: e.Ino, mode: fs.FileMode(e.Mode)}
}

// fileRead is the cached file as the pipeline's result for it.
func (e cachedFile) fileRead() *fileRead {
	fr := &fileRead{blockSize: e.BlockSize, size: e.Size}
	for i := range e.Blocks {
		fr.hashes = append(fr.hashes, &e.Blocks[i])
	}
	return fr
}

// save replaces the cache with the segment files of a stored snapshot,
// atomically (a crash leaves the old cache or the new one).
func (fc *fileCache) save(persist string, files []capturedFile) error {
	fc.doc.Files = make(map[string]cachedFile, len(files))
	for _, f := range files {
		s := f.stamp
		fc.doc.Files[filepath.Join(persist, filepath.FromSlash(f.rel))] = cachedFile{
			Size: s.size, MTime: s.mtime, CTime: s.ctime, Ino: s.ino, Mode: uint32(s.mode),
			ReadStart: f.readStart.UnixNano(), BlockSize: f.read.blockSize, Blocks: f.read.blocks(),
		}
	}
	data, err := json.Marshal(fc.doc)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(fc.path), filepath.Base(fc.path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), fc.path); err != nil {
		return fmt.Errorf("replace %s: %w", fc.path, err)
	}
	return nil
}
