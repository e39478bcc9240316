package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// drill runs one restore drill with the reader key (the engine call of
// `otelcol-chroma snapshot drill`), bounded by drill::timeout. The engine
// records its outcome in the bucket; this logs one line and counts it.
func (a *attempts) drill(ctx context.Context) {
	start := a.now()
	drillCtx, cancel := a.boundedBy(ctx, a.settings.Drill.Timeout)
	defer cancel()
	a.log.Debug("Restore drill started")
	res, err := a.runDrill(drillCtx)
	elapsed := a.now().Sub(start)
	tctx := context.WithoutCancel(ctx)
	if err != nil {
		class := classifyDrill(err, drillCtx.Err() != nil && ctx.Err() == nil, ctx.Err() != nil)
		outcome := outcomeFailure
		if class == classCancelled {
			outcome = outcomeCancelled
		}
		a.tel.ExtensionSnapshotDrills.Add(tctx, 1, outcomeAttr(outcome))
		fields := []zap.Field{zap.Duration("duration", elapsed), zap.Bool("recorded", res != nil && res.Recorded)}
		if res != nil {
			fields = append(fields, zap.String("snapshot_id", res.SnapshotID))
		}
		a.logFailure("Restore drill", class, err, fields...)
		return
	}
	a.tel.ExtensionSnapshotDrills.Add(tctx, 1, outcomeAttr(outcomeSuccess))
	a.tel.ExtensionSnapshotDrillRecoveryTime.Record(tctx, res.Recovery.Seconds())
	a.log.Info("Restore drill passed",
		zap.String("snapshot_id", res.SnapshotID),
		zap.Duration("recovery_time", res.Recovery),
		zap.Duration("restore", res.Restore),
		zap.Duration("chroma_ready", res.ChromaReady),
		zap.Bool("chroma_checked", res.ChromaChecked),
		zap.Int("queries", res.Queries),
		zap.Int64("size_bytes", res.Bytes),
		zap.Int("collections", res.Collections),
		zap.Int64("records", res.Records),
		zap.Duration("duration", elapsed))
}

func (a *attempts) runDrill(ctx context.Context) (*snapshot.DrillResult, error) {
	repo, err := snapshot.OpenExisting(ctx, a.bucket, a.readKeys)
	if err != nil {
		return nil, err
	}
	opts := a.settings.DrillOptions()
	opts.ToolVersion = a.version
	opts.Logger = newEngineLogger(a.log)
	return repo.Drill(ctx, opts)
}

// boundedBy applies a timeout (0: none) to one step.
func (a *attempts) boundedBy(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(ctx, timeout)
	}
	return context.WithCancel(ctx)
}
