package snapshot

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

const testBlockSize = 64 << 10

func takeSnapshot(t testing.TB, r *Repository, dir string) *Manifest {
	t.Helper()
	m, err := r.Snapshot(testContext(t), SnapshotOptions{PersistDir: dir, BlockSize: testBlockSize, ScratchDir: t.TempDir(), Instance: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func restoreTo(t testing.TB, r *Repository, id string) string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "restored")
	if _, err := r.Restore(testContext(t), id, RestoreOptions{Target: target}); err != nil {
		t.Fatal(err)
	}
	return target
}

func TestRoundTripUnencrypted(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 3, records: 150})
	// Files that must not be in a snapshot: an orphan folder of a deleted
	// collection and a (cold, empty) rollback journal.
	orphan := filepath.Join(fx.dir, "0badc0de-0000-0000-0000-000000000000")
	if err := os.MkdirAll(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orphan, "data_level0.bin"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fx.dir, "chroma.sqlite3-journal"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	var mu sync.Mutex
	phases := map[Phase]bool{}
	m, err := repo.Snapshot(ctx, SnapshotOptions{
		PersistDir: fx.dir, BlockSize: testBlockSize, ScratchDir: t.TempDir(), Instance: "prod-eu",
		Progress: ProgressFunc(func(u Update) { mu.Lock(); phases[u.Phase] = true; mu.Unlock() }),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Phase{PhaseInspect, PhaseSegments, PhaseSQLite, PhaseUpload, PhaseManifest} {
		if !phases[p] {
			t.Errorf("no progress reported for phase %s", p)
		}
	}
	if m.Chroma.SQLiteCopy != CopyUnderReadLock || m.Chroma.JournalMode != "delete" {
		t.Errorf("copy method %q, journal mode %q", m.Chroma.SQLiteCopy, m.Chroma.JournalMode)
	}
	if len(m.Chroma.Collections) != 3 || m.Records() != 450 {
		t.Errorf("manifest collections %+v", m.Chroma.Collections)
	}
	if m.Chroma.Migrations["sysdb"] != 9 || m.PersistDir != "chroma" || m.Instance != "prod-eu" {
		t.Errorf("manifest facts: %+v", m)
	}
	if m.Stats.BlocksNew == 0 || m.Stats.AddedBytes == 0 || m.Stats.LogicalBytes == 0 {
		t.Errorf("stats %+v", m.Stats)
	}
	for _, f := range m.Files {
		if strings.Contains(f.Path, "journal") || strings.HasPrefix(f.Path, "0badc0de") {
			t.Errorf("snapshot includes %s", f.Path)
		}
	}

	// The restored folder equals the source minus what is excluded.
	if err := os.RemoveAll(orphan); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(fx.dir, "chroma.sqlite3-journal")); err != nil {
		t.Fatal(err)
	}
	res, err := repo.Restore(ctx, "latest", RestoreOptions{Target: filepath.Join(t.TempDir(), "restored")})
	if err != nil {
		t.Fatal(err)
	}
	requireSameTree(t, fx.dir, res.Target)
	if res.Records != 450 || res.Collections != 3 || res.ID != m.ID {
		t.Errorf("restore result %+v", res)
	}
	facts, err := chromadb.Inspect(ctx, res.Target)
	if err != nil {
		t.Fatal(err)
	}
	if len(facts.Collections) != 3 || facts.Collections[0].Records != 150 {
		t.Errorf("restored facts %+v", facts.Collections)
	}

	list, err := repo.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != m.ID || list[0].Manifest == nil || list[0].Err != nil {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, readData := range []bool{false, true} {
		vr, err := repo.Verify(ctx, m.ID, VerifyOptions{ReadData: readData})
		if err != nil || vr.Blocks == 0 || len(vr.Problems) != 0 {
			t.Fatalf("verify(read data %v) = %+v, %v", readData, vr, err)
		}
	}
	st, err := repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Initialized || st.Encrypted || st.Snapshots != 1 || st.Newest == nil || st.Newest.Manifest == nil ||
		st.BlockObjects == 0 || st.BlockBytes != m.Stats.AddedBytes || st.SnapshotBytes == 0 || st.RestoreTest != nil {
		t.Fatalf("status %+v", st)
	}
}

func TestRoundTripEncrypted(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 2, records: 100})
	writer, reader := mustKeys(t)
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)

	// Nothing in the bucket reveals content: no document text, no
	// collection name, no block name equal to a plaintext hash.
	for _, key := range objectKeys(t, b, "") {
		data := readObject(t, b, key)
		for _, secret := range []string{secretMarker, "collection-0", fx.colls[0].id} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s contains %q", key, secret)
			}
		}
	}
	for _, f := range m.Files {
		for _, h := range f.Blocks {
			if len(objectKeys(t, b, blockKey(h))) != 0 {
				t.Fatalf("block of %s stored under its plaintext hash", f.Path)
			}
		}
	}

	// The writer cannot read what it wrote.
	w := mustOpen(t, b, writer)
	if _, err := w.Restore(ctx, m.ID, RestoreOptions{Target: filepath.Join(t.TempDir(), "x")}); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("restore with the writer key: %v", err)
	}
	list, err := w.List(ctx)
	if err != nil || len(list) != 1 || list[0].Manifest != nil {
		t.Fatalf("list with the writer key = %+v, %v", list, err)
	}

	r := mustOpen(t, b, reader)
	target := restoreTo(t, r, "latest")
	requireSameTree(t, fx.dir, target)
	if _, err := r.Verify(ctx, m.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Snapshot(ctx, SnapshotOptions{PersistDir: fx.dir}); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("snapshot with the reader key: %v", err)
	}

	// Without any key: ids, times and sizes only.
	anon := mustOpen(t, b, Keys{})
	list, err = anon.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != m.ID || list[0].Manifest != nil {
		t.Fatalf("list without a key = %+v, %v", list, err)
	}
	st, err := anon.Status(ctx)
	if err != nil || !st.Encrypted || st.Snapshots != 1 || st.Newest.Manifest != nil {
		t.Fatalf("status without a key = %+v, %v", st, err)
	}
	if _, err := anon.Snapshot(ctx, SnapshotOptions{PersistDir: fx.dir}); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("snapshot without a key into an encrypted repository: %v", err)
	}
	if _, err := anon.Restore(ctx, m.ID, RestoreOptions{Target: filepath.Join(t.TempDir(), "x")}); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("restore without a key: %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	writer, _ := mustKeys(t)
	otherWriter, otherReader := mustKeys(t)
	b := newBucket(t)
	takeSnapshot(t, mustOpen(t, b, writer), fx.dir)

	for name, k := range map[string]Keys{"reader": otherReader, "writer": otherWriter} {
		_, err := Open(ctx, b, k)
		if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("open with another %s key: %v", name, err)
		}
	}
	// A reader identity of another pair with this repository's auth key.
	mixed := otherReader
	mixed.authKey = writer.authKey
	if _, err := Open(ctx, b, mixed); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "reader.key does not match") {
		t.Errorf("open with a foreign identity: %v", err)
	}
	// A key for an unencrypted repository, and no key for an encrypted one.
	plain := newBucket(t)
	takeSnapshot(t, mustOpen(t, plain, Keys{}), fx.dir)
	if _, err := Open(ctx, plain, writer); !errors.Is(err, ErrWrongKey) {
		t.Errorf("writer key on an unencrypted repository: %v", err)
	}
}

func TestDedup(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 2, records: 100, hnswBytes: 5 << 20})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	first := takeSnapshot(t, repo, fx.dir)

	second := takeSnapshot(t, repo, fx.dir)
	if second.Stats.AddedBytes != 0 || second.Stats.BlocksNew != 0 {
		t.Fatalf("unchanged snapshot added %d bytes in %d blocks", second.Stats.AddedBytes, second.Stats.BlocksNew)
	}
	if second.Stats.BlocksReused != first.Stats.BlocksNew {
		t.Errorf("reused %d blocks, want %d", second.Stats.BlocksReused, first.Stats.BlocksNew)
	}

	// Change about 1% of the data in place: 2 of 160 HNSW blocks.
	data := filepath.Join(fx.dir, fx.colls[0].vecSeg, "data_level0.bin")
	fx.overwrite(t, data, 3*testBlockSize+100, fx.randBytes(1000))
	fx.overwrite(t, data, 40*testBlockSize, fx.randBytes(testBlockSize))
	third := takeSnapshot(t, repo, fx.dir)
	if third.Stats.BlocksNew != 2 {
		t.Errorf("changed 2 blocks, snapshot uploaded %d", third.Stats.BlocksNew)
	}
	if lo, hi := int64(2*testBlockSize), int64(2*testBlockSize+200); third.Stats.AddedBytes < lo || third.Stats.AddedBytes > hi {
		t.Errorf("added %d bytes, want about %d", third.Stats.AddedBytes, lo)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, third.ID))
	// The first snapshot still restores as it was.
	if _, err := repo.Verify(ctx, first.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
}

// damage applies fn to one object and returns its key.
func damageBlock(t *testing.T, b storage.Bucket, fn func([]byte) []byte) string {
	t.Helper()
	keys := objectKeys(t, b, blocksPrefix)
	key := keys[len(keys)/2]
	writeObject(t, b, key, fn(readObject(t, b, key)))
	return key
}

func flipByte(data []byte) []byte {
	out := bytes.Clone(data)
	out[len(out)/2] ^= 0x40
	return out
}

func truncate(data []byte) []byte { return data[:len(data)-len(data)/3] }

func TestDamagedBlock(t *testing.T) {
	for _, enc := range []bool{false, true} {
		for name, damage := range map[string]func([]byte) []byte{"bitflip": flipByte, "truncated": truncate} {
			t.Run(name+map[bool]string{true: "-encrypted", false: ""}[enc], func(t *testing.T) {
				ctx := testContext(t)
				fx := newFixture(t, fixtureOpts{collections: 1})
				writer, reader := Keys{}, Keys{}
				if enc {
					writer, reader = mustKeys(t)
				}
				b := newBucket(t)
				m := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)
				key := damageBlock(t, b, damage)
				repo := mustOpen(t, b, reader)

				if _, err := repo.Verify(ctx, m.ID, VerifyOptions{}); err != nil {
					t.Fatalf("verify without data should only check existence: %v", err)
				}
				vr, err := repo.Verify(ctx, m.ID, VerifyOptions{ReadData: true})
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) || len(vr.Problems) != 1 {
					t.Fatalf("verify = %+v, %v; want ErrCorrupt naming %s", vr, err, key)
				}
				requireRestoreFails(t, repo, m.ID, ErrCorrupt, key)
				requireRestoreFails(t, repo, m.ID, ErrCorrupt, "the snapshot is damaged: restore another one")
			})
		}
	}
}

// requireRestoreFails restores into a fresh target and checks the error
// and that nothing was left behind.
func requireRestoreFails(t *testing.T, repo *Repository, id string, want error, mention string) {
	t.Helper()
	parent := t.TempDir()
	target := filepath.Join(parent, "restored")
	_, err := repo.Restore(testContext(t), id, RestoreOptions{Target: target})
	if !errors.Is(err, want) || !strings.Contains(err.Error(), mention) {
		t.Fatalf("restore error = %v; want %v mentioning %s", err, want, mention)
	}
	if left := leftovers(t, parent); len(left) != 0 {
		t.Fatalf("restore left %v behind", left)
	}
}

func TestDamagedManifest(t *testing.T) {
	for _, enc := range []bool{false, true} {
		for name, damage := range map[string]func([]byte) []byte{"bitflip": flipByte, "truncated": truncate} {
			t.Run(name+map[bool]string{true: "-encrypted", false: ""}[enc], func(t *testing.T) {
				ctx := testContext(t)
				fx := newFixture(t, fixtureOpts{collections: 1})
				writer, reader := Keys{}, Keys{}
				if enc {
					writer, reader = mustKeys(t)
				}
				b := newBucket(t)
				m := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)
				key := manifestKey(m.ID)
				writeObject(t, b, key, damage(readObject(t, b, key)))
				repo := mustOpen(t, b, reader)

				list, err := repo.List(ctx)
				if err != nil || len(list) != 1 || !errors.Is(list[0].Err, ErrCorrupt) {
					t.Fatalf("list = %+v, %v", list, err)
				}
				if _, err := repo.Verify(ctx, m.ID, VerifyOptions{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), key) {
					t.Fatalf("verify: %v", err)
				}
				requireRestoreFails(t, repo, m.ID, ErrCorrupt, key)
			})
		}
	}
}

// An old manifest copied under a newer name must not pass as that snapshot,
// nor become "latest".
func TestReplayedManifestRefused(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 1})
	writer, reader := mustKeys(t)
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, writer), fx.dir)
	newer := "29990101T000000Z-00000000"
	writeObject(t, b, manifestKey(newer), readObject(t, b, manifestKey(m.ID)))
	repo := mustOpen(t, b, reader)
	requireRestoreFails(t, repo, newer, ErrCorrupt, newer)
	if latest, err := repo.Manifest(testContext(t), "latest"); err != nil || latest.ID != m.ID {
		t.Fatalf("latest = %v, %v; want %s, not the replayed manifest", latest, err, m.ID)
	}
}

func TestMissingBlock(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	m := takeSnapshot(t, repo, fx.dir)
	keys := objectKeys(t, b, blocksPrefix)
	key := keys[0]
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	for _, readData := range []bool{false, true} {
		if _, err := repo.Verify(ctx, m.ID, VerifyOptions{ReadData: readData}); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), key) {
			t.Fatalf("verify(read data %v): %v", readData, err)
		}
	}
	requireRestoreFails(t, repo, m.ID, ErrMissing, key)
	requireRestoreFails(t, repo, m.ID, ErrMissing, "the snapshot is damaged: restore another one")

	// The next snapshot uploads the missing block again: nothing relies on
	// a listing that is out of date.
	next := takeSnapshot(t, repo, fx.dir)
	if next.Stats.BlocksNew != 1 {
		t.Errorf("next snapshot uploaded %d blocks, want the 1 missing", next.Stats.BlocksNew)
	}
	if _, err := repo.Verify(ctx, next.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreTarget(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, fx.dir)

	parent := t.TempDir()
	target := filepath.Join(parent, "chroma")
	if err := os.MkdirAll(filepath.Join(target, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(target, "sub", "precious.txt")
	if err := os.WriteFile(precious, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target})
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("restore into a non-empty folder: %v", err)
	}
	if got, _ := os.ReadFile(precious); string(got) != "keep me" {
		t.Fatal("refused restore changed the target")
	}

	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target, Force: true}); err != nil {
		t.Fatal(err)
	}
	requireSameTree(t, fx.dir, target)
	if left := leftovers(t, parent, "chroma"); len(left) != 0 {
		t.Fatalf("forced restore left %v", left)
	}

	// An existing empty folder is fine without force.
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: empty}); err != nil {
		t.Fatal(err)
	}
	requireSameTree(t, fx.dir, empty)

	// A failed forced restore leaves the old contents in place.
	keys := objectKeys(t, repo.bucket, blocksPrefix)
	if err := repo.bucket.Delete(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target, Force: true}); !errors.Is(err, ErrMissing) {
		t.Fatalf("restore with a missing block: %v", err)
	}
	requireSameTree(t, fx.dir, target)
	if left := leftovers(t, parent, "chroma", "empty"); len(left) != 0 {
		t.Fatalf("failed restore left %v", left)
	}
}

// A restore with force killed after moving the old contents aside leaves
// them in a hidden folder: the next restore into that target names it, and
// leaves it alone.
func TestRestoreWarnsOfSetAsideContents(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, fx.dir)

	parent := t.TempDir()
	target := filepath.Join(parent, "chroma")
	setAside := filepath.Join(parent, ".chroma.old-0a1b2c3d")
	other := filepath.Join(parent, ".chromadb.old-0a1b2c3d")
	for _, d := range []string{setAside, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "chroma.sqlite3"), []byte("replaced"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	requireSameTree(t, fx.dir, target)
	if !strings.Contains(logs.String(), "path="+setAside) {
		t.Fatalf("restore did not name %s; logs:\n%s", setAside, logs.String())
	}
	if strings.Contains(logs.String(), other) {
		t.Fatalf("restore named another target's folder; logs:\n%s", logs.String())
	}
	for _, d := range []string{setAside, other} {
		if got, err := os.ReadFile(filepath.Join(d, "chroma.sqlite3")); err != nil || string(got) != "replaced" {
			t.Fatalf("%s changed: %q, %v", d, got, err)
		}
	}
}

// cancellingBucket cancels the snapshot's context after n block writes.
type cancellingBucket struct {
	storage.Bucket
	n      int64
	writes atomic.Int64
	cancel context.CancelFunc
}

func (c *cancellingBucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, blocksPrefix) && c.writes.Add(1) == c.n {
		c.cancel()
	}
	return c.Bucket.Write(ctx, key, r, size)
}

func TestCancelLeavesNoManifest(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 2, hnswBytes: 2 << 20})
	b := newBucket(t)
	ctx, cancel := context.WithCancel(testContext(t))
	cb := &cancellingBucket{Bucket: b, n: 5, cancel: cancel}
	repo := mustOpen(t, cb, Keys{})
	_, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: fx.dir, BlockSize: testBlockSize, ScratchDir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled snapshot: %v", err)
	}
	if keys := objectKeys(t, b, snapshotsPrefix); len(keys) != 0 {
		t.Fatalf("cancelled snapshot left manifests %v", keys)
	}
	list, err := mustOpen(t, b, Keys{}).List(testContext(t))
	if err != nil || len(list) != 0 {
		t.Fatalf("list after cancel = %v, %v", list, err)
	}
	// The garbage is reused by the next snapshot.
	m := takeSnapshot(t, repo, fx.dir)
	if m.Stats.BlocksReused == 0 {
		t.Error("next snapshot reused none of the cancelled one's blocks")
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, m.ID))
}

// failingBucket fails block writes.
type failingBucket struct{ storage.Bucket }

func (failingBucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	return errors.New("disk full")
}

func TestUploadFailureLeavesNoManifest(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 1})
	b := newBucket(t)
	repo := mustOpen(t, failingBucket{b}, Keys{})
	_, err := repo.Snapshot(testContext(t), SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "no snapshot was written") {
		t.Fatalf("snapshot error = %v", err)
	}
	if keys := objectKeys(t, b, snapshotsPrefix); len(keys) != 0 {
		t.Fatalf("failed snapshot left manifests %v", keys)
	}
}

func TestSeqIDMovedRetries(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 2})
	repo := mustOpen(t, newBucket(t), Keys{})
	m, err := repo.Snapshot(ctx, SnapshotOptions{
		PersistDir: fx.dir, ScratchDir: t.TempDir(),
		// Chroma persists collection 1 after its folder was copied. Then
		// the database changes once more before the second attempt copies
		// it: the snapshot must hold that copy, not the first attempt's.
		afterSegments: func(attempt int) {
			switch attempt {
			case 1:
				fx.persist(t, 1, 50)
			case 2:
				fx.exec(t, func(db *sql.DB) error {
					_, err := db.Exec(`CREATE TABLE later (v INTEGER); INSERT INTO later VALUES (2)`)
					return err
				})
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.CaptureRetries != 1 {
		t.Errorf("capture retries = %d, want 1", m.Stats.CaptureRetries)
	}
	for _, s := range m.Chroma.Segments {
		if s.ID == fx.colls[1].vecSeg && s.MaxSeqID != uint64(fx.colls[1].seq) {
			t.Errorf("vector segment max_seq_id %d, want %d", s.MaxSeqID, fx.colls[1].seq)
		}
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, m.ID))

	// Chroma persisting during every attempt: a clear error, no snapshot.
	_, err = repo.Snapshot(ctx, SnapshotOptions{
		PersistDir: fx.dir, ScratchDir: t.TempDir(),
		afterSegments: func(int) { fx.persist(t, 0, 10) },
	})
	if !errors.Is(err, ErrKeptChanging) || !strings.Contains(err.Error(), "kept persisting") {
		t.Fatalf("snapshot under constant persists: %v", err)
	}
	if list, _ := repo.List(ctx); len(list) != 1 {
		t.Fatalf("%d snapshots listed, want 1", len(list))
	}
}

// The scratch copy of chroma.sqlite3 is prefilled without a lock, then
// overwritten under the read lock. A database that shrank and changed in
// between must still be captured exactly as it was under the lock.
func TestSQLiteChangedAfterPrefill(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	fx.exec(t, func(db *sql.DB) error {
		_, err := db.Exec(`CREATE TABLE filler (b BLOB); INSERT INTO filler VALUES (randomblob(1048576))`)
		return err
	})
	st, err := os.Stat(fx.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	repo := mustOpen(t, newBucket(t), Keys{})
	m, err := repo.Snapshot(ctx, SnapshotOptions{
		PersistDir: fx.dir, ScratchDir: scratch,
		afterSegments: func(int) {
			// Wait for the prefill to have copied the whole file.
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, _ := filepath.Glob(filepath.Join(scratch, "*", "chroma-1.sqlite3"))
				if len(got) == 1 {
					if fi, err := os.Stat(got[0]); err == nil && fi.Size() == st.Size() {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Error("the scratch copy was not prefilled")
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			fx.exec(t, func(db *sql.DB) error {
				_, err := db.Exec(`DROP TABLE filler; VACUUM`)
				return err
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(fx.dbPath()); err != nil || after.Size() >= st.Size() {
		t.Fatalf("the database did not shrink: %v, %v", after, err)
	}
	if m.Stats.CaptureRetries != 0 {
		t.Errorf("capture retries = %d, want 0", m.Stats.CaptureRetries)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, m.ID))
}

func TestNotChroma(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	notDB := t.TempDir()
	if err := os.WriteFile(filepath.Join(notDB, "chroma.sqlite3"), []byte("hello, not sqlite"), 0o644); err != nil {
		t.Fatal(err)
	}
	otherDB := t.TempDir()
	db, err := sql.Open("sqlite3", filepath.Join(otherDB, "chroma.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for name, dir := range map[string]string{"empty": t.TempDir(), "not sqlite": notDB, "other sqlite": otherDB} {
		_, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: dir, ScratchDir: t.TempDir()})
		if !errors.Is(err, ErrNotChroma) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: filepath.Join(t.TempDir(), "nope")}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing dir: %v", err)
	}
	if keys := objectKeys(t, b, ""); len(keys) != 0 {
		t.Fatalf("refused snapshots wrote %v", keys)
	}
}

func TestMissingSegmentFolder(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 2})
	if err := os.RemoveAll(filepath.Join(fx.dir, fx.colls[1].vecSeg)); err != nil {
		t.Fatal(err)
	}
	repo := mustOpen(t, newBucket(t), Keys{})
	_, err := repo.Snapshot(testContext(t), SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), fx.colls[1].vecSeg) || !strings.Contains(err.Error(), "missing or empty") {
		t.Fatalf("snapshot with a missing segment folder: %v", err)
	}
}

func TestWALMode(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 2, wal: true})
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, fx.dir)
	if m.Chroma.SQLiteCopy != CopyVacuumInto || m.Chroma.JournalMode != "wal" || m.Timings.WriterStall != 0 {
		t.Fatalf("WAL snapshot: copy %q, mode %q, stall %v", m.Chroma.SQLiteCopy, m.Chroma.JournalMode, m.Timings.WriterStall)
	}
	target := restoreTo(t, repo, m.ID)
	facts, err := chromadb.Inspect(testContext(t), target)
	if err != nil {
		t.Fatal(err)
	}
	if len(facts.Collections) != 2 || facts.Collections[1].Records != 200 {
		t.Fatalf("restored facts %+v", facts.Collections)
	}
	for _, c := range fx.colls {
		got := readTree(t, filepath.Join(target, c.vecSeg))
		want := readTree(t, filepath.Join(fx.dir, c.vecSeg))
		if len(got) != len(want) || !bytes.Equal(got["data_level0.bin"], want["data_level0.bin"]) {
			t.Fatalf("segment %s differs after restore", c.vecSeg)
		}
	}
}

// A file rewritten while it is read (same size and mtime, new content)
// is read again; the snapshot holds the new content.
func TestFileChangedDuringRead(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 1})
	data := filepath.Join(fx.dir, fx.colls[0].vecSeg, "data_level0.bin")
	st, err := os.Stat(data)
	if err != nil {
		t.Fatal(err)
	}
	rewritten := false
	repo := mustOpen(t, newBucket(t), Keys{})
	// Rewrite the file in place right after its first read, keeping size
	// and mtime: only ctime (and content) give it away.
	m, err := repo.Snapshot(testContext(t), SnapshotOptions{
		PersistDir: fx.dir, ScratchDir: t.TempDir(), BlockSize: testBlockSize,
		afterFileRead: func(path string) {
			if path == data && !rewritten {
				rewritten = true
				fx.overwrite(t, data, 1000, fx.randBytes(5000))
				if err := os.Chtimes(data, st.ModTime(), st.ModTime()); err != nil {
					t.Error(err)
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rewritten || m.Stats.FileRereads == 0 {
		t.Fatalf("rewritten %v, rereads %d", rewritten, m.Stats.FileRereads)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, m.ID))
}

// cancellingReader cancels a context after n block reads.
type cancellingReader struct {
	storage.Bucket
	n      int64
	reads  atomic.Int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.HasPrefix(key, blocksPrefix) && c.reads.Add(1) == c.n {
		c.cancel()
	}
	return c.Bucket.Read(ctx, key)
}

func TestCancelRestoreLeavesTargetUntouched(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 2, hnswBytes: 1 << 20})
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, Keys{}), fx.dir)
	ctx, cancel := context.WithCancel(testContext(t))
	repo := mustOpen(t, &cancellingReader{Bucket: b, n: 3, cancel: cancel}, Keys{})
	parent := t.TempDir()
	target := filepath.Join(parent, "chroma")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "old"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target, Force: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(target, "old")); string(got) != "old" {
		t.Fatal("cancelled restore changed the target")
	}
	if left := leftovers(t, parent, "chroma"); len(left) != 0 {
		t.Fatalf("cancelled restore left %v", left)
	}
}

func TestStatus(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	st, err := repo.Status(ctx)
	if err != nil || st.Initialized || st.Snapshots != 0 || st.Newest != nil {
		t.Fatalf("status of an empty bucket = %+v, %v", st, err)
	}
	fx := newFixture(t, fixtureOpts{collections: 1})
	first := takeSnapshot(t, repo, fx.dir)
	fx.persist(t, 0, 10)
	second := takeSnapshot(t, repo, fx.dir)
	record := `{"format": 1, "snapshot_id": "` + second.ID + `", "started": "2026-03-01T11:00:00Z",
		"finished": "2026-03-01T11:00:42Z", "success": false, "error": "boom",
		"last_success": "2026-02-28T11:00:40Z", "last_success_snapshot_id": "` + first.ID + `",
		"bytes": 10, "collections": 1, "records": 210, "future_field": true}`
	writeObject(t, b, RestoreTestKey, []byte(record))
	st, err = mustOpen(t, b, Keys{}).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Initialized || st.Snapshots != 2 || st.Newest.ID != second.ID || st.Newest.Manifest == nil ||
		st.Newest.Manifest.Records() != 210 || st.TotalBytes() != st.BlockBytes+st.SnapshotBytes {
		t.Fatalf("status %+v", st)
	}
	rt := st.RestoreTest
	if st.RestoreTestErr != nil || rt == nil || rt.Success || rt.Error != "boom" || rt.LastSuccessSnapshotID != first.ID ||
		!rt.LastSuccess.Equal(time.Date(2026, 2, 28, 11, 0, 40, 0, time.UTC)) {
		t.Fatalf("restore test record %+v, %v", rt, st.RestoreTestErr)
	}
	writeObject(t, b, RestoreTestKey, []byte("{not json"))
	st, err = repo.Status(ctx)
	if err != nil || !errors.Is(st.RestoreTestErr, ErrCorrupt) {
		t.Fatalf("damaged restore test record: %v, %v", st.RestoreTestErr, err)
	}
}

// Snapshots taken within the same second still list in the order they
// were written, and "latest" is the last one.
func TestIDsFollowWriteOrder(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 1})
	repo := mustOpen(t, newBucket(t), Keys{})
	var ids []string
	for range 3 {
		ids = append(ids, takeSnapshot(t, repo, fx.dir).ID)
	}
	list, err := repo.List(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("list = %v, %v", list, err)
	}
	for i, s := range list {
		if s.ID != ids[2-i] {
			t.Fatalf("list order %v, written %v", list, ids)
		}
	}
	m, err := repo.Manifest(ctx, "latest")
	if err != nil || m.ID != ids[2] {
		t.Fatalf("latest = %v, %v; want %s", m, err, ids[2])
	}
}

// TestDatabaseBlockSize: chroma.sqlite3 is cut into DatabaseBlockSize
// blocks in a repository of 1 MiB blocks, so a change to a few of its
// pages stores a few small blocks, and the snapshot restores.
func TestDatabaseBlockSize(t *testing.T) {
	ctx := testContext(t)
	fx := newFixture(t, fixtureOpts{collections: 2, records: 3000, hnswBytes: 3 << 20})
	repo := mustOpen(t, newBucket(t), Keys{})
	snap := func() *Manifest {
		m, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir(), Instance: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := snap()
	db := first.Files[0]
	if db.Path != "chroma.sqlite3" || db.BlockSize != DatabaseBlockSize || first.BlockSize != DefaultBlockSize {
		t.Fatalf("database %q cut in %d-byte blocks in a repository of %d", db.Path, db.BlockSize, first.BlockSize)
	}
	if db.Size < 2*DefaultBlockSize {
		t.Fatalf("fixture database of %d bytes is too small for this test", db.Size)
	}
	if want := (db.Size + DatabaseBlockSize - 1) / DatabaseBlockSize; int64(len(db.Blocks)) != want {
		t.Fatalf("%d blocks, want %d", len(db.Blocks), want)
	}
	for _, f := range first.Files[1:] {
		if f.BlockSize != 0 {
			t.Errorf("%s has its own block size %d", f.Path, f.BlockSize)
		}
	}
	fx.exec(t, func(d *sql.DB) error {
		_, err := d.Exec(`UPDATE collections SET name = name || 'x' WHERE rowid = (SELECT min(rowid) FROM collections)`)
		return err
	})
	second := snap()
	changed := 0
	for i, h := range second.Files[0].Blocks {
		if i >= len(db.Blocks) || db.Blocks[i] != h {
			changed++
		}
	}
	if changed == 0 || changed > 3 {
		t.Errorf("one row changed: %d database blocks differ, want 1-3", changed)
	}
	if second.Stats.BlocksNew != changed {
		t.Errorf("uploaded %d blocks for %d changed", second.Stats.BlocksNew, changed)
	}
	requireSameTree(t, fx.dir, restoreTo(t, repo, second.ID))
	if _, err := repo.Verify(ctx, first.ID, VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
}

// pruningBucket removes a snapshot's manifest and one of its blocks at the
// first block read, as a forget and a prune running beside a restore do.
type pruningBucket struct {
	storage.Bucket
	manifest, block string
	once            sync.Once
}

func (p *pruningBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.HasPrefix(key, blocksPrefix) {
		p.once.Do(func() {
			_ = p.Bucket.Delete(ctx, p.manifest)
			_ = p.Bucket.Delete(ctx, p.block)
		})
	}
	return p.Bucket.Read(ctx, key)
}

// snapshotRemovedOnRead takes a snapshot and opens its repository through a
// pruningBucket.
func snapshotRemovedOnRead(t *testing.T) (*Repository, *Manifest) {
	fx := newFixture(t, fixtureOpts{collections: 1})
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, Keys{}), fx.dir)
	blocks := objectKeys(t, b, blocksPrefix)
	return mustOpen(t, &pruningBucket{Bucket: b, manifest: manifestKey(m.ID), block: blocks[len(blocks)-1]}, Keys{}), m
}

// A snapshot forgotten and pruned while it is being restored fails the
// restore (the target untouched) with a message that says so, not that the
// snapshot is damaged.
func TestRestoreOfSnapshotRemovedMeanwhile(t *testing.T) {
	repo, m := snapshotRemovedOnRead(t)
	requireRestoreFails(t, repo, m.ID, ErrMissing, "was removed from the bucket while it was being read")
}

// The same for a verify: the snapshot was removed, not damaged.
func TestVerifyOfSnapshotRemovedMeanwhile(t *testing.T) {
	repo, m := snapshotRemovedOnRead(t)
	_, err := repo.Verify(testContext(t), m.ID, VerifyOptions{ReadData: true})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "was removed from the bucket while it was being read") || strings.Contains(err.Error(), "is damaged") {
		t.Fatalf("verify of a snapshot removed meanwhile: %v", err)
	}
}
