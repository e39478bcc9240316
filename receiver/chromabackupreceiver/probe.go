package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
)

// persistProbe measures a persist directory. It remembers the database's counts
// and reuses them while chroma.sqlite3 is unchanged, so an idle Chroma is not
// queried at all.
type persistProbe struct {
	dir         string
	busyTimeout time.Duration
	check       *dbCheck

	cachedStamp  fileStamp
	cachedCounts [2]int64
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

type probeResult struct {
	size            int64
	sizeErr         error
	volumeAvailable int64
	volumeSize      int64
	volumeErr       error
	collections     int64
	records         int64
	dbErr           error
	// checkErr is the standing verdict of the database's quick_check.
	checkErr error
}

func (r probeResult) up() bool { return r.sizeErr == nil && r.dbErr == nil && r.checkErr == nil }

func newPersistProbe(dir string, busyTimeout, checkInterval time.Duration) *persistProbe {
	return &persistProbe{dir: dir, busyTimeout: busyTimeout, check: newDBCheck(checkInterval, busyTimeout)}
}

func (p *persistProbe) run(ctx context.Context) probeResult {
	var r probeResult
	r.size, r.sizeErr = p.dirSize()
	r.volumeAvailable, r.volumeSize, r.volumeErr = p.volume()
	if r.sizeErr != nil && errors.Is(r.sizeErr, fs.ErrNotExist) {
		r.dbErr = r.sizeErr
		return r
	}
	r.collections, r.records, r.dbErr = p.counts(ctx)
	if r.dbErr == nil {
		r.checkErr = p.check.result(ctx, filepath.Join(p.dir, chromadb.DatabaseFile))
	}
	return r
}

// dirSize sums the sizes of regular files below the persist directory without
// opening any of them.
func (p *persistProbe) dirSize() (int64, error) {
	st, err := os.Stat(p.dir)
	if err != nil {
		return 0, describeDirError(p.dir, err)
	}
	if !st.IsDir() {
		return 0, fmt.Errorf("persist directory %s is not a directory: check persist_directory", p.dir)
	}
	var total int64
	err = filepath.WalkDir(p.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking: Chroma deleted a segment
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return total, describeDirError(p.dir, err)
	}
	return total, nil
}

func (p *persistProbe) volume() (available, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p.dir, &st); err != nil {
		return 0, 0, fmt.Errorf("read free space of the persist directory's filesystem: %w", err)
	}
	bs := int64(st.Bsize) //nolint:unconvert // Bsize is int64 on linux/amd64 only
	return int64(st.Bavail) * bs, int64(st.Blocks) * bs, nil
}

func (p *persistProbe) counts(ctx context.Context) (collections, records int64, err error) {
	dbPath := filepath.Join(p.dir, chromadb.DatabaseFile)
	st, err := os.Stat(dbPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, 0, errors.New(chromadb.MissingDatabase(p.dir))
		}
		return 0, 0, describeDirError(dbPath, err)
	}
	stamp := fileStamp{size: st.Size(), mtime: st.ModTime()}
	if stamp == p.cachedStamp {
		return p.cachedCounts[0], p.cachedCounts[1], nil
	}
	db, err := chromadb.Open(ctx, dbPath, p.busyTimeout)
	if err != nil {
		return 0, 0, describeDBError(dbPath, err)
	}
	defer db.Close()
	collections, records, err = db.Counts(ctx)
	if err != nil {
		return 0, 0, describeDBError(dbPath, err)
	}
	p.cachedStamp, p.cachedCounts = stamp, [2]int64{collections, records}
	return collections, records, nil
}

func describeDirError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("persist directory %s does not exist: check persist_directory and that Chroma's volume is mounted here: %w", path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("no permission to read %s: run the collector with a user or group that can read Chroma's volume: %w", path, err)
	}
	return fmt.Errorf("read %s: %w", path, err)
}

func describeDBError(path string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, chromadb.ErrNotChroma):
		return fmt.Errorf("%s is not a Chroma database: %w", path, err)
	case errors.Is(err, fs.ErrPermission):
		return describeDirError(path, err)
	case strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked"):
		return fmt.Errorf("%s stayed locked by a writer for over %s; the next scrape retries: %w", path, sqliteBusyTimeout, err)
	case errors.Is(err, chromadb.ErrDamaged), strings.Contains(msg, "malformed") || strings.Contains(msg, "not a database") || strings.Contains(msg, "SQLITE_CORRUPT") || strings.Contains(msg, "SQLITE_NOTADB"):
		return fmt.Errorf("%s is corrupt; Chroma will fail too: restore it from a snapshot: %w", path, err)
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}
