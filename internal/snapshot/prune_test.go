package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPruneDeletesUnreferenced: after forget, prune deletes exactly the
// blocks only forgotten snapshots used, and old leftovers of killed
// uploads; the remaining snapshot still reads back byte for byte.
func TestPruneDeletesUnreferenced(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 20, hnswBytes: 1 << 20})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	tm := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	first := snapshotAt(t, repo, fx.dir, "a", tm)
	data := filepath.Join(fx.dir, fx.colls[0].vecSeg, "data_level0.bin")
	fx.overwrite(t, data, 0, fx.randBytes(3*testBlockSize))
	second := snapshotAt(t, repo, fx.dir, "a", tm.Add(time.Hour))
	before := len(objectKeys(t, b, blocksPrefix))
	oldTmp := filepath.Join(b.Root(), "blocks", ".storage-tmp-123")
	youngTmp := filepath.Join(b.Root(), "snapshots", ".storage-tmp-456")
	for _, p := range []string{oldTmp, youngTmp} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(oldTmp, old, old); err != nil {
		t.Fatal(err)
	}

	if _, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Instance: "a"}); err != nil {
		t.Fatal(err)
	}
	// Every block is younger than the default grace period: nothing goes.
	res, err := repo.Prune(ctx, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlocksUnused != 3 || res.BlocksYoung != 3 || res.BlocksDeleted != 0 || res.Leftovers != 1 {
		t.Fatalf("prune with the default grace: %+v", res)
	}
	if _, err := os.Stat(oldTmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old leftover still there: %v", err)
	}
	if _, err := os.Stat(youngTmp); err != nil {
		t.Fatalf("young leftover removed: %v", err)
	}
	dry, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1, DryRun: true})
	if err != nil || dry.BlocksDeleted != 3 || len(objectKeys(t, b, blocksPrefix)) != before {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	res, err = repo.Prune(ctx, PruneOptions{GracePeriod: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshots != 1 || res.BlocksDeleted != 3 || res.BytesDeleted <= 0 {
		t.Fatalf("prune: %+v", res)
	}
	if after := len(objectKeys(t, b, blocksPrefix)); after != before-3 {
		t.Fatalf("%d blocks before, %d after", before, after)
	}
	if _, err := repo.Verify(ctx, second.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Verify(ctx, first.ID, VerifyOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("forgotten snapshot: %v", err)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, second.ID))
}

func TestPruneRefusesDamagedManifest(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	m := takeSnapshot(t, repo, fx.dir)
	blocks := len(objectKeys(t, b, blocksPrefix))
	writeObject(t, b, manifestKey(m.ID), []byte("damaged"))
	_, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Fatalf("got %v", err)
	}
	if n := len(objectKeys(t, b, blocksPrefix)); n != blocks {
		t.Fatalf("%d of %d blocks left", n, blocks)
	}
}

func TestPruneNeedsReaderKey(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	w, r := mustKeys(t)
	b := newBucket(t)
	takeSnapshot(t, mustOpen(t, b, w), fx.dir)
	if _, err := mustOpen(t, b, w).Prune(ctx, PruneOptions{}); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("prune with the writer key: %v", err)
	}
	if _, err := mustOpen(t, b, r).Prune(ctx, PruneOptions{GracePeriod: -1}); err != nil {
		t.Fatal(err)
	}
}

// TestPruneWaitsForRunningSnapshot: a held shared lock keeps prune out.
func TestPruneWaitsForRunningSnapshot(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	b := newBucket(t)
	takeSnapshot(t, mustOpen(t, b, Keys{}), fx.dir)
	repo := openWithLocks(t, b, noWait)
	lk, err := repo.lock(ctx, false, "snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1}); !errors.Is(err, ErrLocked) {
		t.Fatalf("prune during a snapshot: %v", err)
	}
	lk.release()
	if _, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1}); err != nil {
		t.Fatal(err)
	}
}
