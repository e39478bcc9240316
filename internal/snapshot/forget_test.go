package snapshot

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// snapshotAt takes a snapshot recorded at tm for instance.
func snapshotAt(t testing.TB, r *Repository, dir, instance string, tm time.Time) *Manifest {
	t.Helper()
	m, err := r.Snapshot(testContext(t), SnapshotOptions{PersistDir: dir, BlockSize: testBlockSize,
		ScratchDir: t.TempDir(), Instance: instance, Time: tm})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func listedIDs(t testing.TB, r *Repository) []string {
	t.Helper()
	list, err := r.List(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestSnapshotTimeIsRecorded(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	repo := mustOpen(t, newBucket(t), Keys{})
	tm := time.Date(2025, 1, 3, 7, 0, 0, 0, time.UTC)
	m := snapshotAt(t, repo, fx.dir, "a", tm)
	if !m.Created.Equal(tm) || !strings.HasPrefix(m.ID, "20250103T070000Z-") {
		t.Fatalf("snapshot at %s has id %s, created %s", tm, m.ID, m.Created)
	}
	// An older time after a newer snapshot keeps its own time.
	older := snapshotAt(t, repo, fx.dir, "a", tm.Add(-time.Hour))
	if !strings.HasPrefix(older.ID, "20250103T060000Z-") {
		t.Fatalf("older snapshot has id %s", older.ID)
	}
}

// TestForgetPerInstance: a policy in scope instance removes only that
// instance's snapshots; per_instance applies it to each; the newest of each
// stays; damaged manifests are left alone.
func TestForgetPerInstance(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	start := time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC)
	ids := map[string][]string{}
	for h := range 6 {
		for _, inst := range []string{"a", "b"} {
			m := snapshotAt(t, repo, fx.dir, inst, start.Add(time.Duration(h)*time.Hour))
			ids[inst] = append(ids[inst], m.ID)
		}
	}
	damaged := snapshotAt(t, repo, fx.dir, "a", start.Add(-time.Hour))
	writeObject(t, b, manifestKey(damaged.ID), []byte("not a manifest"))

	dry, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 2}, Instance: "a", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Removed) != 0 || len(listedIDs(t, repo)) != 13 {
		t.Fatalf("dry run removed %v", dry.Removed)
	}
	if len(dry.Groups) != 1 || dry.Groups[0].Instance != "a" || len(dry.Skipped) != 1 {
		t.Fatalf("dry run groups %+v, skipped %d", dry.Groups, len(dry.Skipped))
	}

	res, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 2}, Instance: "a"})
	if err != nil {
		t.Fatal(err)
	}
	left := listedIDs(t, repo)
	for i, id := range ids["a"] {
		if want := i >= 4; slices.Contains(left, id) != want {
			t.Errorf("snapshot %s of a: listed %v, want %v", id, !want, want)
		}
	}
	for _, id := range append(ids["b"], damaged.ID) {
		if !slices.Contains(left, id) {
			t.Errorf("forget in scope instance a removed %s", id)
		}
	}
	if len(res.Removed) != 4 {
		t.Errorf("removed %v", res.Removed)
	}

	if _, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Scope: ScopePerInstance}); err != nil {
		t.Fatal(err)
	}
	want := []string{ids["b"][5], ids["a"][5], damaged.ID}
	got := listedIDs(t, repo)
	slices.Sort(got)
	if slices.Sort(want); !slices.Equal(got, want) {
		t.Fatalf("after per_instance keep-last 1: %v, want %v", got, want)
	}
	if locks := objectKeys(t, b, locksPrefix); len(locks) != 0 {
		t.Fatalf("locks left behind: %v", locks)
	}
}

// TestForgetEncryptedWithWriterKey: the pod that takes snapshots holds only
// the writer key; the snapshot index tells forget each snapshot's instance
// and time. A snapshot without an index needs the reader key, except in
// scope bucket, which goes by the time in the id.
func TestForgetEncryptedWithWriterKey(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	b := newBucket(t)
	w, _ := mustKeys(t)
	repo := mustOpen(t, b, w)
	tm := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i, inst := range []string{"a", "b", "a", "b", "a"} {
		ids = append(ids, snapshotAt(t, repo, fx.dir, inst, tm.Add(time.Duration(i)*time.Hour)).ID)
	}
	if _, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Instance: "a"}); err != nil {
		t.Fatal(err)
	}
	got := listedIDs(t, repo)
	if want := []string{ids[4], ids[3], ids[1]}; !slices.Equal(got, want) {
		t.Fatalf("left %v, want %v", got, want)
	}
	if keys := objectKeys(t, b, snapshotsPrefix); len(keys) != 6 {
		t.Fatalf("want 3 manifests and 3 indexes, have %v", keys)
	}
	if err := b.Delete(ctx, indexKey(ids[1])); err != nil {
		t.Fatal(err)
	}
	_, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Instance: "b"})
	if !errors.Is(err, ErrKeyRequired) || !strings.Contains(err.Error(), "scope bucket") || !strings.Contains(err.Error(), ids[1]) {
		t.Fatalf("snapshot without an index: %v", err)
	}
	if _, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Scope: ScopeBucket}); err != nil {
		t.Fatal(err)
	}
	// b's status record names its newest snapshot: it stays too.
	if got := listedIDs(t, repo); !slices.Equal(got, []string{ids[4], ids[3]}) {
		t.Fatalf("left %v", got)
	}
}

// lockThiefBucket removes every lock object when a manifest is first read.
type lockThiefBucket struct {
	storage.Bucket
	once sync.Once
}

func (b *lockThiefBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.HasSuffix(key, manifestSuffix) {
		b.once.Do(func() { removeAllLocks(ctx, b.Bucket) })
	}
	return b.Bucket.Read(ctx, key)
}

// TestForgetStopsWhenLockLost: forget deletes nothing once its lock is gone.
func TestForgetStopsWhenLockLost(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	fb := newBucket(t)
	plain := mustOpen(t, fb, Keys{})
	tm := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	snapshotAt(t, plain, fx.dir, "a", tm)
	snapshotAt(t, plain, fx.dir, "a", tm.Add(time.Hour))
	repo := mustOpen(t, &lockThiefBucket{Bucket: fb}, Keys{})
	_, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Instance: "a"})
	if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Fatalf("forget after losing its lock: %v", err)
	}
	if ids := listedIDs(t, plain); len(ids) != 2 {
		t.Fatalf("listed after the failed forget: %v", ids)
	}
}

// TestForgetKeepsTheLastGoodSnapshot: when the newest snapshot was taken from
// a damaged database, forget with keep_last 1 still keeps the last good one,
// which the instance's status record names, and "latest" reports no
// vanished snapshot afterwards.
func TestForgetKeepsTheLastGoodSnapshot(t *testing.T) {
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	repo := mustOpen(t, newBucket(t), Keys{})
	opts := SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir(), Instance: "a"}
	opts.Time = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	old, err := repo.Snapshot(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Time = opts.Time.Add(time.Hour)
	good, err := repo.Snapshot(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	chromatest.DamageTable(t, src, "embedding_metadata")
	opts.Time = opts.Time.Add(time.Hour)
	damaged, err := repo.Snapshot(ctx, opts)
	if !errors.Is(err, ErrSourceCorrupt) || damaged == nil {
		t.Fatalf("snapshot of a damaged database: %v", err)
	}
	res, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Instance: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Removed, []string{old.ID}) {
		t.Fatalf("forget removed %v; want only %s (the damaged %s and the last good %s stay)", res.Removed, old.ID, damaged.ID, good.ID)
	}
	if ids := listedIDs(t, repo); !slices.Equal(ids, []string{damaged.ID, good.ID}) {
		t.Fatalf("left %v", ids)
	}
	st, err := repo.Status(ctx)
	if err != nil || len(st.Vanished) != 0 {
		t.Fatalf("status after forget: vanished %v, %v", st.Vanished, err)
	}
}
