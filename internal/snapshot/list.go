package snapshot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Summary describes one snapshot in a listing.
type Summary struct {
	ID string
	// Created is the time in the id (second precision); Manifest.Created
	// is exact.
	Created time.Time
	// ManifestSize is the manifest object's size in bytes.
	ManifestSize int64
	// Manifest is the decoded manifest; nil when it could not be read
	// (encrypted repository without the reader key, or Err set).
	Manifest *Manifest
	// Err says why the manifest could not be read, when it could have been:
	// a snapshot with Err set is damaged or altered and must not be trusted.
	Err error
}

type manifestObject struct {
	id      string
	created time.Time
	size    int64
}

// listManifestObjects lists snapshots/ newest first, from object names only.
func (r *Repository) listManifestObjects(ctx context.Context) ([]manifestObject, error) {
	out, _, err := r.scanManifestObjects(ctx)
	return out, err
}

// scanManifestObjects lists snapshots/ newest first, and apart from them
// the manifest objects whose names are not snapshot ids (invalid), each
// with why.
func (r *Repository) scanManifestObjects(ctx context.Context) (out []manifestObject, invalid []Summary, err error) {
	for info, err := range r.bucket.List(ctx, snapshotsPrefix) {
		if err != nil {
			return nil, nil, fmt.Errorf("list %s in %s: %w%s", snapshotsPrefix, r.bucket, err, storageHint(err))
		}
		name := strings.TrimPrefix(info.Key, snapshotsPrefix)
		id, ok := strings.CutSuffix(name, manifestSuffix)
		if !ok {
			continue // not a manifest: FORMAT.md says it is ignored
		}
		t, err := parseSnapshotID(id)
		if err != nil {
			invalid = append(invalid, Summary{ID: id, ManifestSize: info.Size,
				Err: fmt.Errorf("%w: manifest %s in %s: %v", ErrCorrupt, info.Key, r.bucket, err)})
			continue
		}
		out = append(out, manifestObject{id: id, created: t, size: info.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id > out[j].id })
	return out, invalid, nil
}

// List returns every snapshot, newest first. With the reader key (or in an
// unencrypted repository) each Summary carries its authenticated manifest;
// otherwise only ids, times and sizes from the object names. A manifest
// that fails to authenticate or decode is listed with Err set, not dropped;
// so is one whose name is not a snapshot id (listed last, without a time).
func (r *Repository) List(ctx context.Context) ([]Summary, error) {
	objs, invalid, err := r.scanManifestObjects(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, len(objs))
	for i, o := range objs {
		out[i] = Summary{ID: o.id, Created: o.created, ManifestSize: o.size}
	}
	cfg := r.config()
	if cfg == nil {
		if len(objs)+len(invalid) > 0 {
			return nil, r.configMissingErr()
		}
		return out, nil
	}
	if cfg.Encrypted && !r.keys.CanRead() {
		return append(out, invalid...), nil
	}
	// Manifests are small; read a few at a time to hide bucket latency.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func(s *Summary) {
			defer wg.Done()
			defer func() { <-sem }()
			s.Manifest, s.Err = r.readManifest(ctx, cfg, s.ID)
		}(&out[i])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append(out, invalid...), nil
}
