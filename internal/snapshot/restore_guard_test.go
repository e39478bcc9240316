package snapshot

import (
	"errors"
	"os"
	"path/filepath"
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
