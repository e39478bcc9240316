package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/durable"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// RestoreOptions configure a restore.
type RestoreOptions struct {
	// Target is the folder to restore into: it must not exist or be empty,
	// unless Force is set. Stop Chroma before restoring over its folder: a
	// Target in which another process of this machine holds a file open is
	// refused with ErrTargetInUse.
	Target string
	// Force replaces a non-empty Target. The old contents are moved aside and
	// deleted only once the restored copy has passed its checks.
	Force bool
	// Concurrency is the number of blocks held, checked and written at
	// once; default 2*GOMAXPROCS (at least 4). From a remote bucket, up to
	// 32 requests (never fewer than Concurrency) wait on it meanwhile.
	Concurrency int
	// QuickCheck checks the restored database with PRAGMA quick_check, also
	// when the snapshot's capture check was not integrity_check. Every byte
	// is checked against the manifest's SHA-256 either way; what quick_check
	// leaves out is comparing each index with its table, a fault the
	// captured database itself would have had.
	QuickCheck bool
	// FullCheck runs PRAGMA integrity_check on the restored database even
	// when the manifest records that the captured copy passed it. By
	// default that check is not run again (see restoreCheck).
	FullCheck bool
	// NoCheck skips the restored database's checks (SQLite and the
	// manifest's record counts): for a snapshot of a damaged database
	// (Manifest.SourceDamaged), which is refused otherwise. Every byte is
	// still checked against the manifest, so the files are exactly as
	// captured, damage included.
	NoCheck bool
	// Protect names paths the restore must never replace (the key files and
	// configs it was given): a Target that is one of them, holds one or lies
	// inside one is refused with ErrUnsafeTarget. A file bucket's folder and
	// a file system's root are always refused.
	Protect  []string
	Progress Progress
	Logger   *slog.Logger

	// Test hook: afterSwapStep runs after each step of a swap inside a
	// mount point.
	afterSwapStep func(step string)
	// volumeSpace replaces VolumeSpace (tests).
	volumeSpace func(dir string) (available, size int64, err error)
}

// RestoreResult describes a completed restore.
type RestoreResult struct {
	ID     string
	Target string
	Files  int
	Bytes  int64
	// Blocks counts the distinct blocks downloaded.
	Blocks      int
	Collections int
	Records     int64
	Duration    time.Duration
	// Download covers fetching, checking and writing blocks; Sync the
	// fsyncs; Check the restored database's checks.
	Download, Sync, Check time.Duration
	// CheckPragma is the SQLite check the restored database passed:
	// "integrity_check", "quick_check", or empty with NoCheck.
	CheckPragma string
}

// ChoosesTwoChecks reports whether more than one of NoCheck, QuickCheck
// and FullCheck is set: each chooses the restored database's check.
func (o RestoreOptions) ChoosesTwoChecks() bool {
	return (o.NoCheck && (o.QuickCheck || o.FullCheck)) || (o.QuickCheck && o.FullCheck)
}

// restoreCheck chooses the SQLite check of a restored database. Every
// restored byte has matched the manifest's SHA-256, so the restored
// chroma.sqlite3 is the very file the capture checked: when the manifest
// records that it passed integrity_check, running that check again on the
// same bytes cannot find anything new, and the restore runs quick_check
// (which also proves this binary's SQLite reads the file) unless FullCheck
// asks for integrity_check. Snapshots whose capture check was quick_check,
// or that record none, get integrity_check unless QuickCheck is set.
func restoreCheck(m *Manifest, opts RestoreOptions) string {
	switch {
	case opts.NoCheck:
		return ""
	case opts.FullCheck:
		return chromadb.PragmaIntegrityCheck
	case opts.QuickCheck, m.checkedWhole():
		return chromadb.PragmaQuickCheck
	}
	return chromadb.PragmaIntegrityCheck
}

// Restore writes snapshot id ("latest" for the newest) into opts.Target.
//
// Every block is checked against its SHA-256 in the authenticated manifest
// as it streams in. The files are written into a temporary folder on the
// target's file system (beside the target, or inside it when it is a mount
// point), given their sizes, modes and mtimes, and fsynced; the restored
// database must pass its SQLite check (restoreCheck) and match the
// manifest's collections, record counts and vector max_seq_ids. Only then
// is the folder renamed into place (or, in a mount point, its entries
// swapped with the target's: see restore_mount.go). On any failure the
// target is left untouched and the temporary folder removed.
func (r *Repository) Restore(ctx context.Context, id string, opts RestoreOptions) (*RestoreResult, error) {
	start := time.Now()
	if opts.ChoosesTwoChecks() {
		return nil, errors.New("restore: NoCheck, QuickCheck and FullCheck each choose the database check: set one of them")
	}
	log := discardLogger(opts.Logger)
	cfg, err := r.requireReader("restore")
	if err != nil {
		return nil, err
	}
	target, place, err := r.planTarget(opts, log)
	if err != nil {
		return nil, err
	}
	m, err := r.restorableManifest(ctx, cfg, id, place, opts, log)
	if err != nil {
		return nil, err
	}
	id = m.ID
	if err := place.makeStage(); err != nil {
		place.abandon()
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	done := false
	defer func() {
		if !done {
			if err := place.abandon(); err != nil {
				log.Error("a failed restore could not clean up; do not start Chroma on the target before a restore into it succeeds",
					"target", target, "error", err)
			}
		}
	}()
	progress := newProgress(opts.Progress)
	res, err := r.restoreChecked(ctx, m, place.tree, opts, progress)
	if err != nil {
		return nil, fmt.Errorf("restore %s into %s failed; %s was left untouched: %w%s", id, target, target, err, r.failureAdvice(ctx, id, err))
	}
	progress.phase(PhaseSwap)
	if err := refuseInUse(target); err != nil {
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	if err := place.swap(opts.Force); err != nil {
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	done = true
	place.release()
	res.ID, res.Target, res.Duration = id, target, time.Since(start)
	log.Info("snapshot restored", "id", id, "target", target, "bytes", res.Bytes, "duration", res.Duration,
		"download", res.Download, "sync", res.Sync, "check", res.Check, "check_pragma", res.CheckPragma)
	return res, nil
}

// planTarget checks opts.Target and decides how to restore into it.
func (r *Repository) planTarget(opts RestoreOptions, log *slog.Logger) (string, *restorePlace, error) {
	if opts.Target == "" {
		return "", nil, errors.New("restore: no target folder given")
	}
	target, err := filepath.Abs(opts.Target)
	if err != nil {
		return "", nil, fmt.Errorf("restore: %w", err)
	}
	if err := r.checkRestoreTarget(target, opts.Protect); err != nil {
		return "", nil, err
	}
	if err := refuseInUse(target); err != nil {
		return "", nil, err
	}
	place, err := planRestore(target, opts, log)
	if err != nil {
		return "", nil, err
	}
	return target, place, nil
}

// restorableManifest reads snapshot id's manifest ("latest" for the newest
// intact one) and refuses, before anything is downloaded, a snapshot taken
// from a damaged database (unless NoCheck) or one that cannot fit.
func (r *Repository) restorableManifest(ctx context.Context, cfg *repoConfig, id string, place *restorePlace, opts RestoreOptions, log *slog.Logger) (*Manifest, error) {
	m, skipped, err := r.loadManifest(ctx, cfg, "restore", id)
	for _, s := range skipped {
		log.Warn("restoring an older snapshot: a newer one is damaged", "error", s)
	}
	if err != nil {
		return nil, err
	}
	if err := checkSourceForRestore(m, opts.NoCheck, log); err != nil {
		return nil, r.suggestUndamaged(ctx, cfg, m.ID, err)
	}
	if err := place.checkSpace(m, opts.volumeSpace); err != nil {
		return nil, fmt.Errorf("restore %s into %s: %w", m.ID, place.target, err)
	}
	return m, nil
}

// failureAdvice ends the error of a restore of snapshot id that failed
// with what to do: the target's file system filled up (the free space
// checked before was taken meanwhile), or a block is missing or fails its
// check, which no retry brings back.
func (r *Repository) failureAdvice(ctx context.Context, id string, err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "; the target's file system is full: free space there, or restore into a larger volume"
	case !errors.Is(err, ErrMissing) && !errors.Is(err, ErrCorrupt):
		return ""
	case r.removedMeanwhile(ctx, id):
		return "; the snapshot " + removedMeanwhileReason + ": restore another one (snapshot list)"
	}
	return "; the snapshot is damaged: restore another one (snapshot list; check it first with snapshot verify ID --read-data)"
}

// removedMeanwhileReason says why the blocks of a snapshot whose manifest is
// gone went missing while it was read: a restore or verify holds no lock, so
// retention's forget and a prune beside it can remove the snapshot.
const removedMeanwhileReason = "was removed from the bucket while it was being read (forget, by retention, then prune; or a deletion)"

// removedMeanwhile reports whether snapshot id's manifest is gone from the
// bucket (a failure to tell counts as not gone).
func (r *Repository) removedMeanwhile(ctx context.Context, id string) bool {
	_, err := r.bucket.Stat(ctx, manifestKey(id))
	return errors.Is(err, storage.ErrNotExist)
}

// restoreChecked writes m's files into dir and runs the restored database's
// checks.
func (r *Repository) restoreChecked(ctx context.Context, m *Manifest, dir string, opts RestoreOptions, progress *progressReporter) (*RestoreResult, error) {
	total := m.fileBytes()
	progress.addTotal(total)
	progress.phase(PhaseRestore)
	res := &RestoreResult{Files: len(m.Files), Bytes: total, Collections: len(m.Chroma.Collections), Records: m.Records()}
	// chroma.sqlite3 first: its checks (integrity_check is the slow part) run
	// while the segment files download.
	dbFirst, others := splitDatabase(m)
	par := r.parallelismFor(opts.Concurrency)
	if err := r.restoreFiles(ctx, dbFirst, dir, par, progress, res); err != nil {
		return nil, err
	}
	checkCtx, cancelCheck := context.WithCancel(ctx)
	defer cancelCheck()
	checked := make(chan error, 1)
	checkStart := time.Now()
	res.CheckPragma = restoreCheck(m, opts)
	go func() {
		var err error
		if res.CheckPragma != "" {
			err = checkRestored(checkCtx, m, dir, res.CheckPragma)
		}
		res.Check = time.Since(checkStart)
		checked <- err
	}()
	if err := r.restoreFiles(ctx, others, dir, par, progress, res); err != nil {
		cancelCheck()
		<-checked
		return nil, err
	}
	progress.phase(PhaseCheck)
	if err := <-checked; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cancelled: %w", err)
	}
	return res, nil
}

// splitDatabase returns two views of m: one with only chroma.sqlite3, one
// with every other file.
func splitDatabase(m *Manifest) (db, others *Manifest) {
	a, b := *m, *m
	a.Files, b.Files = nil, nil
	for _, f := range m.Files {
		if f.Path == chromadb.DatabaseFile {
			a.Files = append(a.Files, f)
		} else {
			b.Files = append(b.Files, f)
		}
	}
	return &a, &b
}

// blockUse is one place a block goes: block index of file.
type blockUse struct {
	file  int
	index int
	n     int
}

// maxOpenFiles bounds how many restored files are open at once: a persist
// directory with many collections has five files per vector segment.
const maxOpenFiles = 256

// restoreFiles creates the files in dir and fills them, in batches of at
// most maxOpenFiles files.
func (r *Repository) restoreFiles(ctx context.Context, m *Manifest, dir string, par parallelism, progress *progressReporter, res *RestoreResult) error {
	start := time.Now()
	var sync time.Duration
	dirs := map[string]bool{dir: true}
	for lo := 0; lo < len(m.Files); lo += maxOpenFiles {
		hi := min(lo+maxOpenFiles, len(m.Files))
		blocks, synced, err := r.restoreBatch(ctx, m, dir, lo, hi, par, progress, dirs)
		res.Blocks += blocks
		sync += synced
		if err != nil {
			return err
		}
	}
	syncStart := time.Now()
	for _, d := range sortedKeys(dirs) {
		if err := durable.SyncDir(d); err != nil {
			return err
		}
	}
	sync += time.Since(syncStart)
	res.Sync += sync
	res.Download += time.Since(start) - sync
	return nil
}

// restoreBatch restores files [lo, hi) of m, downloading each distinct
// block once and writing it wherever it occurs in these files; it returns
// the blocks downloaded and the time spent in fsync.
func (r *Repository) restoreBatch(ctx context.Context, m *Manifest, dir string, lo, hi int, par parallelism, progress *progressReporter, dirs map[string]bool) (int, time.Duration, error) {
	files := make([]*restoreFile, len(m.Files))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.close()
			}
		}
	}()
	uses := make(map[Hash][]blockUse)
	var order []Hash
	for i := lo; i < hi; i++ {
		f := m.Files[i]
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, 0, fmt.Errorf("create folder for %s: %w", f.Path, err)
		}
		for d := filepath.Dir(p); d != dir && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		// The database is read by the checks right after: keep it in the
		// page cache.
		rf, err := createRestoreFile(p, f.Size, f.Path != chromadb.DatabaseFile)
		if err != nil {
			return 0, 0, err
		}
		files[i] = rf
		for j, h := range f.Blocks {
			if _, ok := uses[h]; !ok {
				order = append(order, h)
			}
			uses[h] = append(uses[h], blockUse{file: i, index: j, n: blockLen(f.Size, m.fileBlockSize(f), j)})
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.forEachBlock(ctx, m.BlockSize, order, par, func(pool blockPool, h Hash) {
		if err := r.restoreBlock(ctx, m, files, pool, h, uses[h], progress); err != nil {
			cancel(err)
		}
	}, func(err error) { cancel(err) })
	if err := context.Cause(ctx); err != nil {
		return 0, 0, err
	}

	syncStart := time.Now()
	for i := lo; i < hi; i++ {
		f := m.Files[i]
		rf := files[i]
		files[i] = nil
		if err := rf.finish(fs.FileMode(f.Mode), f.ModTime); err != nil {
			return 0, 0, err
		}
	}
	return len(order), time.Since(syncStart), nil
}

// restoreBlock downloads one block, checks it and writes it at every use.
func (r *Repository) restoreBlock(ctx context.Context, m *Manifest, files []*restoreFile, pool blockPool, h Hash, uses []blockUse, progress *progressReporter) error {
	first := m.Files[uses[0].file]
	key := blockKey(objectName(r.keys.authKey, h))
	where := fmt.Sprintf("block %d of %s (object %s)", uses[0].index, first.Path, key)
	w, err := r.fetchBlock(ctx, pool, key, m.BlockSize)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	defer pool.put(w)
	plain, err := w.codec.decode(w.buf.Bytes(), h, uses[0].n)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", where, r.bucket, err)
	}
	for _, u := range uses {
		if u.n != len(plain) {
			return fmt.Errorf("%w: block %d of %s: manifest lists content of %d bytes where %d fit", ErrCorrupt, u.index, m.Files[u.file].Path, len(plain), u.n)
		}
		bs := int64(m.fileBlockSize(m.Files[u.file]))
		if err := files[u.file].writeBlock(plain, int64(u.index)*bs, &w.aligned); err != nil {
			return err
		}
		progress.add(int64(len(plain)))
	}
	return nil
}

// checkRestored runs the checks a restored persist directory must pass.
func checkRestored(ctx context.Context, m *Manifest, dir, pragma string) error {
	for _, name := range []string{"-journal", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(dir, chromadb.DatabaseFile+name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale %s%s: %w", chromadb.DatabaseFile, name, err)
		}
	}
	dbPath := filepath.Join(dir, chromadb.DatabaseFile)
	db, err := chromadb.OpenCopy(ctx, dbPath)
	if err != nil {
		return fmt.Errorf("%w: open the restored %s: %v", ErrRestoreCheck, chromadb.DatabaseFile, err)
	}
	defer db.Close()
	// The copy has one connection (OpenCopy): the facts are read after the
	// check.
	if err := db.Check(ctx, pragma); err != nil {
		return fmt.Errorf("%w: %v", ErrRestoreCheck, err)
	}
	facts, err := db.Facts(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRestoreCheck, err)
	}
	got := make(map[string]int64, len(facts.Collections))
	for _, c := range facts.Collections {
		got[c.ID] = c.Records
	}
	if len(got) != len(m.Chroma.Collections) {
		return fmt.Errorf("%w: restored database has %d collections, the manifest %d", ErrRestoreCheck, len(got), len(m.Chroma.Collections))
	}
	for _, c := range m.Chroma.Collections {
		n, ok := got[c.ID]
		if !ok {
			return fmt.Errorf("%w: collection %q (%s) is missing from the restored database", ErrRestoreCheck, c.Name, c.ID)
		}
		if n != c.Records {
			return fmt.Errorf("%w: collection %q has %d records restored, the manifest says %d", ErrRestoreCheck, c.Name, n, c.Records)
		}
	}
	vec := facts.VectorSeqIDs()
	for _, s := range m.Chroma.Segments {
		if s.Scope != chromadb.ScopeVector {
			continue
		}
		if seq, ok := vec[s.ID]; !ok || seq != s.MaxSeqID {
			return fmt.Errorf("%w: vector segment %s has max_seq_id %d restored, the manifest says %d", ErrRestoreCheck, s.ID, seq, s.MaxSeqID)
		}
	}
	return nil
}
