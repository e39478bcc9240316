package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// maintainer keeps the bucket from growing without bound. The extension
// calls ApplyRetention after each successful snapshot and Prune every
// prune_interval, never while one of its snapshot attempts runs (other
// writers are kept apart by the engine's bucket locks).
type maintainer interface {
	// ApplyRetention forgets the snapshots the retention policy no longer
	// keeps (never the newest) and returns their ids.
	ApplyRetention(ctx context.Context, repo *snapshot.Repository) (removed []string, err error)
	// Prune deletes data that no remaining snapshot references.
	Prune(ctx context.Context, repo *snapshot.Repository) (*snapshot.PruneResult, error)
}

// engineMaintenance is the maintainer of the snapshot engine: the
// `retention:` settings applied with Forget, and Prune.
type engineMaintenance struct {
	policy   snapshot.Policy
	scope    snapshot.Scope
	instance string
	log      *slog.Logger
}

func newEngineMaintenance(s *snapshotconfig.Settings, log *slog.Logger) (*engineMaintenance, error) {
	policy, scope, err := s.Retention.Policy()
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return &engineMaintenance{policy: policy, scope: scope, instance: s.Instance, log: log}, nil
}

func (m *engineMaintenance) ApplyRetention(ctx context.Context, repo *snapshot.Repository) ([]string, error) {
	res, err := repo.Forget(ctx, snapshot.ForgetOptions{Policy: m.policy, Scope: m.scope, Instance: m.instance, Logger: m.log})
	if res == nil {
		return nil, err
	}
	return res.Removed, err
}

func (m *engineMaintenance) Prune(ctx context.Context, repo *snapshot.Repository) (*snapshot.PruneResult, error) {
	return repo.Prune(ctx, snapshot.PruneOptions{Logger: m.log})
}
