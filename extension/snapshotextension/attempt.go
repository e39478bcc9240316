package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension/internal/metadata"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// Outcomes of an attempt (the outcome attribute of the attempt metrics).
const (
	outcomeSuccess   = "success"
	outcomeFailure   = "failure"
	outcomeCancelled = "cancelled"
)

// attempts runs the jobs against the real engine: a snapshot attempt is the
// engine call of `otelcol-chroma snapshot now`, with the same settings.
type attempts struct {
	settings   *snapshotconfig.Settings
	bucket     storage.Bucket
	keys       snapshot.Keys // the writer key, or none
	readKeys   snapshot.Keys // for retention and prune: the reader key if configured, else keys
	version    string
	log        *zap.Logger
	tel        *metadata.TelemetryBuilder
	now        func() time.Time
	maintainer maintainer // nil: no retention or prune
	// locks are the bucket locks this collector holds, shared by every
	// repository it opens: a lock it failed to release (the bucket was
	// down) is then taken over at once instead of blocking until expiry.
	locks *snapshot.HeldLocks

	// unrecorded counts failed attempts since the last success that wrote
	// no status record (the bucket was down, or refused writes): the next
	// record written counts them, and until then the chromabackup receiver
	// adds them to what the bucket's record says (UnrecordedFailures).
	// Attempts run one at a time; the receiver reads it concurrently.
	unrecorded *atomic.Int64
}

// open opens the repository with this collector's lock bookkeeping.
func (a *attempts) open(ctx context.Context, keys snapshot.Keys) (*snapshot.Repository, error) {
	return snapshot.Open(ctx, a.bucket, keys, snapshot.WithLockOptions(snapshot.LockOptions{Held: a.locks}))
}

// take opens the repository and takes one snapshot. A failure that the
// bucket holds no record of is counted into the next record written.
func (a *attempts) take(ctx context.Context) (*snapshot.Manifest, error) {
	repo, err := a.open(ctx, a.keys)
	if err != nil {
		a.unrecorded.Add(1)
		return nil, err
	}
	opts := a.settings.SnapshotOptions()
	opts.ToolVersion = a.version
	opts.Logger = newEngineLogger(a.log)
	opts.UnrecordedFailures = int(a.unrecorded.Load())
	m, recorded, err := repo.SnapshotRecorded(ctx, opts)
	if err != nil && !recorded {
		a.unrecorded.Add(1)
	} else {
		a.unrecorded.Store(0)
	}
	return m, err
}

// bounded applies the configured timeout to one step (a snapshot attempt,
// a retention step, a prune).
func (a *attempts) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return a.boundedBy(ctx, a.settings.Timeout)
}

// logFailure writes the error line of a failed step: its class in the
// message and as error_class, the error, and what to do.
func (a *attempts) logFailure(msg string, class errorClass, err error, extra ...zap.Field) {
	fields := append([]zap.Field{
		zap.String("error_class", class.name),
		zap.Error(err),
		zap.String("what_to_do", class.hint),
	}, extra...)
	if class == classCancelled {
		a.log.Warn(msg+" cancelled", fields...)
		return
	}
	a.log.Error(msg+" failed: "+class.summary, fields...)
}

func (a *attempts) snapshot(ctx context.Context) {
	start := a.now()
	attemptCtx, cancel := a.bounded(ctx)
	defer cancel()
	a.log.Debug("Snapshot attempt started")
	m, err := a.take(attemptCtx)
	elapsed := a.now().Sub(start)
	if err != nil {
		a.failed(ctx, err, classify(err, attemptCtx.Err() != nil && ctx.Err() == nil, ctx.Err() != nil), elapsed)
		return
	}
	a.succeeded(ctx, m, elapsed)
	if a.maintainer != nil {
		a.applyRetention(ctx)
	}
}

// applyRetention forgets what the policy no longer keeps; a failure leaves
// every snapshot in place, and the next successful attempt tries again.
func (a *attempts) applyRetention(ctx context.Context) {
	stepCtx, cancel := a.bounded(ctx)
	defer cancel()
	repo, err := a.open(stepCtx, a.readKeys)
	var removed []string
	if err == nil {
		removed, err = a.maintainer.ApplyRetention(stepCtx, repo)
	}
	if err != nil {
		// The next successful snapshot applies retention again.
		a.logFailure("Retention", classify(err, stepCtx.Err() != nil && ctx.Err() == nil, ctx.Err() != nil), err, zap.Strings("forgotten", removed))
		return
	}
	if len(removed) == 0 {
		a.log.Debug("Retention kept every snapshot")
		return
	}
	a.log.Info("Retention forgot snapshots", zap.Int("count", len(removed)), zap.Strings("forgotten", removed))
}

func (a *attempts) succeeded(ctx context.Context, m *snapshot.Manifest, elapsed time.Duration) {
	ctx = context.WithoutCancel(ctx)
	a.tel.ExtensionSnapshotAttempts.Add(ctx, 1, outcomeAttr(outcomeSuccess))
	a.tel.ExtensionSnapshotDuration.Record(ctx, elapsed.Seconds(), outcomeAttr(outcomeSuccess))
	a.tel.ExtensionSnapshotAddedSize.Add(ctx, m.Stats.AddedBytes)
	a.tel.ExtensionSnapshotWriterStall.Record(ctx, m.Timings.WriterStall.Seconds())
	a.log.Info("Snapshot taken",
		zap.String("snapshot_id", m.ID),
		zap.Int64("size_bytes", m.Stats.LogicalBytes),
		zap.Int64("added_bytes", m.Stats.AddedBytes),
		zap.Duration("writer_stall", m.Timings.WriterStall),
		zap.Duration("duration", elapsed),
		zap.Int("collections", len(m.Chroma.Collections)),
		zap.Int64("records", m.Records()))
}

func (a *attempts) failed(ctx context.Context, err error, class errorClass, elapsed time.Duration) {
	outcome := outcomeFailure
	if class == classCancelled {
		outcome = outcomeCancelled
	}
	ctx = context.WithoutCancel(ctx)
	a.tel.ExtensionSnapshotAttempts.Add(ctx, 1, outcomeAttr(outcome))
	a.tel.ExtensionSnapshotDuration.Record(ctx, elapsed.Seconds(), outcomeAttr(outcome))
	a.logFailure("Snapshot attempt", class, err, zap.Duration("duration", elapsed))
}

func (a *attempts) prune(ctx context.Context) {
	if a.maintainer == nil {
		return
	}
	start := a.now()
	stepCtx, cancel := a.bounded(ctx)
	defer cancel()
	repo, err := a.open(stepCtx, a.readKeys)
	var res *snapshot.PruneResult
	if err == nil {
		res, err = a.maintainer.Prune(stepCtx, repo)
	}
	elapsed := a.now().Sub(start)
	if err != nil {
		a.logFailure("Prune", classify(err, stepCtx.Err() != nil && ctx.Err() == nil, ctx.Err() != nil), err, zap.Duration("duration", elapsed))
		return
	}
	a.log.Info("Prune done",
		zap.Int("snapshots", res.Snapshots),
		zap.Int("blocks_deleted", res.BlocksDeleted),
		zap.Int64("bytes_deleted", res.BytesDeleted),
		zap.Int("blocks_kept_young", res.BlocksYoung),
		zap.Int("leftovers_deleted", res.Leftovers),
		zap.Duration("duration", elapsed))
}

func outcomeAttr(outcome string) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
}
