package snapshot

import (
	"context"
	"errors"
	"fmt"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// OpenExisting opens a repository that must already exist, as every read
// (list, status, verify, restore) needs: a bucket without config.json is an
// error (ErrNoRepository) rather than an empty repository, so a mistyped path
// or an unmounted volume is not mistaken for "no snapshots". A bucket that
// holds snapshots or blocks but no config.json fails with ErrConfigMissing.
// It creates nothing.
func OpenExisting(ctx context.Context, bucket storage.Bucket, keys Keys) (*Repository, error) {
	r, err := Open(ctx, bucket, keys)
	if errors.Is(err, storage.ErrNoBucket) {
		return nil, fmt.Errorf("%w at %s: %w", ErrNoRepository, bucket, err)
	}
	if err != nil {
		return nil, err
	}
	if r.Initialized() {
		return r, nil
	}
	holds, err := r.holdsSnapshotData(ctx)
	if err != nil {
		return nil, err
	}
	if holds {
		return nil, r.configMissingErr()
	}
	return nil, r.noRepositoryErr()
}

func (r *Repository) noRepositoryErr() error {
	return fmt.Errorf("%w at %s: it holds no %s; check the bucket URL and prefix (for a folder: the path, and that its volume is mounted); `snapshot now` creates a repository in an existing folder or bucket", ErrNoRepository, r.bucket, configKey)
}

func (r *Repository) configMissingErr() error {
	return fmt.Errorf("%w: %s holds snapshots or blocks but no %s; was it deleted? A new repository here would orphan them: rebuild it from the manifests with `otelcol-chroma snapshot repair-config` (FORMAT.md, \"Rebuilding config.json\")", ErrConfigMissing, r.bucket, configKey)
}

// holdsSnapshotData reports whether snapshots/ or blocks/ hold any object.
func (r *Repository) holdsSnapshotData(ctx context.Context) (bool, error) {
	for _, prefix := range []string{snapshotsPrefix, blocksPrefix} {
		for _, err := range r.bucket.List(ctx, prefix) {
			if err != nil {
				return false, fmt.Errorf("list %s in %s: %w%s", prefix, r.bucket, err, storageHint(err))
			}
			return true, nil
		}
	}
	return false, nil
}

// configOfExistingData is called before creating config.json. When the
// bucket already holds snapshots or blocks it returns config.json as
// another writer may have just created it (a writer stores config.json
// before any block), and otherwise ErrConfigMissing: the data belongs to a
// repository whose config.json is gone, and a new one would orphan it. It
// returns nil, nil when the bucket holds no snapshot data.
func (r *Repository) configOfExistingData(ctx context.Context) (*repoConfig, error) {
	holds, err := r.holdsSnapshotData(ctx)
	if err != nil || !holds {
		return nil, err
	}
	cfg, err := r.readCheckedConfig(ctx)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, r.configMissingErr()
	}
	if err != nil {
		return nil, err
	}
	r.cfg = cfg
	return cfg, nil
}
