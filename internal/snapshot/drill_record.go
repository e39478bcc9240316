package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Error classes of a failed drill (RestoreTestRecord.ErrorClass), beside
// those of ErrorClass.
const (
	ClassScratch      = "scratch"       // the scratch directory is missing, unusable or lacks room
	ClassRestoreCheck = "restore_check" // the restored database failed its checks
	ClassChroma       = "chroma"        // Chroma did not start on the copy or served it wrong
)

// DrillErrorClass maps a drill's error to its class; "" for nil.
func DrillErrorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrScratchSpace), errors.Is(err, ErrScratchDir):
		return ClassScratch
	case errors.Is(err, ErrChromaCheck):
		return ClassChroma
	case errors.Is(err, ErrRestoreCheck):
		return ClassRestoreCheck
	case errors.Is(err, ErrMissing):
		return ClassRepository
	}
	return ErrorClass(err)
}

// recordDrill writes the drill's restore-test record, carrying the last
// success forward from the previous one. It writes none where it cannot be
// authenticated (no repository, or an encrypted one without a key).
func (r *Repository) recordDrill(ctx context.Context, opts DrillOptions, res *DrillResult, drillErr error) (bool, error) {
	cfg := r.config()
	if cfg == nil || (cfg.Encrypted && !r.keys.Encrypted()) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusWriteTimeout)
	defer cancel()
	prev, _, perr := r.readRestoreTest(ctx)
	if perr != nil {
		discardLogger(opts.Logger).Warn("the previous restore-test record cannot be trusted; the last success is not carried forward", "error", perr)
	}
	rec := newDrillRecord(opts, res, drillErr)
	rec.carryForward(prev)
	if cfg.Encrypted {
		// Readable without a key: the message may name collections.
		rec.Error = ""
	}
	if err := r.WriteRestoreTest(ctx, rec); err != nil {
		return false, fmt.Errorf("record the drill's outcome: %w", err)
	}
	return true, nil
}

func newDrillRecord(opts DrillOptions, res *DrillResult, err error) *RestoreTestRecord {
	rec := &RestoreTestRecord{
		Format:          FormatVersion,
		SnapshotID:      res.SnapshotID,
		Instance:        opts.Instance,
		Started:         res.Started,
		Finished:        res.Finished,
		Success:         err == nil,
		ErrorClass:      DrillErrorClass(err),
		Bytes:           res.Bytes,
		Collections:     res.Collections,
		Records:         res.Records,
		Duration:        res.Recovery,
		RestoreDuration: res.Restore,
		ChromaReady:     res.ChromaReady,
		ChromaChecked:   res.ChromaChecked,
		Queries:         res.Queries,
		ToolVersion:     toolVersion(opts.ToolVersion),
	}
	if err != nil {
		rec.Error = err.Error()
	}
	return rec
}

// RecoveryTime is the measured recovery time the record gives: Duration,
// or for a record written before it existed, the span of the test.
func (rec *RestoreTestRecord) RecoveryTime() time.Duration {
	if rec.Duration > 0 {
		return rec.Duration
	}
	return rec.Finished.Sub(rec.Started)
}

// carryForward keeps the last passing drill known through failures.
func (rec *RestoreTestRecord) carryForward(prev *RestoreTestRecord) {
	if rec.Success {
		rec.LastSuccess, rec.LastSuccessSnapshotID, rec.LastSuccessDuration = rec.Finished, rec.SnapshotID, rec.Duration
		return
	}
	if prev != nil {
		rec.LastSuccess, rec.LastSuccessSnapshotID, rec.LastSuccessDuration = prev.LastSuccess, prev.LastSuccessSnapshotID, prev.LastSuccessDuration
	}
}
