//go:build linux

package kubernetes_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// readOnlyPersist returns a copy of the demo persist directory (the path
// Chroma writes through) and the same directory bind-mounted read-only (the
// sidecar's readOnly: true mount).
func readOnlyPersist(t *testing.T) (rw, ro string) {
	t.Helper()
	rw = chromatest.CopyDemo(t)
	ro = filepath.Join(t.TempDir(), "ro")
	testutil.BindMountReadOnly(t, rw, ro)
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o600); err == nil {
		t.Fatal("the read-only mount accepted a write")
	}
	return rw, ro
}

// SQLite's shared lock taken through the read-only mount is the one Chroma's
// writers see through their read-write path (POSIX locks belong to the
// inode): while the sidecar copies chroma.sqlite3, a write waits, and it
// succeeds once the copy is done.
func TestReadOnlyMountStillLocksOutWriters(t *testing.T) {
	rw, ro := readOnlyPersist(t)
	ctx := context.Background()
	db, err := chromadb.Open(ctx, filepath.Join(ro, chromadb.DatabaseFile), time.Second)
	if err != nil {
		t.Fatalf("open chroma.sqlite3 through the read-only mount: %v", err)
	}
	defer db.Close()
	writer, err := sql.Open("sqlite3", "file:"+filepath.Join(rw, chromadb.DatabaseFile)+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	write := func() error { _, err := writer.ExecContext(ctx, `PRAGMA user_version = 7`); return err }
	_, err = db.WithReadLock(ctx, func(context.Context) error {
		var se sqlite3.Error
		if err := write(); !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
			t.Errorf("a write during the read lock returned %v, want SQLITE_BUSY", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read lock through the read-only mount: %v", err)
	}
	if err := write(); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}

// A snapshot of the persist directory through the read-only mount restores
// to a database with the collections and records Chroma reported.
func TestSnapshotFromReadOnlyMountRestores(t *testing.T) {
	bin := testutil.CollectorBinary(t)
	_, ro := readOnlyPersist(t)
	bucket, restored := t.TempDir(), filepath.Join(t.TempDir(), "restored")
	run := func(args ...string) {
		t.Helper()
		args = append(args, "--bucket", "file://"+bucket, "--instance", "ro")
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("otelcol-chroma %v: %v\n%s", args, err, out)
		}
	}
	run("snapshot", "now", "--persist-directory", ro, "--scratch-directory", t.TempDir())
	run("snapshot", "restore", "latest", "--to", restored)
	db, err := chromadb.Open(context.Background(), filepath.Join(restored, chromadb.DatabaseFile), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	collections, records, err := db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := chromatest.DemoExpected(t)
	if int(collections) != want.Collections || int(records) != want.Records {
		t.Fatalf("restored %d collections, %d records; Chroma reported %d, %d", collections, records, want.Collections, want.Records)
	}
}
