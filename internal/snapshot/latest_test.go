package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

const plantedID = "99991231T235959Z-00000000"

// A junk manifest dated 9999 must not move the ids of later snapshots (ids
// come from the clock), and it is listed as damaged and skipped for
// "latest", by verify, restore and status alike.
func TestJunkManifestInTheFuture(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	fx := newFixture(t, fixtureOpts{collections: 1})
	first := takeSnapshot(t, repo, fx.dir)
	writeObject(t, b, manifestKey(plantedID), []byte("junk"))
	writeObject(t, b, snapshotsPrefix+"not-an-id.manifest", []byte("junk"))

	before := time.Now().UTC().Truncate(time.Second)
	second := takeSnapshot(t, repo, fx.dir)
	idTime, err := parseSnapshotID(second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if idTime.Before(before) || idTime.After(time.Now().Add(maxOrderWait)) || second.ID <= first.ID {
		t.Fatalf("snapshot id %s does not come from the clock (taken after %s, after %s)", second.ID, before, first.ID)
	}

	list, err := repo.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	damaged := map[string]bool{}
	for _, s := range list {
		if s.Err != nil {
			damaged[s.ID] = errors.Is(s.Err, ErrCorrupt)
		}
	}
	if len(list) != 4 || !damaged[plantedID] || !damaged["not-an-id"] || len(damaged) != 2 {
		t.Fatalf("list: %+v, want both junk manifests damaged (ErrCorrupt) and two snapshots", list)
	}

	if m, err := repo.Manifest(ctx, "latest"); err != nil || m.ID != second.ID {
		t.Fatalf("latest = %v, %v; want %s", m, err, second.ID)
	}
	res, err := repo.Verify(ctx, "latest", VerifyOptions{})
	if err != nil || res.ID != second.ID || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], plantedID) {
		t.Fatalf("verify latest: %+v, %v; want %s with %s skipped", res, err, second.ID, plantedID)
	}
	st, err := repo.Status(ctx)
	if err != nil || st.Newest == nil || st.Newest.ID != second.ID || len(st.DamagedNewer) != 1 || st.DamagedNewer[0].ID != plantedID {
		t.Fatalf("status: %+v, %v; want newest %s and %s damaged", st, err, second.ID, plantedID)
	}
}

// An intact manifest ahead of the clock (a writer whose clock ran fast)
// is the newest snapshot; a snapshot taken by a clock behind it still takes
// the clock's time, with a warning.
func TestClockBehindNewestSnapshotWarns(t *testing.T) {
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	fx := newFixture(t, fixtureOpts{collections: 1})
	first := takeSnapshot(t, repo, fx.dir)
	ahead, err := newSnapshotID(time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	forged := *first
	forged.ID = ahead
	obj, err := sealManifest(&forged, Keys{})
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, b, manifestKey(ahead), obj)

	var logs bytes.Buffer
	before := time.Now().UTC().Truncate(time.Second)
	m, err := repo.Snapshot(testContext(t), SnapshotOptions{PersistDir: fx.dir, ScratchDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	idTime, err := parseSnapshotID(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if idTime.Before(before) || idTime.After(time.Now()) {
		t.Fatalf("snapshot id %s does not come from the clock (taken after %s)", m.ID, before)
	}
	if !strings.Contains(logs.String(), "clock is behind the newest snapshot") || !strings.Contains(logs.String(), ahead) {
		t.Fatalf("no warning about the clock naming %s:\n%s", ahead, logs.String())
	}
}

// deniedBucket refuses to read one key, as a store does for an object the
// credentials may not read.
type deniedBucket struct {
	storage.Bucket
	key string
}

func (d deniedBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == d.key {
		return nil, fmt.Errorf("read %s: access denied: %w", key, storage.ErrPermanent)
	}
	return d.Bucket.Read(ctx, key)
}

// A manifest this process may not read (permission denied on that one
// object) is damaged for "latest"; it is listed with its error.
func TestUnreadableManifestIsSkipped(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	fx := newFixture(t, fixtureOpts{collections: 1})
	first := takeSnapshot(t, repo, fx.dir)
	second := takeSnapshot(t, repo, fx.dir)
	denied := mustOpen(t, deniedBucket{Bucket: b, key: manifestKey(second.ID)}, Keys{})
	if m, err := denied.Manifest(ctx, "latest"); err != nil || m.ID != first.ID {
		t.Fatalf("latest = %v, %v; want %s", m, err, first.ID)
	}
	list, err := denied.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != second.ID || !errors.Is(list[0].Err, storage.ErrPermanent) {
		t.Fatalf("list = %+v, %v; want %s listed with its error", list, err, second.ID)
	}
}

// When every manifest is damaged, "latest" fails naming the damage and
// where else to look, and no warning claims that an older snapshot is used instead: there is none.
func TestLatestWithNothingIntactClaimsNoFallback(t *testing.T) {
	ctx := testContext(t)
	b := newBucket(t)
	repo := mustOpen(t, b, Keys{})
	only := takeSnapshot(t, repo, newFixture(t, fixtureOpts{collections: 1}).dir)
	obj := readObject(t, b, manifestKey(only.ID))
	writeObject(t, b, manifestKey(only.ID), obj[:len(obj)/2])

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	_, err := repo.Restore(ctx, "latest", RestoreOptions{Target: filepath.Join(t.TempDir(), "data"), Logger: logger})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), only.ID) || !strings.Contains(err.Error(), "replica of the bucket") {
		t.Fatalf("restore latest of a bucket whose only manifest is damaged: %v; want ErrCorrupt naming %s and what to do", err, only.ID)
	}
	_, err = repo.RestoreScratch(ctx, "drill", ScratchOptions{ScratchDir: t.TempDir(), Logger: logger})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("scratch restore of latest: %v; want ErrCorrupt", err)
	}
	if strings.Contains(logs.String(), "older snapshot") {
		t.Fatalf("a warning claims an older snapshot is used, but none is intact:\n%s", logs.String())
	}
}
