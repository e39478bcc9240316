package snapshot

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// A snapshot of a real Chroma persist directory whose chroma.sqlite3 has a
// page of junk is stored (it may be the only copy), marked damaged, and
// reported: by Snapshot's error, the manifest, List, Verify, Restore and the
// attempt record. Restore with NoCheck gives the bytes back exactly.
func TestSourceDamagedIsStoredAndReported(t *testing.T) {
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	good := takeSnapshot(t, repo, src)
	if good.SourceCheck == nil || !good.SourceCheck.OK || good.SourceDamaged() {
		t.Fatalf("snapshot of a sound database: source check %+v", good.SourceCheck)
	}

	chromatest.DamageTable(t, src, "embedding_metadata")
	m, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir(), Instance: "test"})
	if !errors.Is(err, ErrSourceCorrupt) || m == nil {
		t.Fatalf("snapshot of a damaged database = %v, %v; want the stored manifest and ErrSourceCorrupt", m, err)
	}
	if !m.SourceDamaged() || len(m.SourceCheck.Problems) == 0 || m.SourceCheck.Pragma != "integrity_check" {
		t.Fatalf("manifest source check %+v", m.SourceCheck)
	}
	list, err := repo.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != m.ID || list[0].Manifest == nil || !list[0].Manifest.SourceDamaged() {
		t.Fatalf("list = %+v, %v; want the damaged snapshot first, marked", list, err)
	}
	if _, err := repo.Verify(ctx, m.ID, VerifyOptions{ReadData: true}); !errors.Is(err, ErrSourceCorrupt) {
		t.Fatalf("verify of the damaged snapshot = %v; want ErrSourceCorrupt", err)
	}
	target := filepath.Join(t.TempDir(), "restored")
	for _, id := range []string{m.ID, "latest"} {
		_, err := repo.Restore(ctx, id, RestoreOptions{Target: target})
		if !errors.Is(err, ErrSourceCorrupt) {
			t.Fatalf("restore %s of the damaged snapshot = %v; want ErrSourceCorrupt", id, err)
		}
		if !strings.Contains(err.Error(), "snapshot restore "+good.ID) {
			t.Errorf("restore %s: the refusal does not name the snapshot to restore instead, %s: %v", id, good.ID, err)
		}
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused restore created its target: %v", err)
	}
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target, NoCheck: true}); err != nil {
		t.Fatalf("restore with NoCheck: %v", err)
	}
	requireSameTree(t, src, target)

	rec := attemptOf(t, repo, "test")
	if rec.Outcome != OutcomeFailure || rec.ErrorClass != ClassSourceCorrupt || rec.SnapshotID != m.ID ||
		rec.ConsecutiveFailures != 1 || rec.LastSuccessSnapshotID != good.ID {
		t.Fatalf("attempt record after the damaged snapshot: %+v", rec)
	}
}

// When the damage hides the collections, or even the segments of the live
// database, the bytes are still stored, segment folders included.
func TestSourceDamagedBeyondReading(t *testing.T) {
	for _, table := range []string{"collections", "segments"} {
		t.Run(table, func(t *testing.T) {
			ctx := testContext(t)
			src := chromatest.CopyDemo(t)
			chromatest.DamageTable(t, src, table)
			repo := mustOpen(t, newBucket(t), Keys{})
			m, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir()})
			if !errors.Is(err, ErrSourceCorrupt) || m == nil || !m.SourceDamaged() {
				t.Fatalf("snapshot = %v, %v; want a stored snapshot marked damaged", m, err)
			}
			target := filepath.Join(t.TempDir(), "restored")
			if _, err := repo.Restore(ctx, "latest", RestoreOptions{Target: target, NoCheck: true}); err != nil {
				t.Fatal(err)
			}
			requireSameTree(t, src, target)
		})
	}
}

// The check runs on the private copy after the read lock is released:
// Chroma's writers can commit while it runs.
func TestSourceCheckDoesNotHoldTheLock(t *testing.T) {
	fx := newFixture(t, fixtureOpts{collections: 1})
	repo := mustOpen(t, newBucket(t), Keys{})
	var writeErr error
	ran := false
	hook := func() {
		ran = true
		db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: fx.dbPath()}).EscapedPath()+"?_busy_timeout=0")
		if err != nil {
			writeErr = err
			return
		}
		defer db.Close()
		_, writeErr = db.Exec(`CREATE TABLE IF NOT EXISTS writer_probe (x INTEGER)`)
	}
	m, err := repo.Snapshot(testContext(t), SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir(), beforeSourceCheck: hook})
	if err != nil {
		t.Fatal(err)
	}
	if !ran || writeErr != nil {
		t.Fatalf("a writer during the source check: ran %v, error %v; want it to commit at once", ran, writeErr)
	}
	if m.SourceCheck == nil || !m.SourceCheck.OK || m.Timings.SourceCheck <= 0 {
		t.Fatalf("source check %+v, timings %+v", m.SourceCheck, m.Timings)
	}
}

// A manifest written before the check existed has no source_check and
// reads as not damaged.
func TestManifestWithoutSourceCheck(t *testing.T) {
	var m Manifest
	if err := json.Unmarshal([]byte(`{"format":1,"id":"x","chroma":{}}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.SourceCheck != nil || m.SourceDamaged() {
		t.Fatalf("older manifest reads as %+v", m.SourceCheck)
	}
}

// A snapshot of a damaged database whose manifest predates the check (no
// source_check) is refused by the restore's own check, and restores
// byte-exact with NoCheck.
func TestRestoreNoCheckWithoutSourceCheck(t *testing.T) {
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	chromatest.DamageTable(t, src, "embedding_metadata")
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	m, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir()})
	if !errors.Is(err, ErrSourceCorrupt) {
		t.Fatal(err)
	}
	m.SourceCheck = nil
	obj, err := sealManifest(m, Keys{})
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, b, manifestKey(m.ID), obj)

	target := filepath.Join(t.TempDir(), "restored")
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target}); !errors.Is(err, ErrRestoreCheck) {
		t.Fatalf("restore of an unmarked damaged snapshot = %v; want ErrRestoreCheck", err)
	}
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: target, NoCheck: true}); err != nil {
		t.Fatal(err)
	}
	requireSameTree(t, src, target)
}

// The restore's SQLite check follows the capture's: a snapshot whose
// database passed integrity_check gets quick_check (the restored bytes are
// the checked ones), unless FullCheck; one checked with quick_check only
// (older versions) gets integrity_check, unless QuickCheck. The database
// here has an index that disagrees with its table, which only
// integrity_check sees; its manifest is rewritten to claim each check.
func TestRestoreCheckFollowsTheCaptureCheck(t *testing.T) {
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	chromatest.DamageIndex(t, src)
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	m, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir()})
	if !errors.Is(err, ErrSourceCorrupt) {
		t.Fatalf("snapshot of a damaged index = %v; want ErrSourceCorrupt", err)
	}
	claim := func(pragma string) {
		t.Helper()
		m.SourceCheck = &SourceCheck{Pragma: pragma, OK: true}
		if pragma == "" {
			m.SourceCheck = nil // older manifests record none
		}
		obj, err := sealManifest(m, Keys{})
		if err != nil {
			t.Fatal(err)
		}
		writeObject(t, b, manifestKey(m.ID), obj)
	}
	restore := func(opts RestoreOptions) (*RestoreResult, error) {
		t.Helper()
		opts.Target = filepath.Join(t.TempDir(), "restored")
		return repo.Restore(ctx, m.ID, opts)
	}
	for _, tc := range []struct {
		claimed    string
		opts       RestoreOptions
		wantPragma string
	}{
		{chromadb.PragmaIntegrityCheck, RestoreOptions{}, chromadb.PragmaQuickCheck},
		{chromadb.PragmaIntegrityCheck, RestoreOptions{FullCheck: true}, chromadb.PragmaIntegrityCheck},
		{chromadb.PragmaQuickCheck, RestoreOptions{}, chromadb.PragmaIntegrityCheck},
		{chromadb.PragmaQuickCheck, RestoreOptions{QuickCheck: true}, chromadb.PragmaQuickCheck},
		{"", RestoreOptions{}, chromadb.PragmaIntegrityCheck},
		{chromadb.PragmaIntegrityCheck, RestoreOptions{NoCheck: true}, ""},
	} {
		claim(tc.claimed)
		res, err := restore(tc.opts)
		if tc.wantPragma == chromadb.PragmaIntegrityCheck {
			if !errors.Is(err, ErrRestoreCheck) || !strings.Contains(err.Error(), "integrity_check") {
				t.Errorf("captured with %q, restore %+v = %v; want ErrRestoreCheck from integrity_check", tc.claimed, tc.opts, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("captured with %s, restore %+v: %v", tc.claimed, tc.opts, err)
		}
		if res.CheckPragma != tc.wantPragma {
			t.Errorf("captured with %s, restore %+v ran %q; want %q", tc.claimed, tc.opts, res.CheckPragma, tc.wantPragma)
		}
	}
}

// The library refuses options that choose two database checks.
func TestRestoreRefusesTwoChecks(t *testing.T) {
	repo := mustOpen(t, newBucket(t), Keys{})
	for _, opts := range []RestoreOptions{{NoCheck: true, FullCheck: true}, {QuickCheck: true, FullCheck: true}, {NoCheck: true, QuickCheck: true}} {
		opts.Target = filepath.Join(t.TempDir(), "restored")
		if _, err := repo.Restore(testContext(t), "latest", opts); err == nil || !strings.Contains(err.Error(), "set one of them") {
			t.Errorf("restore with %+v: %v", opts, err)
		}
	}
}
