package snapshotconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

import (
	"context"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// OpenRepository opens the configured bucket and the snapshot repository in
// it (reading its config.json, if there is one yet).
func (s *Settings) OpenRepository(ctx context.Context, keys snapshot.Keys) (*snapshot.Repository, error) {
	bucket, err := s.OpenBucket(ctx)
	if err != nil {
		return nil, err
	}
	return snapshot.Open(ctx, bucket, keys)
}

// OpenExistingRepository opens the repository for reading: it creates
// nothing, and a bucket without a repository is an error.
func (s *Settings) OpenExistingRepository(ctx context.Context, keys snapshot.Keys) (*snapshot.Repository, error) {
	bucket, err := s.OpenBucket(ctx)
	if err != nil {
		return nil, err
	}
	return snapshot.OpenExisting(ctx, bucket, keys)
}

// SnapshotOptions are the engine options these settings determine; the
// caller adds its version, progress and logger.
func (s *Settings) SnapshotOptions() snapshot.SnapshotOptions {
	return snapshot.SnapshotOptions{
		PersistDir:  s.PersistDirectory,
		ScratchDir:  s.ScratchDirectory,
		Concurrency: s.Concurrency,
		Instance:    s.Instance,
	}
}
