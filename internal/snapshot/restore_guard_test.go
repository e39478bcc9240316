package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// TestRestoreTargetGuard: a file system's root, the folder of a file bucket
// (also behind the retry wrapper and a symbolic link) and a protected key
// file are refused, and only they.
func TestRestoreTargetGuard(t *testing.T) {
	b := newBucket(t)
	r := mustOpen(t, storage.WithRetry(b, storage.RetryPolicy{}), Keys{})
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "reader.key")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Dir(b.Root()), link); err != nil {
		t.Fatal(err)
	}
	refused := []string{"/", b.Root(), filepath.Dir(b.Root()), filepath.Join(b.Root(), "a", "b"), link, keyDir}
	for _, target := range refused {
		if err := r.checkRestoreTarget(target, []string{key}); !errors.Is(err, ErrUnsafeTarget) {
			t.Errorf("target %s: got %v, want ErrUnsafeTarget", target, err)
		}
	}
	allowed := []string{filepath.Join(t.TempDir(), "data"), b.Root() + "-restored", filepath.Join(link, "..", "elsewhere")}
	for _, target := range allowed {
		if err := r.checkRestoreTarget(target, []string{key, ""}); err != nil {
			t.Errorf("target %s: %v, want it allowed", target, err)
		}
	}
}

// A target that is a symbolic link to a folder is refused, naming the
// folder to restore into instead, and neither the link nor the folder
// changes.
func TestRestoreTargetSymlinkNamesFolder(t *testing.T) {
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, newFixture(t, fixtureOpts{collections: 1}).dir)
	dir := filepath.Join(t.TempDir(), "volume", "chroma")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(dir) // as the message names it
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.Restore(testContext(t), m.ID, RestoreOptions{Target: link, Force: true})
	if err == nil || !strings.Contains(err.Error(), "symbolic link to "+dir) || !strings.Contains(err.Error(), "--to "+dir) {
		t.Fatalf("restore into a link to a folder: %v; want a refusal naming %s", err, dir)
	}
	if dest, err := filepath.EvalSymlinks(link); err != nil || dest != dir {
		t.Fatalf("the link changed: %q, %v", dest, err)
	}
	if left := leftovers(t, filepath.Dir(link), "data"); len(left) != 0 {
		t.Fatalf("a refused restore left %v beside the link", left)
	}
	if _, err := repo.Restore(testContext(t), m.ID, RestoreOptions{Target: dir, Force: true}); err != nil {
		t.Fatalf("restore into the folder the error names: %v", err)
	}
}
