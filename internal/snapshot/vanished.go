package snapshot

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Vanished is a snapshot that an instance's status record names (as the
// snapshot of its latest attempt, or of its last success) but that the
// bucket no longer lists. Retention never deletes these, so it was deleted
// by something else.
type Vanished struct {
	ID       string
	Instance string
	// Recorded is when the record naming it was written.
	Recorded time.Time
}

// vanishedSnapshots returns the snapshots named by trusted records and
// missing from listed, newest first. Read the records before listing, so a
// snapshot written meanwhile is listed.
func vanishedSnapshots(attempts []AttemptStatus, listed []manifestObject) []Vanished {
	have := make(map[string]bool, len(listed))
	for _, o := range listed {
		have[o.id] = true
	}
	seen := make(map[string]bool)
	var out []Vanished
	for _, a := range attempts {
		if a.Record == nil {
			continue
		}
		for _, id := range a.Record.snapshotIDs() {
			if have[id] || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, Vanished{ID: id, Instance: attemptInstance(a.Record.Instance, a.Record.Hostname), Recorded: a.Record.Finished})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// RecordedSnapshots returns the ids that the instances' status records
// name, which retention must keep: deleting one would be reported as a
// vanished snapshot.
func (r *Repository) RecordedSnapshots(ctx context.Context) (map[string]bool, error) {
	attempts, err := r.Attempts(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool)
	for _, a := range attempts {
		if a.Record != nil {
			for _, id := range a.Record.snapshotIDs() {
				out[id] = true
			}
		}
	}
	return out, nil
}

// snapshotIDs are the well-formed snapshot ids the record names.
func (rec *AttemptRecord) snapshotIDs() []string {
	var ids []string
	for _, id := range []string{rec.SnapshotID, rec.LastSuccessSnapshotID} {
		if _, err := parseSnapshotID(id); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// latestListed lists the snapshots for "latest" with the vanished ones:
// the status records are read before the listing, so a snapshot written
// meanwhile is listed.
func (r *Repository) latestListed(ctx context.Context) ([]manifestObject, []Vanished, error) {
	attempts, err := r.Attempts(ctx)
	if err != nil {
		return nil, nil, err
	}
	objs, err := r.listManifestObjects(ctx)
	if err != nil {
		return nil, nil, err
	}
	return objs, vanishedSnapshots(attempts, objs), nil
}

// refuseVanished refuses "latest" when a recorded snapshot newer than
// newest (the one "latest" would pick; "" for none) is missing: "latest"
// would then silently roll back to an older snapshot.
func (r *Repository) refuseVanished(vanished []Vanished, newest string) error {
	for _, v := range vanished {
		if newest != "" && v.ID < newest {
			continue
		}
		instead := "no snapshot is left"
		if newest != "" {
			instead = "the newest one left is " + newest
		}
		return fmt.Errorf("%w: snapshot %s, recorded by instance %q at %s as its newest, is not in %s; it was deleted outside retention, and %s. Refusing to pick \"latest\": name a snapshot id explicitly if an older one is what you want, and find out who deleted it (bucket access logs, object versioning)",
			ErrVanished, v.ID, v.Instance, v.Recorded.Format(time.RFC3339), r.bucket, instead)
	}
	return nil
}
