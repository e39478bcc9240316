package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
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

// TestPruneEncryptedWithWriterKey: prune finds the referenced blocks in the
// snapshot indexes; an index that is missing or altered stops it.
func TestPruneEncryptedWithWriterKey(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10, hnswBytes: 256 << 10})
	w, r := mustKeys(t)
	b := newBucket(t)
	repo := mustOpen(t, b, w)
	tm := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	snapshotAt(t, repo, fx.dir, "a", tm)
	fx.overwrite(t, filepath.Join(fx.dir, fx.colls[0].vecSeg, "data_level0.bin"), 0, fx.randBytes(testBlockSize))
	second := snapshotAt(t, repo, fx.dir, "a", tm.Add(time.Hour))
	if _, err := repo.Forget(ctx, ForgetOptions{Policy: Policy{Last: 1}, Instance: "a"}); err != nil {
		t.Fatal(err)
	}
	// An index left by a snapshot killed before its manifest.
	orphan := indexKey("20260302T003000Z-0badc0de")
	writeObject(t, b, orphan, readObject(t, b, indexKey(second.ID)))
	res, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlocksDeleted != 1 || res.Leftovers != 1 {
		t.Fatalf("prune: %+v", res)
	}
	if _, err := mustOpen(t, b, r).Verify(ctx, second.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
	if keys := objectKeys(t, b, snapshotsPrefix); len(keys) != 2 {
		t.Fatalf("left in snapshots/: %v", keys)
	}

	idx := readObject(t, b, indexKey(second.ID))
	writeObject(t, b, indexKey(second.ID), flipByte(idx))
	if _, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "nothing was deleted") {
		t.Fatalf("altered index: %v", err)
	}
	if err := b.Delete(ctx, indexKey(second.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1}); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("missing index with the writer key: %v", err)
	}
	if _, err := mustOpen(t, b, r).Prune(ctx, PruneOptions{GracePeriod: -1}); err != nil {
		t.Fatalf("the reader key reads the manifest: %v", err)
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

// takeoverBucket removes every lock object at the first block delete, as
// another process taking the prune's lock over would.
type takeoverBucket struct {
	storage.Bucket
	once sync.Once
}

func (b *takeoverBucket) Delete(ctx context.Context, key string) error {
	if strings.HasPrefix(key, blocksPrefix) {
		b.once.Do(func() { removeAllLocks(ctx, b.Bucket) })
	}
	return b.Bucket.Delete(ctx, key)
}

// TestPruneStopsWhenLockLost: a prune whose lock was taken over stops at
// its next check, before the next batch of deletes.
func TestPruneStopsWhenLockLost(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1, records: 10})
	fb := newBucket(t)
	takeSnapshot(t, mustOpen(t, fb, Keys{}), fx.dir)
	rng := newRand()
	for range 300 {
		var n Hash
		for i := range n {
			n[i] = byte(rng.Uint32())
		}
		writeObject(t, fb, blockKey(n), []byte("unreferenced"))
	}
	repo := mustOpen(t, &takeoverBucket{Bucket: fb}, Keys{})
	res, err := repo.Prune(ctx, PruneOptions{GracePeriod: -1})
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("prune after losing its lock: %v (%+v)", err, res)
	}
	if res.BlocksDeleted != 256 {
		t.Fatalf("deleted %d blocks, want one batch of 256", res.BlocksDeleted)
	}
}
