package snapshot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// snapshotCached takes a snapshot with a scratch parent kept across
// snapshots (where the file cache lives) and the given racy window.
func snapshotCached(t *testing.T, r *Repository, dir, scratch string, window time.Duration) *Manifest {
	t.Helper()
	m, err := r.Snapshot(testContext(t), SnapshotOptions{PersistDir: dir, BlockSize: testBlockSize, ScratchDir: scratch, cacheRacyWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUnchangedFilesAreNotRead(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 2, records: 50, hnswBytes: 1 << 20})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	scratch := t.TempDir()
	first := snapshotCached(t, repo, fx.dir, scratch, -1)
	segFiles := len(first.Files) - 1

	second := snapshotCached(t, repo, fx.dir, scratch, -1)
	if second.Stats.FilesUnchanged != segFiles {
		t.Fatalf("%d of %d unchanged segment files skipped", second.Stats.FilesUnchanged, segFiles)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, second.ID))

	// A file written in place is read again, and its new content stored.
	data := filepath.Join(fx.dir, fx.colls[0].vecSeg, "data_level0.bin")
	fx.overwrite(t, data, 4096, fx.randBytes(100))
	third := snapshotCached(t, repo, fx.dir, scratch, -1)
	if third.Stats.FilesUnchanged != segFiles-1 || third.Stats.BlocksNew == 0 {
		t.Fatalf("after one file changed: %d files skipped, %d blocks new; want %d and some", third.Stats.FilesUnchanged, third.Stats.BlocksNew, segFiles-1)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, third.ID))

	// A file whose block left the bucket is read again and the block stored.
	victim := third.Files[len(third.Files)-1]
	if err := b.Delete(testContext(t), blockKey(objectName(nil, victim.Blocks[0]))); err != nil {
		t.Fatal(err)
	}
	fourth := snapshotCached(t, repo, fx.dir, scratch, -1)
	if fourth.Stats.FilesUnchanged != segFiles-1 || fourth.Stats.BlocksNew != 1 {
		t.Fatalf("after a block was deleted: %d files skipped, %d blocks new; want %d and 1", fourth.Stats.FilesUnchanged, fourth.Stats.BlocksNew, segFiles-1)
	}
	if _, err := repo.Verify(testContext(t), fourth.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
}

// Files changed less than the racy window before they were read are read
// again next time, and a damaged cache is ignored.
func TestFileCacheRacyAndDamaged(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 1, records: 50, hnswBytes: 1 << 20})
	repo := mustOpen(t, newBucket(t), Keys{})
	scratch := t.TempDir()
	snapshotCached(t, repo, fx.dir, scratch, 0)
	if m := snapshotCached(t, repo, fx.dir, scratch, 0); m.Stats.FilesUnchanged != 0 {
		t.Fatalf("files written just before the first snapshot: %d skipped by the second", m.Stats.FilesUnchanged)
	}
	caches, err := filepath.Glob(filepath.Join(scratch, "otelcol-chroma-files-*.json"))
	if err != nil || len(caches) != 1 {
		t.Fatalf("file caches in the scratch folder: %v, %v", caches, err)
	}
	// A file last read more than a day ago is read again.
	m := snapshotCached(t, repo, fx.dir, scratch, -1)
	if m = snapshotCached(t, repo, fx.dir, scratch, -1); m.Stats.FilesUnchanged == 0 {
		t.Fatal("no file skipped")
	}
	ageCache(t, caches[0], maxFileCacheAge+time.Minute)
	if m = snapshotCached(t, repo, fx.dir, scratch, -1); m.Stats.FilesUnchanged != 0 {
		t.Fatalf("files last read over a day ago: %d skipped", m.Stats.FilesUnchanged)
	}
	if err := os.WriteFile(caches[0], []byte(`{"format": 1, "files": {"x": `), 0o600); err != nil {
		t.Fatal(err)
	}
	m = snapshotCached(t, repo, fx.dir, scratch, -1)
	if m.Stats.FilesUnchanged != 0 {
		t.Fatalf("a damaged cache let %d files be skipped", m.Stats.FilesUnchanged)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, m.ID))
}

// ageCache moves every read time in the cache file at path back by d.
func ageCache(t *testing.T, path string, d time.Duration) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc fileCacheDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for k, e := range doc.Files {
		e.ReadStart -= int64(d)
		doc.Files[k] = e
	}
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
