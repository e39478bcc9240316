package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// DefaultBusyTimeout is how long the capture waits for Chroma's writer to
// release the database before giving up.
const DefaultBusyTimeout = 30 * time.Second

// SnapshotOptions configure one snapshot.
type SnapshotOptions struct {
	// PersistDir is Chroma's persist directory (holding chroma.sqlite3).
	PersistDir string
	// ScratchDir holds the temporary SQLite copy; default os.TempDir(). It
	// needs free space for one copy of chroma.sqlite3.
	ScratchDir string
	// BlockSize is used when the snapshot creates the repository; zero means
	// DefaultBlockSize (or the repository's). A value different from an
	// existing repository's is refused.
	BlockSize int
	// Concurrency is the number of blocks read and coded at once; default
	// 2*GOMAXPROCS (at least 4). Into a remote bucket, up to 32 stores (never
	// fewer than Concurrency) wait on it meanwhile.
	Concurrency int
	// Instance is an operator-chosen label recorded in the manifest.
	Instance string
	// ToolVersion is recorded in the manifest; default: the binary's module version.
	ToolVersion string
	// BusyTimeout bounds waiting for Chroma's writer; default DefaultBusyTimeout.
	BusyTimeout time.Duration
	// UnrecordedFailures are failed attempts of this instance since its
	// last success that have no status record (the bucket could not be
	// reached to write one). A failed attempt's record counts them in
	// consecutive_failures, so failures during a bucket outage show once
	// the bucket is back. The caller keeps the count (SnapshotRecorded
	// says whether a record was written).
	UnrecordedFailures int
	// Time is recorded as the snapshot's time (its id and Created) instead
	// of the clock, like restic's backup --time; retention goes by it.
	Time     time.Time
	Progress Progress
	Logger   *slog.Logger

	// Test hooks: afterSegments runs between capture steps 2 and 3,
	// afterFileRead after a segment file's first read, beforeSourceCheck
	// just before the SQLite copy is checked.
	afterSegments     func(attempt int)
	afterFileRead     func(path string)
	beforeSourceCheck func()
	// cacheRacyWindow replaces racyWindow in the file cache's rule when
	// not zero (negative: no window).
	cacheRacyWindow time.Duration
}

// Snapshot captures a consistent snapshot of a live Chroma persist
// directory into the repository, creating the repository on first use. The
// manifest is written last, only after every block it lists is stored: an
// error or cancellation leaves at most unreferenced blocks, never a snapshot.
//
// The SQLite copy is checked with PRAGMA integrity_check. When the live
// database is damaged, the snapshot is stored anyway (it may be the only
// copy left), marked in its manifest (Manifest.SourceDamaged), and Snapshot
// returns that manifest together with an error wrapping ErrSourceCorrupt.
//
// Every attempt, whatever its outcome, ends by writing the instance's
// status record (see AttemptRecord) once the repository exists.
func (r *Repository) Snapshot(ctx context.Context, opts SnapshotOptions) (*Manifest, error) {
	m, _, err := r.SnapshotRecorded(ctx, opts)
	return m, err
}

// SnapshotRecorded is Snapshot, and also reports whether the attempt's
// status record was written.
func (r *Repository) SnapshotRecorded(ctx context.Context, opts SnapshotOptions) (m *Manifest, recorded bool, err error) {
	start := time.Now()
	m, err = r.snapshot(ctx, opts, start)
	recorded = r.recordAttempt(ctx, opts, start, m, err)
	return m, recorded, err
}

func (r *Repository) snapshot(ctx context.Context, opts SnapshotOptions, start time.Time) (*Manifest, error) {
	log := discardLogger(opts.Logger)
	if opts.PersistDir == "" {
		return nil, errors.New("snapshot: no persist directory given")
	}
	persist, err := filepath.Abs(opts.PersistDir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if err := checkPersistDir(persist); err != nil {
		return nil, err
	}
	if cfg := r.config(); cfg != nil && cfg.Encrypted && !r.keys.CanWrite() {
		if r.keys.CanRead() {
			return nil, fmt.Errorf("%w: snapshots are taken with the writer key; %s is a reader key", ErrKeyRequired, r.keys.Source())
		}
		return nil, fmt.Errorf("%w: this repository (%s) is encrypted; taking a snapshot needs the writer key", ErrKeyRequired, r.bucket)
	}
	if r.keys.Encrypted() && !r.keys.CanWrite() {
		return nil, fmt.Errorf("%w: snapshots are taken with the writer key; %s is a reader key", ErrKeyRequired, r.keys.Source())
	}
	if bs := opts.BlockSize; bs != 0 && (bs < MinBlockSize || bs > MaxBlockSize) {
		return nil, fmt.Errorf("snapshot: block size %d out of range [%d, %d]", bs, MinBlockSize, MaxBlockSize)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	dbPath := filepath.Join(persist, chromadb.DatabaseFile)
	live, err := chromadb.Open(ctx, dbPath, busy)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", persist, err)
	}
	defer live.Close()

	cfg, err := r.ensureConfig(ctx, opts.BlockSize)
	if err != nil {
		return nil, err
	}
	if opts.BlockSize != 0 && opts.BlockSize != cfg.BlockSize {
		return nil, fmt.Errorf("snapshot: the repository in %s uses block size %d; leave the block size unset (or use a new bucket prefix)", r.bucket, cfg.BlockSize)
	}
	// The shared lock keeps prune away from every block this snapshot
	// finds stored and reuses, until its manifest is written.
	lk, err := r.lock(ctx, false, "snapshot", log)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", persist, err)
	}
	defer lk.release()
	ctx = lk.ctx
	scratchParent := opts.ScratchDir
	if scratchParent == "" {
		scratchParent = os.TempDir()
	}
	scratch, release, err := lockedTempDir(scratchParent, "otelcol-chroma-snapshot-", nil)
	if err != nil {
		return nil, fmt.Errorf("snapshot: create scratch folder in %s: %w", scratchParent, err)
	}
	defer func() {
		os.RemoveAll(scratch)
		release()
	}()

	progress := newProgress(opts.Progress)
	up, err := newUploader(ctx, r.bucket, r.keys, cfg.BlockSize, r.parallelismFor(opts.Concurrency), progress)
	if err != nil {
		return nil, err
	}
	window := racyWindow
	if opts.cacheRacyWindow != 0 {
		window = max(opts.cacheRacyWindow, 0)
	}
	cache := loadFileCache(scratchParent, cfg.RepositoryID, persist, window)
	run := &captureRun{
		persist:           persist,
		dbPath:            dbPath,
		scratch:           scratch,
		up:                up,
		cache:             cache,
		log:               log,
		progress:          progress,
		afterSegments:     opts.afterSegments,
		afterFileRead:     opts.afterFileRead,
		beforeSourceCheck: opts.beforeSourceCheck,
	}
	if err := run.capture(up.ctx, live); err != nil {
		up.abort(err)
		return nil, r.snapshotErr(ctx, persist, up, err)
	}
	progress.phase(PhaseUpload)
	if err := up.finish(); err != nil {
		return nil, r.snapshotErr(ctx, persist, up, err)
	}

	idTime, err := r.snapshotIDTime(ctx, cfg, opts.Time, log)
	if err != nil {
		return nil, r.snapshotErr(ctx, persist, up, err)
	}
	m, err := r.buildManifest(cfg, persist, opts, run, up, start, idTime)
	if err != nil {
		return nil, err
	}
	progress.phase(PhaseManifest)
	if err := r.commit(ctx, lk, cfg, m); err != nil {
		return nil, err
	}
	if err := cache.save(persist, run.segFiles); err != nil {
		log.Warn("could not record the segment files' state for the next snapshot; it will read every file", "error", err)
	}
	log.Info("snapshot stored", "id", m.ID, "bytes", m.Stats.LogicalBytes, "added_bytes", m.Stats.AddedBytes,
		"blocks_new", m.Stats.BlocksNew, "blocks_reused", m.Stats.BlocksReused,
		"writer_stall", m.Timings.WriterStall, "duration", time.Since(start))
	if m.SourceDamaged() {
		return m, fmt.Errorf("the live database in %s is damaged: %w. Chroma will fail on it too. The snapshot was stored anyway, marked damaged, since it may be the only copy: restore an older snapshot (see snapshot list), or this one with --no-check to get its bytes exactly as captured",
			persist, m.sourceDamagedErr())
	}
	return m, nil
}

func checkPersistDir(persist string) error {
	st, err := os.Stat(persist)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s does not exist: check the path and that Chroma's volume is mounted", ErrPersistDir, persist)
		}
		return fmt.Errorf("%w: %s: %w", ErrPersistDir, persist, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrNotChroma, persist)
	}
	if _, err := os.Stat(filepath.Join(persist, chromadb.DatabaseFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotChroma, chromadb.MissingDatabase(persist))
		}
		return fmt.Errorf("%w: %s: %w", ErrPersistDir, persist, err)
	}
	return nil
}

// snapshotErr reports the root cause: the caller's cancellation, else the
// pipeline's first failure (which cancels the capture), else err.
func (r *Repository) snapshotErr(ctx context.Context, persist string, up *uploader, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("snapshot of %s cancelled; no snapshot was written: %w", persist, context.Cause(ctx))
	}
	if cause := context.Cause(up.ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, errUploaderFinished) {
		err = cause
	}
	return fmt.Errorf("snapshot of %s failed; no snapshot was written: %w", persist, err)
}

func toolVersion(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}

func (r *Repository) buildManifest(cfg *repoConfig, persist string, opts SnapshotOptions, run *captureRun, up *uploader, start, idTime time.Time) (*Manifest, error) {
	now := time.Now().UTC()
	if !opts.Time.IsZero() {
		now = opts.Time.UTC()
	}
	id, err := newSnapshotID(idTime)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	m := &Manifest{
		Format:       ManifestFormat,
		ID:           id,
		RepositoryID: cfg.RepositoryID,
		Created:      now,
		ToolVersion:  toolVersion(opts.ToolVersion),
		Hostname:     host,
		Instance:     opts.Instance,
		PersistDir:   filepath.Base(persist),
		BlockSize:    cfg.BlockSize,
	}
	for _, cf := range append([]capturedFile{run.dbFile}, run.segFiles...) {
		cf.read.wait()
		m.Files = append(m.Files, File{
			Path:    cf.rel,
			Size:    cf.read.size,
			Mode:    uint32(cf.mode),
			ModTime: cf.modTime.UTC(),
			Blocks:  cf.read.blocks(),
		})
		if bs := cf.read.blockSize; bs != cfg.BlockSize {
			m.Files[len(m.Files)-1].BlockSize = bs
		}
		m.Stats.LogicalBytes += cf.read.size
	}
	facts := run.facts
	m.Chroma = ChromaFacts{
		JournalMode: run.journalMode,
		SQLiteCopy:  run.copyMethod,
		Migrations:  facts.Migrations,
	}
	for _, c := range facts.Collections {
		m.Chroma.Collections = append(m.Chroma.Collections, Collection{ID: c.ID, Name: c.Name, Records: c.Records})
	}
	for _, s := range facts.Segments {
		m.Chroma.Segments = append(m.Chroma.Segments, Segment{ID: s.ID, Type: s.Type, Scope: s.Scope, Collection: s.Collection, MaxSeqID: s.MaxSeqID})
	}
	sort.Slice(m.Chroma.Segments, func(i, j int) bool { return m.Chroma.Segments[i].ID < m.Chroma.Segments[j].ID })
	m.Stats.BlocksNew, m.Stats.BlocksReused, m.Stats.AddedBytes = up.tally(m.Files)
	m.Stats.CaptureRetries = run.attempts - 1
	m.Stats.FileRereads = run.rereads
	m.Stats.FilesUnchanged = run.skipped
	m.SourceCheck = run.sourceCheck
	m.Timings = Timings{
		Total:       time.Since(start),
		HNSWCopy:    run.hnswTime,
		SQLiteCopy:  run.sqliteTime,
		WriterStall: run.stall,
		SourceCheck: run.checkTime,
	}
	if err := m.validate(m.ID, cfg.RepositoryID); err != nil {
		return nil, fmt.Errorf("snapshot: built an invalid manifest: %w", err)
	}
	return m, nil
}

// commit writes the index (encrypted repositories) and then, if the lock is
// still this process's, the manifest.
func (r *Repository) commit(ctx context.Context, lk *bucketLock, cfg *repoConfig, m *Manifest) error {
	if cfg.Encrypted {
		if err := r.writeIndex(ctx, m); err != nil {
			return err
		}
	}
	if err := lk.verify(ctx); err != nil {
		return fmt.Errorf("no snapshot was written: %w", err)
	}
	return r.writeManifest(ctx, m)
}

// writeManifest stores the manifest with a create-if-absent write: the
// moment the snapshot comes to exist.
func (r *Repository) writeManifest(ctx context.Context, m *Manifest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("snapshot cancelled before its manifest was written; no snapshot was written: %w", err)
	}
	obj, err := sealManifest(m, r.keys)
	if err != nil {
		return err
	}
	key := manifestKey(m.ID)
	err = r.bucket.CreateIfAbsent(ctx, key, bytes.NewReader(obj), int64(len(obj)))
	if err != nil {
		if errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("write manifest %s in %s: a snapshot with this id already exists; take the snapshot again", key, r.bucket)
		}
		return fmt.Errorf("write manifest %s in %s; no snapshot was written: %w%s", key, r.bucket, err, storageHint(err))
	}
	return nil
}
