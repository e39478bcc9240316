package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

// A scratch copy is a snapshot restored, with every check of a restore,
// into a fresh folder of a scratch directory, optionally served by a real
// Chroma on a loopback port: what a drill checks, and what a collection is
// copied back from into a live Chroma.

// ScratchOptions say which snapshot to restore and where.
type ScratchOptions struct {
	// ID is the snapshot: an id, or "latest" (also when empty).
	ID string
	// ScratchDir is where the scratch folder is made; default the system's
	// temporary folder. Its file system needs room for the whole snapshot.
	ScratchDir  string
	Concurrency int
	Progress    Progress
	Logger      *slog.Logger

	// volumeSpace replaces VolumeSpace (tests).
	volumeSpace func(dir string) (available, size int64, err error)
}

// ScratchCopy is a snapshot restored into a scratch folder. Close deletes
// it (and stops the Chroma serving it).
type ScratchCopy struct {
	Manifest *Manifest
	// Persist is the restored persist directory.
	Persist string
	// Restore is how long the restore took.
	Restore time.Duration

	dir     string
	where   map[string]dbRef
	server  *chromaapi.Server
	log     *slog.Logger
	release func()
}

const scratchPrefix = "otelcol-chroma-scratch-"

// RestoreScratch restores a snapshot into a new folder of the scratch
// directory, refusing before anything is restored when the file system
// lacks room for it (ErrScratchSpace) or the directory is unusable
// (ErrScratchDir). The caller must Close the copy.
func (r *Repository) RestoreScratch(ctx context.Context, what string, opts ScratchOptions) (*ScratchCopy, error) {
	m, err := r.readableManifest(ctx, what, opts.ID, opts.Logger)
	if err != nil {
		return nil, err
	}
	return r.restoreScratch(ctx, what, scratchPrefix, m, opts)
}

// readableManifest returns the manifest of snapshot id ("latest" when
// empty) for an operation that reads the snapshot's data.
func (r *Repository) readableManifest(ctx context.Context, what, id string, log *slog.Logger) (*Manifest, error) {
	cfg, err := r.requireReader(what)
	if err != nil {
		return nil, err
	}
	m, skipped, err := r.loadManifest(ctx, cfg, what, cmp.Or(id, "latest"))
	for _, s := range skipped {
		discardLogger(log).Warn("using an older snapshot: a newer one is damaged", "error", s)
	}
	return m, err
}

// restoreScratch restores m into a new folder prefix* of opts.ScratchDir.
// On a failed restore the copy is returned closed with its Restore
// duration, for the drill's record.
func (r *Repository) restoreScratch(ctx context.Context, what, prefix string, m *Manifest, opts ScratchOptions) (*ScratchCopy, error) {
	scratch := cmp.Or(opts.ScratchDir, os.TempDir())
	if err := checkScratchSpace(what, scratch, m, opts.volumeSpace); err != nil {
		return nil, err
	}
	dir, release, err := lockedTempDir(scratch, prefix, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: make a scratch folder in %s: %w", what, ErrScratchDir, scratch, err)
	}
	sc := &ScratchCopy{Manifest: m, Persist: filepath.Join(dir, "persist"), dir: dir, log: discardLogger(opts.Logger), release: release}
	rr, err := r.Restore(ctx, m.ID, RestoreOptions{Target: sc.Persist, Concurrency: opts.Concurrency, Progress: opts.Progress, Logger: opts.Logger})
	if err == nil {
		sc.Restore = rr.Duration
		sc.where, err = collectionDatabases(ctx, sc.Persist)
	}
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return sc, nil
}

// Serve starts Chroma (command) on the copy on a loopback port and returns
// it with the time it took to answer; Close stops it. A Chroma that does
// not start is ErrChromaCheck.
func (sc *ScratchCopy) Serve(ctx context.Context, command string, startTimeout time.Duration) (*chromaapi.Server, time.Duration, error) {
	start := time.Now()
	srv, err := chromaapi.StartServer(ctx, chromaapi.ServerOptions{
		Command:      command,
		PersistDir:   sc.Persist,
		LogDir:       sc.dir,
		StartTimeout: cmp.Or(startTimeout, defaultChromaStartTimeout),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%w: Chroma did not start on the restored copy (check the chroma command, and that its version reads this snapshot): %w", ErrChromaCheck, err)
	}
	sc.server = srv
	return srv, time.Since(start), nil
}

// Database returns the tenant and database of the collection with this id.
func (sc *ScratchCopy) Database(collectionID string) (tenant, database string) {
	ref := sc.where[collectionID]
	return cmp.Or(ref.tenant, chromaapi.DefaultTenant), cmp.Or(ref.database, chromaapi.DefaultDatabase)
}

// Close stops the Chroma serving the copy and deletes the scratch folder;
// failures are logged (the next run removes a folder left behind).
func (sc *ScratchCopy) Close() {
	if sc.server != nil {
		if err := sc.server.Stop(); err != nil {
			sc.log.Warn("Chroma on the restored copy did not stop cleanly", "pid", sc.server.Pid(), "error", err)
		}
	}
	if err := removeTempDir(sc.dir); err != nil {
		sc.log.Warn("could not delete the scratch folder; the next run removes it", "folder", sc.dir, "error", err)
	}
	sc.release()
}

// checkScratchSpace refuses a restore into scratch that would not fit: the
// snapshot's size plus a margin for Chroma's writes against the free bytes
// of the scratch directory's file system.
func checkScratchSpace(what, scratch string, m *Manifest, space func(string) (int64, int64, error)) error {
	if space == nil {
		space = VolumeSpace
	}
	st, err := os.Stat(scratch)
	if err != nil {
		return fmt.Errorf("%s: %w: %w (create it, or set the scratch directory to a folder with room for the snapshot)", what, ErrScratchDir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: %w: %s is not a folder", what, ErrScratchDir, scratch)
	}
	free, _, err := space(scratch)
	if errors.Is(err, errSpaceUnknown) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	need := m.Stats.LogicalBytes + max(m.Stats.LogicalBytes/10, drillMarginMin)
	if free < need {
		return fmt.Errorf("%w: snapshot %s restores %d bytes and the %s needs %d with its margin, but %s has %d bytes free; "+
			"point the scratch directory at a volume with room for the whole snapshot (nothing was restored)",
			ErrScratchSpace, m.ID, m.Stats.LogicalBytes, what, need, scratch, free)
	}
	return nil
}
