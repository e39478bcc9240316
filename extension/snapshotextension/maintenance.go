package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// maintainer keeps the bucket from growing without bound: the retention
// engine implements it. The extension calls ApplyRetention after each
// successful snapshot and Prune every prune_interval, never while a snapshot
// attempt of this collector runs (other writers are the bucket locks' job).
type maintainer interface {
	// ApplyRetention forgets the snapshots the retention policy no longer
	// keeps. newest was just taken; it is never forgotten.
	ApplyRetention(ctx context.Context, repo *snapshot.Repository, newest *snapshot.Manifest) error
	// Prune deletes data that no remaining snapshot references.
	Prune(ctx context.Context, repo *snapshot.Repository) error
}
