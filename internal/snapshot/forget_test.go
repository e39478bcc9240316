package snapshot

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
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

func TestForgetEncryptedNeedsReaderForInstances(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	b := newBucket(t)
	w, _ := mustKeys(t)
	repo := mustOpen(t, b, w)
	tm := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	snapshotAt(t, repo, fx.dir, "a", tm)
	last := snapshotAt(t, repo, fx.dir, "a", tm.Add(time.Hour))
	_, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Instance: "a"})
	if !errors.Is(err, ErrKeyRequired) || !strings.Contains(err.Error(), "scope bucket") {
		t.Fatalf("got %v", err)
	}
	// Scope bucket goes by the times in the ids alone.
	if _, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Scope: ScopeBucket}); err != nil {
		t.Fatal(err)
	}
	if got := listedIDs(t, repo); !slices.Equal(got, []string{last.ID}) {
		t.Fatalf("left %v", got)
	}
}
