package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
)

// The capture follows DESIGN.md "Snapshot consistency":
//
//  1. read the vector segments' max_seq_id from the live database;
//  2. stream each vector segment folder into the block pipeline, re-reading
//     files that change while they are read;
//  3. copy chroma.sqlite3 in one step under a read lock (VACUUM INTO in WAL
//     mode);
//  4. require the copy's vector max_seq_ids to equal step 1's, else repeat;
//  5. require a folder for every vector segment with a non-zero max_seq_id.
//
// The HNSW files are thus at least as new as their max_seq_id row in the
// copy, and the copy keeps every log row Chroma needs to replay from there.

const (
	maxCaptureAttempts = 5
	maxFolderPasses    = 5
	// racyWindow: a file modified this shortly before it was read is read
	// twice and must hash the same both times, because a write in the same
	// timestamp tick as the read would not change its stamp.
	racyWindow = 2 * time.Second
	// copyChunk bounds how long the SQLite copy runs between checks of ctx.
	copyChunk = 64 << 20
)

// capturedFile is one file streamed into the pipeline.
type capturedFile struct {
	rel     string // slash-separated, relative to the persist directory
	mode    fs.FileMode
	modTime time.Time
	read    *fileRead
	// stamp is the file's when it was read, at readStart (for a file the
	// cache let skip: when it was last read).
	stamp     fileStamp
	readStart time.Time
}

// captureRun holds one snapshot's capture state and results.
type captureRun struct {
	persist  string
	dbPath   string
	scratch  string
	up       *uploader
	cache    *fileCache
	log      *slog.Logger
	progress *progressReporter
	// Test hooks (see SnapshotOptions).
	afterSegments     func(attempt int)
	afterFileRead     func(path string)
	beforeSourceCheck func()

	// results of the successful attempt
	segFiles    []capturedFile
	dbFile      capturedFile
	journalMode string
	copyMethod  string
	facts       *chromadb.Facts
	sourceCheck *SourceCheck

	hnswTime, sqliteTime, stall, checkTime time.Duration
	attempts, rereads, skipped             int
}

// capture runs the capture steps until one attempt is consistent.
func (c *captureRun) capture(ctx context.Context, live *chromadb.DB) error {
	for attempt := 1; attempt <= maxCaptureAttempts; attempt++ {
		c.attempts = attempt
		done, err := c.captureOnce(ctx, live, attempt)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("%w: Chroma kept persisting vector segments during all %d capture attempts (a max_seq_id moved, or segment files changed while being read, every time); retry later or at a time of lower write load", ErrKeptChanging, maxCaptureAttempts)
}

func (c *captureRun) captureOnce(ctx context.Context, live *chromadb.DB, attempt int) (bool, error) {
	// Step 1.
	c.progress.phase(PhaseInspect)
	journalMode, err := live.JournalMode(ctx)
	if err != nil {
		return false, err
	}
	before, err := c.vectorPositions(ctx, live)
	if err != nil {
		return false, err
	}
	if attempt == 1 {
		c.progress.addTotal(c.estimateSize(before))
	}
	scratchDB := filepath.Join(c.scratch, fmt.Sprintf("chroma-%d.sqlite3", attempt))
	waitPrefill := func() {}
	if journalMode != "wal" {
		waitPrefill = c.prefill(ctx, scratchDB)
	}
	// Every return waits for the prefill and for the copy's stream into
	// the pipeline, and an attempt that does not succeed removes its
	// scratch copy.
	succeeded := false
	var dbRead *pendingRead
	defer func() {
		waitPrefill()
		if dbRead != nil {
			dbRead.wait()
		}
		if !succeeded {
			os.Remove(scratchDB)
		}
	}()

	// Step 2.
	c.progress.phase(PhaseSegments)
	start := time.Now()
	var files []capturedFile
	copied := make(map[string]int)
	for _, id := range chromadb.SortedVectorIDs(before) {
		if err := checkSegmentID(id); err != nil {
			return false, err
		}
		got, stable, err := c.copyFolder(ctx, id)
		if err != nil {
			return false, err
		}
		if !stable {
			c.hnswTime += time.Since(start)
			c.log.Info("segment files kept changing while being read; starting the capture again",
				"segment", id, "attempt", attempt)
			return false, nil
		}
		copied[id] = len(got)
		files = append(files, got...)
	}
	c.hnswTime += time.Since(start)
	if c.afterSegments != nil {
		c.afterSegments(attempt)
	}

	// Step 3. The prefill's descriptor on the live file must be closed
	// before the read lock is taken (see WithReadLock).
	c.progress.phase(PhaseSQLite)
	waitPrefill()
	start = time.Now()
	dbFile, method, stall, err := c.copySQLite(ctx, live, journalMode, scratchDB)
	c.sqliteTime += time.Since(start)
	c.stall += stall
	if err != nil {
		return false, err
	}
	// The copy is hashed and stored while step 4 reads its facts. If this
	// attempt turns out inconsistent, the blocks it stored belong to no
	// snapshot, like those of its segment files.
	dbRead = c.startRead(scratchDB)

	// Step 4, after the copy is checked.
	check, facts, err := c.inspectCopy(ctx, scratchDB, journalMode)
	if err != nil {
		return false, err
	}
	after := facts.VectorSeqIDs()
	if facts.Segments == nil && !check.OK {
		// The damage hides the copy's positions: keep what was read
		// before, since this copy may be the only one left.
		after = before
	}
	if !maps.Equal(before, after) {
		c.log.Info("Chroma persisted a vector segment during the capture; starting it again",
			"attempt", attempt, "before", before, "after", after)
		return false, nil
	}

	// Step 5.
	for _, id := range chromadb.SortedVectorIDs(after) {
		if after[id] > 0 && copied[id] == 0 {
			return false, fmt.Errorf("vector segment %s has max_seq_id %d but its folder %s is missing or empty: the persist directory is incomplete (Chroma could not load this collection either)",
				id, after[id], filepath.Join(c.persist, id))
		}
	}

	if dbFile.read, err = dbRead.wait(); err != nil {
		return false, err
	}
	c.segFiles, c.dbFile = files, dbFile
	c.journalMode, c.copyMethod, c.facts, c.sourceCheck = journalMode, method, facts, check
	succeeded = true
	return true, nil
}

// inspectCopy checks the SQLite copy (outside the read lock) and reads its
// facts. When the check finds damage and the facts cannot be read either,
// the facts are those of an empty database: the bytes are kept anyway.
func (c *captureRun) inspectCopy(ctx context.Context, scratchDB, journalMode string) (*SourceCheck, *chromadb.Facts, error) {
	cp, err := chromadb.OpenCopy(ctx, scratchDB)
	if err != nil {
		return nil, nil, fmt.Errorf("open the SQLite copy %s: %w", scratchDB, err)
	}
	defer cp.Close()
	if c.beforeSourceCheck != nil {
		c.beforeSourceCheck()
	}
	release := c.up.reserveCore(ctx)
	start := time.Now()
	check, err := checkSource(ctx, cp)
	release()
	c.checkTime += time.Since(start)
	if err != nil {
		return nil, nil, err
	}
	facts, err := cp.Facts(ctx)
	if err != nil {
		if !errors.Is(err, chromadb.ErrDamaged) {
			return nil, nil, fmt.Errorf("read the SQLite copy: %w", err)
		}
		if check.OK {
			// Damage the check did not see is damage all the same.
			check.OK, check.Problems = false, []string{err.Error()}
		}
		c.log.Warn("the damaged database copy hides its collections and segments; storing its bytes as they are", "error", err)
		facts = &chromadb.Facts{JournalMode: journalMode}
	}
	return check, facts, nil
}

// vectorPositions reads the vector segments' max_seq_ids (step 1). When the
// live database is too damaged to list its segments, every folder that can
// be a segment's is taken, at position 0: the bytes are kept, and the copy's
// check marks the snapshot damaged.
func (c *captureRun) vectorPositions(ctx context.Context, live *chromadb.DB) (map[string]uint64, error) {
	segs, err := live.Segments(ctx)
	if err == nil {
		return chromadb.VectorSeqIDs(segs), nil
	}
	if !errors.Is(err, chromadb.ErrDamaged) {
		return nil, err
	}
	c.log.Warn("the live database is too damaged to list its segments; taking every segment folder as it is", "error", err)
	entries, rerr := os.ReadDir(c.persist)
	if rerr != nil {
		return nil, fmt.Errorf("%w; and listing %s: %w", err, c.persist, rerr)
	}
	out := make(map[string]uint64)
	for _, e := range entries {
		if e.IsDir() && checkSegmentID(e.Name()) == nil && !strings.HasPrefix(e.Name(), ".") {
			out[e.Name()] = 0
		}
	}
	return out, nil
}

// prefill copies the live database to dst in the background, without any
// lock, and returns a function that waits for it to end. The copy may be
// torn: it only puts dst's pages in the page cache, so that the copy made
// under the read lock overwrites them in place instead of allocating them
// while Chroma's writers wait. Allocating page cache for a large database
// can take several times longer than the copy itself (on a VM whose free
// memory was handed back to the host, for example), and the writers would
// wait all that time. A failed prefill is not an error: the copy under the
// lock writes the whole file either way.
func (c *captureRun) prefill(ctx context.Context, dst string) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		src, _, err := c.copyLiveDB(ctx, dst)
		if src != nil {
			src.Close()
		}
		if err != nil {
			c.log.Debug("prefilling the scratch copy stopped; the copy under the read lock writes it whole", "error", err)
		}
	}()
	return func() { <-done }
}

// pendingRead is a file being streamed into the pipeline in the background.
type pendingRead struct {
	done chan struct{}
	read *fileRead
	err  error
}

// startRead streams the file at path into the pipeline in the background.
func (c *captureRun) startRead(path string) *pendingRead {
	p := &pendingRead{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		fh, err := os.Open(path)
		if err != nil {
			p.err = fmt.Errorf("open scratch copy: %w", err)
			return
		}
		defer fh.Close()
		if p.read, err = c.up.readFile(fh, DatabaseBlockSize); err != nil {
			p.err = fmt.Errorf("read scratch copy %s: %w", path, err)
		}
	}()
	return p
}

// wait returns once every block of the file is queued; call wait on the
// result for the hashes.
func (p *pendingRead) wait() (*fileRead, error) {
	<-p.done
	return p.read, p.err
}

// checkSegmentID refuses a segment id that is not a plain folder name, so a
// damaged database cannot make the capture read outside the persist dir.
func checkSegmentID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`+"\x00") {
		return fmt.Errorf("segment id %q in %s is not a valid folder name", id, chromadb.DatabaseFile)
	}
	return nil
}

func (c *captureRun) estimateSize(vector map[string]uint64) int64 {
	var total int64
	if fi, err := os.Stat(c.dbPath); err == nil {
		total += fi.Size()
	}
	for id := range vector {
		if checkSegmentID(id) != nil {
			continue
		}
		stamps, _ := c.scanFolder(filepath.Join(c.persist, id))
		for _, s := range stamps {
			total += s.size
		}
	}
	return total
}

// copyFolder streams every regular file of a segment folder into the
// pipeline until a pass over the folder finds no file changed since it was
// read. stable is false when that did not happen within maxFolderPasses.
func (c *captureRun) copyFolder(ctx context.Context, id string) (files []capturedFile, stable bool, err error) {
	dir := filepath.Join(c.persist, id)
	type entry struct {
		stamp fileStamp
		file  capturedFile
	}
	state := make(map[string]entry)
	for pass := range maxFolderPasses {
		current, err := c.scanFolder(dir)
		if err != nil {
			return nil, false, err
		}
		changed := false
		for _, rel := range sortedKeys(current) {
			if e, ok := state[rel]; ok && e.stamp == current[rel] {
				continue
			}
			changed = true
			delete(state, rel)
			if pass > 0 {
				c.rereads++
				c.progress.addTotal(current[rel].size)
			}
			f, stamp, ok, err := c.readStable(ctx, filepath.Join(dir, filepath.FromSlash(rel)))
			if err != nil {
				return nil, false, err
			}
			if ok {
				f.rel = id + "/" + rel
				state[rel] = entry{stamp: stamp, file: f}
			}
		}
		for rel := range state {
			if _, ok := current[rel]; !ok {
				delete(state, rel)
				changed = true
			}
		}
		if !changed {
			for _, rel := range sortedKeys(state) {
				files = append(files, state[rel].file)
			}
			return files, true, nil
		}
	}
	return nil, false, nil
}

// scanFolder stamps every regular file below dir by relative slash path. A
// missing folder has no files.
func (c *captureRun) scanFolder(dir string) (map[string]fileStamp, error) {
	out := make(map[string]fileStamp)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			c.log.Warn("skipping a non-regular file in a segment folder", "path", p, "type", d.Type().String())
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out[filepath.ToSlash(rel)] = stampOf(fi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read segment folder %s: %w", dir, err)
	}
	return out, nil
}

// readStable streams one file into the pipeline. ok is false when the file
// changed (or vanished) while it was read.
func (c *captureRun) readStable(ctx context.Context, path string) (f capturedFile, stamp fileStamp, ok bool, err error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return f, stamp, false, nil
		}
		return f, stamp, false, fmt.Errorf("open %s: %w", path, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return f, stamp, false, fmt.Errorf("stat %s: %w", path, err)
	}
	stamp = stampOf(fi)
	if e, ok := c.cache.lookup(path, stamp, c.up.blockSize, c.up.stored); ok {
		c.skipped++
		c.progress.add(stamp.size)
		f = capturedFile{mode: fi.Mode().Perm(), modTime: fi.ModTime(), read: e.fileRead(), stamp: stamp, readStart: time.Unix(0, e.ReadStart)}
		return f, stamp, true, nil
	}
	start := time.Now()
	read, err := c.up.readFile(fh, c.up.blockSize)
	if err != nil {
		return f, stamp, false, c.readErr(ctx, path, err)
	}
	if c.afterFileRead != nil {
		c.afterFileRead(path)
	}
	if same, err := c.unchanged(fh, stamp, read); err != nil || !same {
		return f, stamp, false, err
	}
	if stamp.recent(start, racyWindow) {
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return f, stamp, false, fmt.Errorf("read %s: %w", path, err)
		}
		c.progress.addTotal(stamp.size)
		again, err := c.up.readFile(fh, c.up.blockSize)
		if err != nil {
			return f, stamp, false, c.readErr(ctx, path, err)
		}
		if same, err := c.unchanged(fh, stamp, again); err != nil || !same {
			return f, stamp, false, err
		}
		read.wait()
		again.wait()
		if !sameHashes(read, again) {
			return f, stamp, false, nil
		}
	}
	f = capturedFile{mode: fi.Mode().Perm(), modTime: fi.ModTime(), read: read, stamp: stamp, readStart: start}
	return f, stamp, true, nil
}

func (c *captureRun) readErr(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("read %s: %w", path, err)
}

func (c *captureRun) unchanged(fh *os.File, stamp fileStamp, read *fileRead) (bool, error) {
	fi, err := fh.Stat()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", fh.Name(), err)
	}
	if stampOf(fi) != stamp || read.size != stamp.size {
		return false, nil
	}
	return true, nil
}

func sameHashes(a, b *fileRead) bool {
	if len(a.hashes) != len(b.hashes) {
		return false
	}
	for i := range a.hashes {
		if *a.hashes[i] != *b.hashes[i] {
			return false
		}
	}
	return true
}

// copySQLite copies the live database to dst in one step (step 3).
func (c *captureRun) copySQLite(ctx context.Context, live *chromadb.DB, journalMode, dst string) (f capturedFile, method string, stall time.Duration, err error) {
	f.rel = chromadb.DatabaseFile
	if journalMode == "wal" {
		// A file copy would miss pages still in the WAL, and WAL readers do
		// not block writers: VACUUM INTO writes a consistent copy instead.
		fi, err := os.Stat(c.dbPath)
		if err != nil {
			return f, "", 0, fmt.Errorf("stat %s: %w", c.dbPath, err)
		}
		if err := live.VacuumInto(ctx, dst); err != nil {
			return f, "", 0, err
		}
		f.mode, f.modTime = fi.Mode().Perm(), fi.ModTime()
		return f, CopyVacuumInto, 0, nil
	}
	// The descriptor on the live file is opened after the read lock is taken
	// and closed only after it is released: closing any descriptor of a file
	// drops every POSIX lock this process holds on it, SQLite's included.
	var src *os.File
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	stall, err = live.WithReadLock(ctx, func(ctx context.Context) error {
		var fi fs.FileInfo
		var err error
		src, fi, err = c.copyLiveDB(ctx, dst)
		if fi != nil {
			f.mode, f.modTime = fi.Mode().Perm(), fi.ModTime()
		}
		return err
	})
	if err != nil {
		return f, "", stall, fmt.Errorf("copy %s: %w", c.dbPath, err)
	}
	return f, CopyUnderReadLock, stall, nil
}

// copyLiveDB copies the live database file to dst. It returns the
// descriptor it opened on the live file, left open for the caller to close
// (never while holding the read lock, see WithReadLock), and the file's info.
func (c *captureRun) copyLiveDB(ctx context.Context, dst string) (*os.File, fs.FileInfo, error) {
	src, err := os.Open(c.dbPath)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", c.dbPath, err)
	}
	fi, err := src.Stat()
	if err != nil {
		return src, nil, fmt.Errorf("stat %s: %w", c.dbPath, err)
	}
	return src, fi, copyFileCtx(ctx, dst, src, fi.Size())
}

// copyFileCtx copies size bytes of src into dst, in chunks so a
// cancellation is noticed, and cuts dst to size. dst is created, or
// overwritten in place when it exists (a prefilled scratch copy); os.File's
// ReadFrom uses copy_file_range where the kernel offers it.
func copyFileCtx(ctx context.Context, dst string, src *os.File, size int64) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create scratch copy: %w", err)
	}
	var copied int64
	for copied < size {
		if err := ctx.Err(); err != nil {
			out.Close()
			return err
		}
		n, err := io.CopyN(out, src, min(copyChunk, size-copied))
		copied += n
		if err != nil {
			out.Close()
			if err == io.EOF {
				return fmt.Errorf("database shrank while locked: copied %d of %d bytes", copied, size)
			}
			return fmt.Errorf("write scratch copy %s: %w", dst, err)
		}
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return fmt.Errorf("write scratch copy %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write scratch copy %s: %w", dst, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
