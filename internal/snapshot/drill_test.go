package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// drillRecord reads status/restore-test.json.
func drillRecord(t *testing.T, repo *Repository) *RestoreTestRecord {
	t.Helper()
	rec, _, err := repo.readRestoreTest(testContext(t))
	if err != nil || rec == nil {
		t.Fatalf("restore-test record: %+v, %v", rec, err)
	}
	return rec
}

func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%s still holds %v after the drill", dir, entries)
	}
}

// A drill against versitygw with a real Chroma passes and records the
// measured recovery time; a block tampered with in the gateway's data
// folder makes the next drill fail, with the last success kept.
func TestDrillWithChromaAndTamperedBlock(t *testing.T) {
	bin := chromatest.Binary(t)
	gw := versitygw.Start(t)
	ctx := testContext(t)
	b, err := storage.Open(ctx, gw.URLWithPrefix("drill"), storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret})
	if err != nil {
		t.Fatal(err)
	}
	writer, reader := mustKeys(t)
	m := takeSnapshot(t, mustOpen(t, b, writer), chromatest.CopyDemo(t))
	repo := mustOpen(t, b, reader)
	scratch := t.TempDir()
	opts := DrillOptions{ScratchDir: scratch, ChromaCommand: bin, Instance: "test"}

	res, err := repo.Drill(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := chromatest.DemoExpected(t)
	nonEmpty := 0
	for _, c := range m.Chroma.Collections {
		if c.Records > 0 {
			nonEmpty++
		}
	}
	if !res.ChromaChecked || nonEmpty == 0 || res.Queries != nonEmpty || res.Restore <= 0 || res.ChromaReady <= 0 ||
		res.Recovery != res.Restore+res.ChromaReady || !res.Recorded || res.SnapshotID != m.ID {
		t.Fatalf("drill result %+v", res)
	}
	requireEmptyDir(t, scratch)
	passed := drillRecord(t, repo)
	if !passed.Success || passed.SnapshotID != m.ID || passed.Duration != res.Recovery || passed.Instance != "test" ||
		!passed.LastSuccess.Equal(passed.Finished) || passed.LastSuccessDuration != res.Recovery ||
		passed.Bytes != m.Stats.LogicalBytes || passed.Records != int64(want.Records) || !passed.ChromaChecked {
		t.Fatalf("record of a passing drill: %+v", passed)
	}

	// Overwrite a block object's bytes behind the gateway's back.
	blocks := objectKeys(t, b, blocksPrefix)
	obj := filepath.Join(gw.DataDir, gw.Bucket, "drill", filepath.FromSlash(blocks[len(blocks)/2]))
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, flipByte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = repo.Drill(ctx, opts)
	if !errors.Is(err, ErrCorrupt) || res.ChromaChecked || !res.Recorded {
		t.Fatalf("drill of a tampered snapshot: %+v, %v", res, err)
	}
	requireEmptyDir(t, scratch)
	failed := drillRecord(t, repo)
	if failed.Success || failed.ErrorClass != ClassRepository || failed.Error != "" ||
		!failed.LastSuccess.Equal(passed.LastSuccess) || failed.LastSuccessSnapshotID != m.ID || failed.LastSuccessDuration != passed.Duration {
		t.Fatalf("record of a failed drill (encrypted: no message): %+v", failed)
	}
}

// A scratch volume too small for the restore is refused before anything
// is restored, and the refusal is recorded.
func TestDrillRefusesSmallScratchVolume(t *testing.T) {
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, Keys{}), chromatest.CopyDemo(t))
	scratch := filepath.Join(t.TempDir(), "small")
	testutil.MountTmpfs(t, scratch, 4)
	repo := mustOpen(t, b, Keys{})
	_, err := repo.Drill(testContext(t), DrillOptions{ScratchDir: scratch})
	if !errors.Is(err, ErrScratchSpace) {
		t.Fatalf("drill into a 4 MiB tmpfs of a %d-byte snapshot: %v", m.Stats.LogicalBytes, err)
	}
	requireEmptyDir(t, scratch)
	rec := drillRecord(t, repo)
	if rec.Success || rec.ErrorClass != ClassScratchSpace || rec.SnapshotID != m.ID || rec.Error == "" || !rec.LastSuccess.IsZero() {
		t.Fatalf("record of a refused drill: %+v", rec)
	}
}

// The space check compares the snapshot's size and margin with the free
// bytes, without root.
func TestDrillSpaceCheck(t *testing.T) {
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, Keys{}), chromatest.CopyDemo(t))
	repo := mustOpen(t, b, Keys{})
	need := m.Stats.LogicalBytes + drillMarginMin
	for _, tc := range []struct {
		free int64
		want error
	}{{need - 1, ErrScratchSpace}, {need, nil}} {
		space := func(string) (int64, int64, error) { return tc.free, 1 << 40, nil }
		_, err := repo.Drill(testContext(t), DrillOptions{ScratchDir: t.TempDir(), volumeSpace: space})
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Fatalf("%d bytes free for %d needed: %v, want %v", tc.free, need, err, tc.want)
		}
	}
}
