package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// DefaultPruneGrace: unreferenced blocks younger than this stay (FORMAT.md
// "Prune").
const DefaultPruneGrace = time.Hour

// PhasePrune: deleting unreferenced blocks.
const PhasePrune Phase = "prune"

// pruneWorkers is how many deletes run at once.
const pruneWorkers = 8

// PruneOptions configure Prune.
type PruneOptions struct {
	// DryRun counts what would be deleted and deletes nothing (no lock).
	DryRun bool
	// GracePeriod keeps unreferenced blocks younger than it; zero means
	// DefaultPruneGrace, a negative value none.
	GracePeriod time.Duration
	// Now is the clock the grace period is measured with; default time.Now.
	Now      func() time.Time
	Progress Progress
	Logger   *slog.Logger
}

// PruneResult says what Prune found and deleted.
type PruneResult struct {
	Snapshots int
	// BlocksReferenced counts distinct blocks the snapshots need.
	BlocksReferenced int
	// BlocksUnused counts stored blocks no snapshot needs; BlocksYoung of
	// them are kept for the grace period, the rest deleted (or, in a dry
	// run, would be).
	BlocksUnused  int
	BlocksYoung   int
	BlocksDeleted int
	BytesDeleted  int64
	// Leftovers counts temporary objects of interrupted uploads deleted.
	Leftovers     int
	LeftoverBytes int64
	GracePeriod   time.Duration
	DryRun        bool
}

// leftoverCleaner is a bucket that can hold leftovers of interrupted writes
// outside its object listing (a file bucket's temporary files).
type leftoverCleaner interface {
	RemoveLeftovers(ctx context.Context, olderThan time.Time, dryRun bool) (n int, bytes int64, err error)
}

// Prune deletes the blocks no snapshot references and the leftovers of
// interrupted uploads, under the exclusive lock, keeping those younger than
// the grace period. It reads every manifest (in an encrypted repository
// with the writer key: every snapshot index); one it cannot read stops it
// before anything is deleted.
func (r *Repository) Prune(ctx context.Context, opts PruneOptions) (*PruneResult, error) {
	if _, err := r.requireConfig(); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	grace := opts.GracePeriod
	if grace == 0 {
		grace = DefaultPruneGrace
	}
	grace = max(grace, 0)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	log := discardLogger(opts.Logger)
	res := &PruneResult{GracePeriod: grace, DryRun: opts.DryRun}
	var lk *bucketLock
	if !opts.DryRun {
		var err error
		if lk, err = r.lock(ctx, true, "prune", log); err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
		defer lk.release()
		ctx = lk.ctx
	}
	referenced, err := r.referencedBlocks(ctx, res)
	if err != nil {
		return nil, err
	}
	cutoff := now().Add(-grace)
	unused, err := r.unusedBlocks(ctx, referenced, cutoff, res)
	if err != nil {
		return nil, err
	}
	if opts.DryRun {
		res.BlocksDeleted = len(unused)
		for _, o := range unused {
			res.BytesDeleted += o.Size
		}
		return res, r.removeLeftovers(ctx, cutoff, true, res)
	}
	progress := newProgress(opts.Progress)
	progress.phase(PhasePrune)
	progress.addTotal(int64(len(unused)))
	if err := r.deleteBlocks(ctx, lk, unused, progress, res); err != nil {
		return res, err
	}
	log.Info("pruned", "blocks_deleted", res.BlocksDeleted, "bytes_deleted", res.BytesDeleted, "blocks_young", res.BlocksYoung)
	return res, r.removeLeftovers(ctx, cutoff, false, res)
}

// removeLeftovers deletes what interrupted snapshots left behind: indexes
// without a manifest, and the backend's temporary objects.
func (r *Repository) removeLeftovers(ctx context.Context, cutoff time.Time, dryRun bool, res *PruneResult) error {
	orphans, err := r.orphanIndexes(ctx, cutoff)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	for _, o := range orphans {
		if !dryRun {
			if err := r.bucket.Delete(ctx, o.Key); err != nil {
				return fmt.Errorf("prune: delete %s in %s: %w%s", o.Key, r.bucket, err, storageHint(err))
			}
		}
		res.Leftovers++
		res.LeftoverBytes += o.Size
	}
	return r.removeTemporary(ctx, cutoff, dryRun, res)
}

// referencedBlocks reads every manifest and collects the object names of
// their blocks.
func (r *Repository) referencedBlocks(ctx context.Context, res *PruneResult) (map[Hash]struct{}, error) {
	list, err := r.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	refs := make(map[Hash]struct{})
	for _, s := range list {
		facts, err := r.factsOf(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("prune: nothing was deleted: the blocks snapshot %s needs are unknown: %w; run `snapshot verify %s`, and if it is beyond repair delete %s by hand", s.ID, err, s.ID, manifestKey(s.ID))
		}
		facts.blocks(func(n Hash) { refs[n] = struct{}{} })
	}
	res.Snapshots, res.BlocksReferenced = len(list), len(refs)
	return refs, nil
}

// unusedBlocks lists blocks/ and returns the unreferenced objects older than
// cutoff.
func (r *Repository) unusedBlocks(ctx context.Context, refs map[Hash]struct{}, cutoff time.Time, res *PruneResult) ([]storage.ObjectInfo, error) {
	var out []storage.ObjectInfo
	for info, err := range r.bucket.List(ctx, blocksPrefix) {
		if err != nil {
			return nil, fmt.Errorf("prune: list %s in %s: %w%s", blocksPrefix, r.bucket, err, storageHint(err))
		}
		name, ok := parseBlockKey(info.Key)
		if !ok {
			continue // not ours: FORMAT.md says to ignore it
		}
		if _, used := refs[name]; used {
			continue
		}
		res.BlocksUnused++
		if info.Modified.After(cutoff) {
			res.BlocksYoung++
			continue
		}
		out = append(out, info)
	}
	return out, nil
}

// deleteBlocks deletes objs a few at a time, checking before each batch
// that the lock is still held.
func (r *Repository) deleteBlocks(ctx context.Context, lk *bucketLock, objs []storage.ObjectInfo, progress *progressReporter, res *PruneResult) error {
	const batch = 256
	for start := 0; start < len(objs); start += batch {
		if err := lk.verify(ctx); err != nil {
			return fmt.Errorf("prune stopped after deleting %d blocks: %w", res.BlocksDeleted, err)
		}
		part := objs[start:min(start+batch, len(objs))]
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		sem := make(chan struct{}, pruneWorkers)
		for _, o := range part {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				err := r.bucket.Delete(ctx, o.Key)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("delete %s in %s: %w%s", o.Key, r.bucket, err, storageHint(err)))
					return
				}
				res.BlocksDeleted++
				res.BytesDeleted += o.Size
			}()
			progress.add(1)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("prune stopped after deleting %d blocks: %w", res.BlocksDeleted, err)
		}
	}
	return nil
}

// removeTemporary deletes what interrupted writes left behind, where the
// backend keeps such things outside its listing.
func (r *Repository) removeTemporary(ctx context.Context, cutoff time.Time, dryRun bool, res *PruneResult) error {
	c, ok := storage.Unwrap(r.raw).(leftoverCleaner)
	if !ok {
		return nil
	}
	n, size, err := c.RemoveLeftovers(ctx, cutoff, dryRun)
	res.Leftovers += n
	res.LeftoverBytes += size
	if err != nil {
		return fmt.Errorf("prune: remove leftovers of interrupted uploads: %w", err)
	}
	return nil
}
