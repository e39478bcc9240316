package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// maxOrderWait bounds how long a snapshot waits for the clock to pass the
// newest snapshot's id time, so that a snapshot taken within the same second
// as the previous one still sorts after it. A newest snapshot further ahead
// than this means this machine's clock is behind: a warning, not a wait.
const maxOrderWait = 2 * time.Second

// checkManifest reads snapshot id's manifest as far as r's keys allow: a
// full read with the reader key (or unencrypted), authentication only with
// the writer key. With no key in an encrypted repository it cannot tell
// and reports nothing.
func (r *Repository) checkManifest(ctx context.Context, cfg *repoConfig, id string) (*Manifest, error) {
	if !cfg.Encrypted || r.keys.CanRead() {
		return r.readManifest(ctx, cfg, id)
	}
	if !r.keys.Encrypted() {
		return nil, nil
	}
	obj, err := r.readManifestObject(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := manifestBody(obj, r.keys, true); err != nil {
		return nil, fmt.Errorf("manifest %s in %s: %w", manifestKey(id), r.bucket, err)
	}
	return nil, nil
}

// isDamage reports whether err says a manifest is unusable: damaged,
// gone, or unreadable for good (permission denied on that one object). A
// transient failure (the bucket unreachable) is not: it must not make
// "latest" go back to an older snapshot.
func isDamage(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongKey) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, storage.ErrPermanent)
}

// newestIntact returns the index in objs (newest first) of the newest
// snapshot whose manifest checks out (-1 if none), its manifest when r can
// decode it, and why each newer one was passed over.
func (r *Repository) newestIntact(ctx context.Context, cfg *repoConfig, objs []manifestObject) (int, *Manifest, []error, error) {
	var damaged []error
	for i, o := range objs {
		m, err := r.checkManifest(ctx, cfg, o.id)
		if err == nil {
			return i, m, damaged, nil
		}
		if !isDamage(err) {
			return -1, nil, damaged, err
		}
		damaged = append(damaged, fmt.Errorf("snapshot %s is damaged: %w", o.id, err))
	}
	return -1, nil, damaged, nil
}

// latestManifest returns the manifest of the newest snapshot whose manifest
// reads, and why each newer one was skipped: a damaged or planted manifest
// (say, one dated 9999) never becomes "latest". It refuses when a snapshot
// the status records name as newer has vanished (see refuseVanished).
func (r *Repository) latestManifest(ctx context.Context, cfg *repoConfig) (*Manifest, []error, error) {
	objs, vanished, err := r.latestListed(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(objs) == 0 {
		if err := r.refuseVanished(vanished, ""); err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: %s holds no snapshots", ErrNotFound, r.bucket)
	}
	i, m, damaged, err := r.newestIntact(ctx, cfg, objs)
	if err != nil {
		return nil, damaged, err
	}
	newest := ""
	if i >= 0 {
		newest = objs[i].id
	}
	if err := r.refuseVanished(vanished, newest); err != nil {
		return nil, damaged, err
	}
	if i < 0 {
		return nil, damaged, fmt.Errorf("%w: none of the %d snapshots in %s has an intact manifest (newest: %w); nothing in this bucket can be restored: restore from a replica of the bucket, or put back a copy of a manifest (an earlier version of the object, if the bucket keeps versions)", ErrCorrupt, len(objs), r.bucket, damaged[0])
	}
	if err := refuseFuture(objs[i], time.Now()); err != nil {
		return nil, damaged, err
	}
	return m, damaged, nil
}

// maxFutureSkew is how far ahead of the clock the newest snapshot may be
// before "latest" is ambiguous.
const maxFutureSkew = 5 * time.Minute

// refuseFuture refuses a "latest" dated ahead of the clock: either it was
// taken by a clock set ahead, and snapshots taken since (after the clock
// was corrected) sort before it, so "latest" would silently go back to older
// data; or this machine's clock is behind. Only a person can tell.
func refuseFuture(newest manifestObject, now time.Time) error {
	ahead := newest.created.Sub(now)
	if ahead <= maxFutureSkew {
		return nil
	}
	return fmt.Errorf("%w: the newest snapshot %s is dated %s ahead of this machine's clock: it was taken by a clock set ahead (snapshots taken since sort before it and are not \"latest\") or this clock is behind; check the clocks, then name the snapshot to use by its id (snapshot list)",
		ErrFutureSnapshot, newest.id, ahead.Round(time.Second))
}

// statusNewest sets st.Newest to the newest intact snapshot and
// st.DamagedNewer to the newer ones it passed over.
func (r *Repository) statusNewest(ctx context.Context, cfg *repoConfig, objs []manifestObject, st *Status) error {
	summary := func(o manifestObject) Summary {
		return Summary{ID: o.id, Created: o.created, ManifestSize: o.size}
	}
	if len(objs) == 0 {
		return nil
	}
	if cfg == nil {
		s := summary(objs[0])
		st.Newest = &s
		return nil
	}
	i, m, damaged, err := r.newestIntact(ctx, cfg, objs)
	if err != nil {
		return err
	}
	for j, d := range damaged {
		s := summary(objs[j])
		s.Err = d
		st.DamagedNewer = append(st.DamagedNewer, s)
	}
	if i >= 0 {
		s := summary(objs[i])
		s.Manifest = m
		st.Newest = &s
	}
	return nil
}

// snapshotIDTime is the time a new snapshot's id records: the time asked
// for (restic's backup --time), else the clock's (snapshotTime).
func (r *Repository) snapshotIDTime(ctx context.Context, cfg *repoConfig, at time.Time, log *slog.Logger) (time.Time, error) {
	if !at.IsZero() {
		return at.UTC(), nil
	}
	return r.snapshotTime(ctx, cfg, log)
}

// snapshotTime picks the time in a new snapshot's id: the clock's, never
// one derived from the bucket's content. When the newest intact snapshot
// has the current second (or is at most maxOrderWait ahead), it waits for
// the clock to pass it, so the new snapshot sorts last; when it is further
// ahead, the clock is behind, and it warns.
func (r *Repository) snapshotTime(ctx context.Context, cfg *repoConfig, log *slog.Logger) (time.Time, error) {
	objs, err := r.listManifestObjects(ctx)
	if err != nil {
		return time.Time{}, err
	}
	i, _, damaged, err := r.newestIntact(ctx, cfg, objs)
	if err != nil {
		return time.Time{}, err
	}
	for _, d := range damaged {
		log.Warn("a newer snapshot is damaged; `snapshot list` shows it", "error", d)
	}
	now := time.Now().UTC()
	if i < 0 {
		return now, nil
	}
	newest := objs[i]
	ahead := newest.created.Sub(now.Truncate(time.Second))
	switch {
	case ahead < 0:
		return now, nil
	case ahead <= maxOrderWait:
		return waitUntil(ctx, newest.created.Add(time.Second))
	}
	log.Warn("this machine's clock is behind the newest snapshot: the new snapshot's id sorts before it, and `latest` keeps naming the newer one until the clock passes it; check the clock (NTP)",
		"newest", newest.id, "behind", ahead.String(), "now", now.Format(time.RFC3339))
	return now, nil
}

// waitUntil returns the clock's time once it has reached t, or ctx's error.
func waitUntil(ctx context.Context, t time.Time) (time.Time, error) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("snapshot cancelled before its manifest was written: %w", context.Cause(ctx))
	case <-timer.C:
		return time.Now().UTC(), nil
	}
}
