package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// A restore drill (FORMAT.md "status/restore-test.json") proves that a
// snapshot comes back: it restores it into a scratch folder with every
// check of a real restore, optionally serves the copy with a real Chroma
// and asks it for every collection's count and one nearest-neighbour query
// each, deletes the scratch folder, and records the outcome in the bucket.

// Errors of a drill, beside those of a restore.
var (
	// ErrScratchSpace: the scratch directory's file system lacks room for
	// the restore; the drill did not start.
	ErrScratchSpace = errors.New("not enough room in the scratch directory")
	// ErrScratchDir: the scratch directory is missing or cannot be written.
	ErrScratchDir = errors.New("scratch directory unusable")
	// ErrChromaCheck: Chroma, started on the restored copy, did not serve
	// what the manifest says (or did not start).
	ErrChromaCheck = errors.New("chroma check of the restored copy failed")
)

var errSpaceUnknown = errors.New("free space unknown on this platform")

const (
	drillPrefix = "otelcol-chroma-drill-"
	// drillMarginMin is added to a tenth of the snapshot's size as room for
	// Chroma's own writes on the restored copy (its log replay, journal).
	drillMarginMin = 16 << 20
	// defaultChromaStartTimeout bounds Chroma's start on the restored copy.
	defaultChromaStartTimeout = 2 * time.Minute
)

// DrillOptions configure a restore drill.
type DrillOptions struct {
	// ID is the snapshot to restore: an id, or "latest" (also when empty).
	ID string
	// ScratchDir is where the scratch folder is made; default the system's
	// temporary folder. Its file system needs room for the whole snapshot.
	ScratchDir string
	// ChromaCommand, when set, is the chroma executable that serves the
	// restored copy (`chroma run --path DIR --host 127.0.0.1 --port P`).
	ChromaCommand string
	// ChromaStartTimeout bounds Chroma's start; default 2 minutes.
	ChromaStartTimeout time.Duration
	// Instance and ToolVersion go into the record.
	Instance    string
	ToolVersion string
	Concurrency int
	Progress    Progress
	Logger      *slog.Logger

	// volumeSpace replaces VolumeSpace (tests).
	volumeSpace func(dir string) (available, size int64, err error)
}

// DrillResult describes a drill, passed or failed (JSON: durations in ns).
type DrillResult struct {
	SnapshotID string    `json:"snapshot_id,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	// Restore is how long the restore took (download, every check, fsync);
	// ChromaReady how long Chroma then took to answer on the copy.
	// Recovery is their sum: the measured recovery time.
	Restore     time.Duration `json:"restore_ns"`
	ChromaReady time.Duration `json:"chroma_ready_ns"`
	Recovery    time.Duration `json:"recovery_ns"`
	Bytes       int64         `json:"bytes"`
	Collections int           `json:"collections"`
	Records     int64         `json:"records"`
	// ChromaChecked says Chroma served the copy; Queries counts the
	// collections that passed the query check (checkQueries).
	ChromaChecked bool `json:"chroma_checked"`
	Queries       int  `json:"queries"`
	// Recorded is false when no record was written (no repository, an
	// encrypted one without a key, a cancelled drill).
	Recorded bool `json:"recorded"`
}

// Drill runs a restore drill and records its outcome in
// status/restore-test.json, whatever the outcome, except when the caller
// cancelled it. The error says why the drill failed (errors.Is:
// ErrScratchSpace, ErrRestoreCheck, ErrChromaCheck, ErrCorrupt, ErrMissing,
// ErrBucket, ...), joined with any failure to write the record.
func (r *Repository) Drill(ctx context.Context, opts DrillOptions) (*DrillResult, error) {
	res := &DrillResult{Started: time.Now().UTC()}
	err := r.drill(ctx, opts, res)
	res.Finished = time.Now().UTC()
	if errors.Is(err, context.Canceled) {
		return res, fmt.Errorf("drill cancelled; nothing recorded: %w", err)
	}
	recorded, werr := r.recordDrill(ctx, opts, res, err)
	res.Recorded = recorded
	return res, errors.Join(err, werr)
}

func (r *Repository) drill(ctx context.Context, opts DrillOptions, res *DrillResult) error {
	m, err := r.readableManifest(ctx, "drill", opts.ID, opts.Logger)
	if err != nil {
		return err
	}
	res.SnapshotID, res.Bytes = m.ID, m.Stats.LogicalBytes
	res.Collections, res.Records = len(m.Chroma.Collections), m.Records()
	sc, err := r.restoreScratch(ctx, "drill", drillPrefix, m, ScratchOptions{
		ScratchDir: opts.ScratchDir, Concurrency: opts.Concurrency, Progress: opts.Progress, Logger: opts.Logger, volumeSpace: opts.volumeSpace,
	})
	if err != nil {
		return err
	}
	defer sc.Close()
	res.Restore, res.Recovery = sc.Restore, sc.Restore
	if opts.ChromaCommand == "" {
		return nil
	}
	if opts.Progress != nil {
		opts.Progress.Report(Update{Phase: PhaseChroma})
	}
	if err := checkInChroma(ctx, sc, opts, res); err != nil {
		return fmt.Errorf("drill of snapshot %s: %w", m.ID, err)
	}
	return nil
}
