package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// RestoreTestRecord is status/restore-test.json (FORMAT.md), written by the
// scheduled restore test.
type RestoreTestRecord struct {
	Format     int       `json:"format"`
	SnapshotID string    `json:"snapshot_id"`
	Instance   string    `json:"instance,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Success    bool      `json:"success"`
	Error      string    `json:"error,omitempty"`
	// LastSuccess is the finish time of the most recent passing test (the
	// latest attempt's, when it passed); zero if none ever passed.
	LastSuccess           time.Time `json:"last_success,omitzero"`
	LastSuccessSnapshotID string    `json:"last_success_snapshot_id,omitempty"`
	Bytes                 int64     `json:"bytes"`
	Collections           int       `json:"collections"`
	Records               int64     `json:"records"`
	// ErrorClass says why the latest attempt failed (drill error classes);
	// Error itself is recorded in unencrypted repositories only.
	ErrorClass string `json:"error_class,omitempty"`
	// Duration is the measured recovery time: the restore (download, every
	// check, fsync) plus, when Chroma was started on the copy, the time it
	// took to answer. RestoreDuration and ChromaReady are the two parts.
	Duration        time.Duration `json:"duration_ns"`
	RestoreDuration time.Duration `json:"restore_ns"`
	ChromaReady     time.Duration `json:"chroma_ready_ns,omitempty"`
	// ChromaChecked says a real Chroma served the copy with the manifest's
	// counts; Queries counts the nearest-neighbour queries that passed.
	ChromaChecked bool `json:"chroma_checked"`
	Queries       int  `json:"queries"`
	// LastSuccessDuration is the recovery time of the last passing drill.
	LastSuccessDuration time.Duration `json:"last_success_duration_ns,omitempty"`
	ToolVersion         string        `json:"tool_version,omitempty"`
}

// RestoreTestKey is the object key of the restore-test record.
const RestoreTestKey = restoreTestKey

// Status summarizes a repository for operators and metrics. It needs no
// key; with the reader key (or unencrypted) Newest carries its manifest.
type Status struct {
	Initialized  bool
	Encrypted    bool
	RepositoryID string
	BlockSize    int
	// Snapshots counts manifests; Newest is the newest one whose manifest
	// checks out as far as the keys allow (nil if none), and DamagedNewer
	// the newer ones passed over, each with Err set.
	Snapshots    int
	Newest       *Summary
	DamagedNewer []Summary
	// BlockObjects and BlockBytes cover blocks/ (including blocks no snapshot
	// references yet); SnapshotBytes covers snapshots/.
	BlockObjects  int64
	BlockBytes    int64
	SnapshotBytes int64
	// RestoreTest is the last restore-test record, nil if none;
	// RestoreTestErr says why it could not be read or trusted (then
	// RestoreTest is nil). RestoreTestTrust says how far it was checked: a
	// record read without a key from an encrypted repository is unverified.
	RestoreTest      *RestoreTestRecord
	RestoreTestErr   error
	RestoreTestTrust Trust
	// Attempts are the instances' latest snapshot attempts.
	Attempts []AttemptStatus
	// Vanished lists snapshots the attempt records name that the bucket no
	// longer holds: deleted outside retention.
	Vanished []Vanished
}

// TotalBytes is what snapshots occupy in the bucket.
func (s *Status) TotalBytes() int64 { return s.BlockBytes + s.SnapshotBytes }

// Status lists the repository and reads its restore-test record.
func (r *Repository) Status(ctx context.Context) (*Status, error) {
	st := &Status{Encrypted: r.Encrypted()}
	cfg := r.config()
	if cfg == nil {
		// Another writer may have created it since Open.
		c, err := r.readConfig(ctx)
		switch {
		case err == nil:
			if err := r.checkKeys(c); err != nil {
				return nil, err
			}
			r.mu.Lock()
			if r.cfg == nil {
				r.cfg = c
			}
			cfg = r.cfg
			r.mu.Unlock()
		case !errors.Is(err, storage.ErrNotExist):
			return nil, err
		}
	}
	if cfg != nil {
		st.Initialized, st.Encrypted = true, cfg.Encrypted
		st.RepositoryID, st.BlockSize = cfg.RepositoryID, cfg.BlockSize
	}
	// Records before the listing: a snapshot written in between is listed.
	var err error
	if st.Attempts, err = r.Attempts(ctx); err != nil {
		return nil, err
	}
	inv, objs, err := r.inventory(ctx)
	if err != nil {
		return nil, err
	}
	st.Vanished = vanishedSnapshots(st.Attempts, objs)
	st.Snapshots, st.SnapshotBytes = inv.Snapshots, inv.SnapshotBytes
	st.BlockObjects, st.BlockBytes = inv.BlockObjects, inv.BlockBytes
	if err := r.statusNewest(ctx, cfg, objs, st); err != nil {
		return nil, err
	}
	st.RestoreTest, st.RestoreTestTrust, st.RestoreTestErr = r.readRestoreTest(ctx)
	return st, nil
}

// Inventory is what the listings of snapshots/ and blocks/ say, from
// object names and sizes alone: it reads no object and needs no key.
type Inventory struct {
	// Snapshots counts manifests; Newest is the newest one (id, time and
	// manifest size; no manifest), nil if none.
	Snapshots int
	Newest    *Summary
	// SnapshotBytes covers snapshots/; BlockObjects and BlockBytes cover
	// blocks/ (including blocks no snapshot references yet).
	SnapshotBytes int64
	BlockObjects  int64
	BlockBytes    int64
}

// TotalBytes is what snapshots occupy in the bucket.
func (inv *Inventory) TotalBytes() int64 { return inv.BlockBytes + inv.SnapshotBytes }

// Inventory lists snapshots/ and blocks/. Its cost grows with the number
// of objects (one request per 1,000 on S3): callers that poll cache it
// and call it when StatusObjects changes.
func (r *Repository) Inventory(ctx context.Context) (*Inventory, error) {
	inv, _, err := r.inventory(ctx)
	return inv, err
}

func (r *Repository) inventory(ctx context.Context) (*Inventory, []manifestObject, error) {
	objs, err := r.listManifestObjects(ctx)
	if err != nil {
		return nil, nil, err
	}
	inv := &Inventory{Snapshots: len(objs)}
	for _, o := range objs {
		inv.SnapshotBytes += o.size
	}
	if len(objs) > 0 {
		o := objs[0]
		inv.Newest = &Summary{ID: o.id, Created: o.created, ManifestSize: o.size}
	}
	for info, err := range r.bucket.List(ctx, blocksPrefix) {
		if err != nil {
			return nil, nil, fmt.Errorf("list %s in %s: %w%s", blocksPrefix, r.bucket, err, storageHint(err))
		}
		inv.BlockObjects++
		inv.BlockBytes += info.Size
	}
	return inv, objs, nil
}

// StatusObjects lists status/: every attempt and restore test rewrites one
// of these objects, so a poller can tell from this one cheap listing
// (its size does not grow with the number of snapshots) whether anything
// happened since it last looked.
func (r *Repository) StatusObjects(ctx context.Context) ([]storage.ObjectInfo, error) {
	var out []storage.ObjectInfo
	for info, err := range r.bucket.List(ctx, statusPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w%s", statusPrefix, r.bucket, err, storageHint(err))
		}
		out = append(out, info)
	}
	return out, nil
}

// RestoreTest reads status/restore-test.json: nil when there is none. A
// record that fails its check is returned as an error (ErrCorrupt), never
// as its content; trust says how far it was checked.
func (r *Repository) RestoreTest(ctx context.Context) (*RestoreTestRecord, Trust, error) {
	return r.readRestoreTest(ctx)
}

func (r *Repository) readRestoreTest(ctx context.Context) (*RestoreTestRecord, Trust, error) {
	var rec RestoreTestRecord
	found, trust, err := r.readStatus(ctx, restoreTestKey, &rec)
	if err != nil || !found {
		return nil, trust, err
	}
	return &rec, trust, nil
}

// WriteRestoreTest stores the restore test's record, authenticated like a
// manifest in an encrypted repository (the writer or the reader key).
func (r *Repository) WriteRestoreTest(ctx context.Context, rec *RestoreTestRecord) error {
	cfg, err := r.requireConfig()
	if err != nil {
		return err
	}
	if cfg.Encrypted && !r.keys.Encrypted() {
		return fmt.Errorf("%w: this repository (%s) is encrypted; its restore-test record is authenticated with the key", ErrKeyRequired, r.bucket)
	}
	if rec.Format == 0 {
		rec.Format = FormatVersion
	}
	return r.writeStatus(ctx, restoreTestKey, rec)
}
