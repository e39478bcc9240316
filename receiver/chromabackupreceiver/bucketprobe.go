package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// bucketRetryPolicy keeps one scrape's retries few and spaced: the next
// scrape is the real retry.
func bucketRetryPolicy() storage.RetryPolicy {
	return storage.RetryPolicy{MaxAttempts: 3, InitialBackoff: 200 * time.Millisecond, MaxBackoff: time.Second}
}

// bucketProbe reads what the bucket says about backups: the status
// records (one small listing of status/ per scrape) and the listings of
// snapshots/ and blocks/, which grow with the number of snapshots and are
// therefore listed again only when status/ changed (a new attempt or
// restore test) or listInterval has passed (to see deletions by retention
// or by hand). It reads no manifest, so it needs no key.
type bucketProbe struct {
	bucket       storage.Bucket
	keys         snapshot.Keys
	timeout      time.Duration
	listInterval time.Duration
	now          func() time.Time

	repo     *snapshot.Repository
	stamps   []storage.ObjectInfo
	listedAt time.Time
	cached   *bucketState
}

// bucketState is what one full read of the bucket found.
type bucketState struct {
	inv         *snapshot.Inventory
	attempts    []snapshot.AttemptStatus
	restoreTest *snapshot.RestoreTestRecord
	// restoreTestErr: the restore-test record exists but cannot be trusted.
	restoreTestErr error
}

func newBucketProbe(b storage.Bucket, keys snapshot.Keys, timeout, listInterval time.Duration) *bucketProbe {
	return &bucketProbe{bucket: b, keys: keys, timeout: timeout, listInterval: listInterval, now: time.Now}
}

// run returns the bucket's state, or why the bucket could not be read.
func (p *bucketProbe) run(ctx context.Context) (*bucketState, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	repo, err := p.repository(ctx)
	if err != nil {
		return nil, err
	}
	stamps, err := repo.StatusObjects(ctx)
	if err != nil {
		return nil, err
	}
	now := p.now()
	if p.cached != nil && sameObjects(stamps, p.stamps) && now.Sub(p.listedAt) < p.listInterval {
		return p.cached, nil
	}
	st, err := readBucketState(ctx, repo)
	if err != nil {
		return nil, err
	}
	p.cached, p.stamps, p.listedAt = st, stamps, now
	return st, nil
}

// repository opens the repository once it exists; until then (no
// config.json yet) it is opened again at every scrape.
func (p *bucketProbe) repository(ctx context.Context) (*snapshot.Repository, error) {
	if p.repo != nil && p.repo.Initialized() {
		return p.repo, nil
	}
	repo, err := snapshot.Open(ctx, p.bucket, p.keys)
	if err != nil {
		return nil, err
	}
	p.repo = repo
	return repo, nil
}

func readBucketState(ctx context.Context, repo *snapshot.Repository) (*bucketState, error) {
	var st bucketState
	var err error
	// Records before the listing, as Status does: a snapshot written in
	// between is listed.
	if st.attempts, err = repo.Attempts(ctx); err != nil {
		return nil, err
	}
	st.restoreTest, _, st.restoreTestErr = repo.RestoreTest(ctx)
	if st.restoreTestErr != nil && errors.Is(st.restoreTestErr, snapshot.ErrBucket) {
		return nil, st.restoreTestErr
	}
	if st.inv, err = repo.Inventory(ctx); err != nil {
		return nil, err
	}
	return &st, nil
}

func sameObjects(a, b []storage.ObjectInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Size != b[i].Size || !a[i].Modified.Equal(b[i].Modified) {
			return false
		}
	}
	return true
}

// untrusted lists the status records that failed their check.
func (st *bucketState) untrusted() []error {
	var errs []error
	for _, a := range st.attempts {
		if a.Err != nil {
			errs = append(errs, a.Err)
		}
	}
	if st.restoreTestErr != nil {
		errs = append(errs, st.restoreTestErr)
	}
	return errs
}

// attempt returns the record of instance's latest attempt: nil and no
// error when it has none, nil and the reason when it cannot be trusted.
func (st *bucketState) attempt(instance string) (*snapshot.AttemptRecord, error) {
	key := snapshot.AttemptKey(instance)
	for _, a := range st.attempts {
		if a.Key == key {
			return a.Record, a.Err
		}
	}
	return nil, nil
}

// newestFigures are the newest snapshot's size and timings, taken from the
// attempt record (of any instance) that stored it.
type newestFigures struct {
	logicalBytes, addedBytes int64
	duration, writerStall    time.Duration
}

func (st *bucketState) newestFigures(id string) (newestFigures, bool) {
	for _, a := range st.attempts {
		switch rec := a.Record; {
		case rec == nil:
		case rec.LastSuccessSnapshotID == id && rec.LastSuccessLogicalBytes > 0:
			return newestFigures{rec.LastSuccessLogicalBytes, rec.LastSuccessAddedBytes, rec.LastSuccessDuration, rec.LastSuccessWriterStall}, true
		case rec.SnapshotID == id:
			return newestFigures{rec.LogicalBytes, rec.AddedBytes, rec.Duration, rec.WriterStall}, true
		}
	}
	return newestFigures{}, false
}

// maxClockAhead is how far a snapshot id may be ahead of this clock and
// still count (two snapshots within a second get ids a second apart).
const maxClockAhead = 5 * time.Minute

// newestSuccess is the newest complete snapshot: the newest last success
// that a trusted attempt record names, when the bucket holds records; else
// (snapshots of versions that wrote none) the newest listed snapshot whose
// id is not ahead of the clock. So a snapshot of a damaged database is no
// success, and a junk manifest with an id in the future cannot make the
// backups look fresh.
func (st *bucketState) newestSuccess(now time.Time) (id string, at time.Time, ok bool) {
	for _, a := range st.attempts {
		if rec := a.Record; rec != nil && !rec.LastSuccess.IsZero() && rec.LastSuccess.After(at) {
			id, at, ok = rec.LastSuccessSnapshotID, rec.LastSuccess, true
		}
	}
	if ok || len(st.attempts) > 0 || st.inv == nil {
		return id, at, ok
	}
	if n := st.inv.Newest; n != nil && !n.Created.After(now.Add(maxClockAhead)) {
		return n.ID, n.Created, true
	}
	return "", time.Time{}, false
}

// bucketProblemKey identifies a bucket problem for logging: the class of
// the error (S3 messages carry request ids that change at every try), and
// the message itself for damaged or forged records.
func bucketProblemKey(err error) string {
	class := snapshot.ErrorClass(err)
	if class == snapshot.ClassRepository || class == snapshot.ClassKey {
		return class + ": " + err.Error()
	}
	return class
}

// describeBucketError adds what to do to an error of the bucket probe.
func describeBucketError(err error) error {
	switch snapshot.ErrorClass(err) {
	case snapshot.ClassTimeout:
		return fmt.Errorf("snapshot bucket did not answer within bucket_timeout: check its endpoint and the network; chroma.bucket.up is 0 until it answers: %w", err)
	case snapshot.ClassKey:
		return fmt.Errorf("snapshot bucket: the key in encryption does not fit the repository: give its writer or reader key, or none; chroma.bucket.up is 0 until then: %w", err)
	case snapshot.ClassRepository:
		return fmt.Errorf("snapshot bucket: the repository's config.json is damaged; chroma.bucket.up is 0: %w", err)
	}
	return fmt.Errorf("cannot read the snapshot bucket; chroma.bucket.up is 0 until it can: %w", err)
}

// describeUntrusted says what to do about status records that fail their check.
func describeUntrusted(errs []error) error {
	return fmt.Errorf("snapshot bucket holds a status record that cannot be trusted, so chroma.bucket.up is 0 and the metrics it feeds report failure: find out who wrote it (the bucket's access logs); the next attempt or restore test rewrites it: %w", errors.Join(errs...))
}
