package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// attemptOf returns the trusted attempt record of instance.
func attemptOf(t testing.TB, repo *Repository, instance string) *AttemptRecord {
	t.Helper()
	attempts, err := repo.Attempts(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attempts {
		if a.Key == AttemptKey(instance) {
			if a.Err != nil {
				t.Fatalf("attempt record %s: %v", a.Key, a.Err)
			}
			return a.Record
		}
	}
	t.Fatalf("no attempt record for %q in %+v", instance, attempts)
	return nil
}

// blockFailingBucket fails block writes only: the bucket refuses data but
// still takes the small status record.
type blockFailingBucket struct{ storage.Bucket }

func (b blockFailingBucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, blocksPrefix) {
		return fmt.Errorf("write %s: no space left on device", key)
	}
	return b.Bucket.Write(ctx, key, r, size)
}

// statusFailingBucket refuses to write attempt records, as a bucket that
// went away between the snapshot and its record.
type statusFailingBucket struct{ storage.Bucket }

func (b statusFailingBucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, attemptsPrefix) {
		return fmt.Errorf("write %s: connection refused", key)
	}
	return b.Bucket.Write(ctx, key, r, size)
}

// Failed attempts whose records could not be written are reported as
// unrecorded, and counted by the next failure's record; a success counts
// from zero again.
func TestUnrecordedFailuresCounted(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	takeSnapshot(t, repo, fx.dir)
	missing := filepath.Join(t.TempDir(), "missing")

	_, recorded, err := mustOpen(t, statusFailingBucket{b}, Keys{}).SnapshotRecorded(ctx, SnapshotOptions{PersistDir: missing, Instance: "test"})
	if err == nil || recorded {
		t.Fatalf("attempt whose record cannot be written: recorded %v, error %v", recorded, err)
	}
	_, recorded, err = repo.SnapshotRecorded(ctx, SnapshotOptions{PersistDir: missing, Instance: "test", UnrecordedFailures: 3})
	if err == nil || !recorded {
		t.Fatalf("failed attempt with a writable bucket: recorded %v, error %v", recorded, err)
	}
	if rec := attemptOf(t, repo, "test"); rec.ConsecutiveFailures != 4 {
		t.Fatalf("consecutive failures %d after 3 unrecorded and this one, want 4: %+v", rec.ConsecutiveFailures, rec)
	}
	_, recorded, err = repo.SnapshotRecorded(ctx, SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir(), Instance: "test", UnrecordedFailures: 2})
	if err != nil || !recorded {
		t.Fatalf("success: recorded %v, error %v", recorded, err)
	}
	if rec := attemptOf(t, repo, "test"); rec.ConsecutiveFailures != 0 {
		t.Fatalf("consecutive failures %d after a success, want 0", rec.ConsecutiveFailures)
	}
}

// Every attempt writes its instance's record: success, a missing persist
// directory, a failing bucket; failures are counted and the last success
// carried forward.
func TestAttemptRecords(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	m := takeSnapshot(t, repo, fx.dir)
	rec := attemptOf(t, repo, "test")
	if rec.Outcome != OutcomeSuccess || rec.ErrorClass != "" || rec.SnapshotID != m.ID || rec.LastSuccessSnapshotID != m.ID ||
		rec.ConsecutiveFailures != 0 || rec.LogicalBytes != m.Stats.LogicalBytes || rec.AddedBytes != m.Stats.AddedBytes ||
		rec.WriterStall != m.Timings.WriterStall || rec.Duration <= 0 || rec.ToolVersion == "" || rec.Instance != "test" ||
		rec.RepositoryID != repo.ID() || rec.LastSuccess.IsZero() {
		t.Fatalf("record after a success: %+v", rec)
	}

	missing := filepath.Join(t.TempDir(), "missing")
	_, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: missing, Instance: "test"})
	if ErrorClass(err) != ClassSource {
		t.Fatalf("snapshot of a missing folder: %v (class %q)", err, ErrorClass(err))
	}
	rec = attemptOf(t, repo, "test")
	if rec.Outcome != OutcomeFailure || rec.ErrorClass != ClassSource || rec.ConsecutiveFailures != 1 ||
		rec.LastSuccessSnapshotID != m.ID || rec.SnapshotID != "" || !strings.Contains(rec.Error, "does not exist") {
		t.Fatalf("record after a missing persist directory: %+v", rec)
	}

	fx.persist(t, 0, 50)
	_, err = mustOpen(t, blockFailingBucket{b}, Keys{}).Snapshot(ctx, SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir(), Instance: "test"})
	if err == nil || ErrorClass(err) != ClassBucket {
		t.Fatalf("snapshot into a failing bucket: %v (class %q)", err, ErrorClass(err))
	}
	rec = attemptOf(t, repo, "test")
	if rec.ErrorClass != ClassBucket || rec.ConsecutiveFailures != 2 || rec.LastSuccessSnapshotID != m.ID {
		t.Fatalf("record after a bucket failure: %+v", rec)
	}
	// The last success's figures survive the failures.
	if rec.LastSuccessLogicalBytes != m.Stats.LogicalBytes || rec.LastSuccessAddedBytes != m.Stats.AddedBytes ||
		rec.LastSuccessWriterStall != m.Timings.WriterStall || rec.LastSuccessDuration <= 0 || rec.LogicalBytes != 0 {
		t.Fatalf("last success's figures not carried forward: %+v", rec)
	}

	// Another instance keeps its own record.
	other, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir(), Instance: "replica/1"})
	if err != nil {
		t.Fatal(err)
	}
	if rec := attemptOf(t, repo, "replica/1"); rec.SnapshotID != other.ID || rec.ConsecutiveFailures != 0 {
		t.Fatalf("second instance's record: %+v", rec)
	}
	if rec := attemptOf(t, repo, "test"); rec.ConsecutiveFailures != 2 {
		t.Fatalf("first instance's record was touched: %+v", rec)
	}
}

// In an encrypted repository the record is readable without a key and
// authenticated with one; a forged, altered or moved record is refused.
func TestAttemptRecordAuthenticated(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	writer, reader := mustKeys(t)
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)
	key := AttemptKey("test")

	attempts, err := mustOpen(t, b, Keys{}).Attempts(ctx)
	if err != nil || len(attempts) != 1 || attempts[0].Record == nil || attempts[0].Trust != TrustUnverified ||
		attempts[0].Record.SnapshotID != m.ID || attempts[0].Record.Error != "" || attempts[0].Record.Hostname != "" {
		t.Fatalf("records read without a key: %+v, %v", attempts, err)
	}
	for _, k := range []Keys{writer, reader} {
		if a, err := mustOpen(t, b, k).Attempts(ctx); err != nil || len(a) != 1 || a[0].Trust != TrustAuthenticated {
			t.Fatalf("records read with %s: %+v, %v", k.Source(), a, err)
		}
	}

	genuine := readObject(t, b, key)
	forgeries := map[string][]byte{
		"altered":  bytes.Replace(genuine, []byte(`"consecutive_failures":0`), []byte(`"consecutive_failures":9`), 1),
		"untagged": []byte(`{"format":1,"outcome":"success","snapshot_id":"` + m.ID + `"}`),
		"retagged": append([]byte(`{"tag":"`+strings.Repeat("ab", 32)+`","record":`), genuine[len(statusTagPrefix)+64+len(statusTagSuffix):]...),
	}
	for name, obj := range forgeries {
		writeObject(t, b, key, obj)
		a, err := mustOpen(t, b, reader).Attempts(ctx)
		if err != nil || len(a) != 1 || a[0].Record != nil || !errors.Is(a[0].Err, ErrCorrupt) {
			t.Fatalf("%s record: %+v, %v; want it refused", name, a, err)
		}
	}
	// A genuine record moved to another instance's key is refused too.
	writeObject(t, b, key, genuine)
	writeObject(t, b, AttemptKey("other"), genuine)
	a, err := mustOpen(t, b, reader).Attempts(ctx)
	if err != nil || len(a) != 2 || a[0].Record != nil || a[1].Record == nil {
		t.Fatalf("moved record: %+v, %v; want only the genuine one trusted", a, err)
	}
}

func TestErrorClass(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("x: %w", ErrSourceCorrupt), ClassSourceCorrupt},
		{fmt.Errorf("x: %w", chromadb.ErrDamaged), ClassSourceCorrupt},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), ClassTimeout},
		{fmt.Errorf("x: %w", context.Canceled), ClassCancelled},
		{markBucketErr(fmt.Errorf("x: %w", context.Canceled)), ClassCancelled},
		{fmt.Errorf("x: %w", ErrWrongKey), ClassKey},
		{fmt.Errorf("x: %w", ErrKeptChanging), ClassKeptChanging},
		{markBucketErr(errors.New("connection refused")), ClassBucket},
		{fmt.Errorf("x: %w", ErrPersistDir), ClassSource},
		{fmt.Errorf("x: %w", ErrNotChroma), ClassSource},
		{fmt.Errorf("x: %w", ErrCorrupt), ClassRepository},
		{errors.New("something else"), ClassOther},
	} {
		if got := ErrorClass(tc.err); got != tc.want {
			t.Errorf("ErrorClass(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if markBucketErr(storage.ErrNotExist) != storage.ErrNotExist {
		t.Error("a missing object is an answer, not a bucket failure")
	}
}

func TestAttemptKey(t *testing.T) {
	for in, want := range map[string]string{
		"prod-eu-1":  "status/attempts/prod-eu-1.json",
		"a/b":        "status/attempts/a%2Fb.json",
		"..":         "status/attempts/%2E..json",
		"host.local": "status/attempts/host.local.json",
	} {
		if got := AttemptKey(in); got != want {
			t.Errorf("AttemptKey(%q) = %q, want %q", in, got, want)
		}
		if err := storage.ValidateKey(AttemptKey(in)); err != nil {
			t.Error(err)
		}
	}
}

// The restore-test record is authenticated like a manifest: a planted one
// never reads as passed.
func TestRestoreTestRecordAuthenticated(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	writer, reader := mustKeys(t)
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)
	planted := `{"format":1,"snapshot_id":"` + m.ID + `","started":"2026-03-01T11:00:00Z","finished":"2026-03-01T11:00:42Z","success":true}`
	writeObject(t, b, RestoreTestKey, []byte(planted))
	for _, k := range []Keys{writer, reader} {
		st, err := mustOpen(t, b, k).Status(ctx)
		if err != nil || st.RestoreTest != nil || !errors.Is(st.RestoreTestErr, ErrCorrupt) {
			t.Fatalf("planted record read with %s: %+v, %v, %v", k.Source(), st.RestoreTest, st.RestoreTestErr, err)
		}
	}
	st, err := mustOpen(t, b, Keys{}).Status(ctx)
	if err != nil || st.RestoreTest == nil || st.RestoreTestTrust != TrustUnverified {
		t.Fatalf("planted record read without a key: %+v trust %v, %v", st.RestoreTest, st.RestoreTestTrust, err)
	}

	rec := &RestoreTestRecord{SnapshotID: m.ID, Started: time.Now().UTC(), Finished: time.Now().UTC(), Success: true}
	if err := mustOpen(t, b, writer).WriteRestoreTest(ctx, rec); err != nil {
		t.Fatal(err)
	}
	st, err = mustOpen(t, b, reader).Status(ctx)
	if err != nil || st.RestoreTestErr != nil || st.RestoreTest == nil || !st.RestoreTest.Success || st.RestoreTestTrust != TrustAuthenticated {
		t.Fatalf("genuine record: %+v trust %v, %v, %v", st.RestoreTest, st.RestoreTestTrust, st.RestoreTestErr, err)
	}
	if err := mustOpen(t, b, Keys{}).WriteRestoreTest(ctx, rec); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("writing the record without a key: %v", err)
	}
}

// Deleting the newest snapshot outside retention is noticed: "latest"
// refuses to roll back silently, and Status lists it.
func TestVanishedNewestSnapshot(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprintf("encrypted=%v", encrypted), func(t *testing.T) {
			ctx := testContext(t)
			fx := newFixture(t, fixtureOpts{collections: 1})
			writer, reader := Keys{}, Keys{}
			if encrypted {
				writer, reader = mustKeys(t)
			}
			b := newBucket(t)
			older := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)
			fx.persist(t, 0, 10)
			newest := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)
			repo := mustOpen(t, b, reader)
			if _, err := repo.Verify(ctx, "latest", VerifyOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := b.Delete(ctx, manifestKey(newest.ID)); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "restored")
			if _, err := repo.Restore(ctx, "latest", RestoreOptions{Target: target}); !errors.Is(err, ErrVanished) || !strings.Contains(err.Error(), newest.ID) {
				t.Fatalf("restore latest after the newest vanished = %v; want ErrVanished naming %s", err, newest.ID)
			}
			if _, err := repo.Verify(ctx, "latest", VerifyOptions{ReadData: true}); !errors.Is(err, ErrVanished) {
				t.Fatalf("verify latest after the newest vanished = %v; want ErrVanished", err)
			}
			st, err := repo.Status(ctx)
			if err != nil || len(st.Vanished) != 1 || st.Vanished[0].ID != newest.ID || st.Vanished[0].Instance != "test" {
				t.Fatalf("status vanished = %+v, %v", st.Vanished, err)
			}
			if _, err := repo.Restore(ctx, older.ID, RestoreOptions{Target: target}); err != nil {
				t.Fatalf("restore of the older snapshot by id: %v", err)
			}
			ids, err := repo.RecordedSnapshots(ctx)
			if err != nil || !ids[newest.ID] {
				t.Fatalf("recorded snapshots %v, %v", ids, err)
			}
		})
	}
}

// A cancelled attempt (a shutdown) is recorded too.
func TestCancelledAttemptRecorded(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 2, hnswBytes: 2 << 20})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	takeSnapshot(t, repo, fx.dir)
	fx.persist(t, 0, 10)
	fx.persist(t, 1, 10)
	ctx, cancel := context.WithCancel(testContext(t))
	cb := &cancellingBucket{Bucket: b, n: 1, cancel: cancel}
	_, err := mustOpen(t, cb, Keys{}).Snapshot(ctx, SnapshotOptions{PersistDir: fx.dir, BlockSize: testBlockSize, ScratchDir: t.TempDir(), Instance: "test"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled snapshot: %v", err)
	}
	if rec := attemptOf(t, repo, "test"); rec.ErrorClass != ClassCancelled || rec.ConsecutiveFailures != 1 || rec.Outcome != OutcomeFailure {
		t.Fatalf("record of a cancelled attempt: %+v", rec)
	}
}
