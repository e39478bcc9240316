//go:build linux

package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// blockReads counts the block objects read from a bucket.
type blockReads struct {
	storage.Bucket
	n atomic.Int64
}

func (b *blockReads) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.HasPrefix(key, "blocks/") {
		b.n.Add(1)
	}
	return b.Bucket.Read(ctx, key)
}

// A restore onto a real file system too small for the snapshot is refused
// before any block is downloaded, saying how much it needs and has, and the
// target keeps its contents: a folder on that file system (with --force)
// and the mounted volume itself.
func TestRestoreRefusedWhenVolumeTooSmall(t *testing.T) {
	b := newBucket(t)
	m := takeSnapshot(t, mustOpen(t, b, Keys{}), chromatest.CopyDemo(t)) // 6.5 MiB
	counted := &blockReads{Bucket: b}
	repo := mustOpen(t, counted, Keys{})

	volume := filepath.Join(t.TempDir(), "volume")
	testutil.MountTmpfs(t, volume, 4)
	folder := filepath.Join(volume, "data")
	for _, target := range []string{folder, volume} {
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		keep := filepath.Join(folder, "keep.txt")
		if err := os.WriteFile(keep, []byte("old contents"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := repo.Restore(testContext(t), m.ID, RestoreOptions{Target: target, Force: true})
		if !errors.Is(err, ErrTargetSpace) {
			t.Fatalf("restore of %d bytes into %s on a 4 MiB volume: %v; want ErrTargetSpace", m.fileBytes(), target, err)
		}
		for _, want := range []string{target, "bytes free", "larger volume", "nothing was changed"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q: %v", want, err)
			}
		}
		if n := counted.n.Load(); n != 0 {
			t.Fatalf("%d blocks were downloaded before the restore into %s was refused", n, target)
		}
		if got, err := os.ReadFile(keep); err != nil || string(got) != "old contents" {
			t.Fatalf("the target's contents changed: %q, %v", got, err)
		}
		if left := leftovers(t, volume, "data"); len(left) != 0 {
			t.Fatalf("a refused restore left %v on the volume", left)
		}
	}
}

// When the file system fills up during the restore all the same (its free
// space taken after the check), the restore fails with what to do, and the
// target keeps its contents.
func TestRestoreFillingTheVolumeSaysSo(t *testing.T) {
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, chromatest.CopyDemo(t)) // 6.5 MiB
	volume := filepath.Join(t.TempDir(), "volume")
	testutil.MountTmpfs(t, volume, 4)
	target := filepath.Join(volume, "data")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(target, "keep.txt")
	if err := os.WriteFile(keep, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	plenty := func(string) (int64, int64, error) { return 1 << 40, 1 << 40, nil }
	_, err := repo.Restore(testContext(t), m.ID, RestoreOptions{Target: target, Force: true, volumeSpace: plenty})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "file system is full: free space there, or restore into a larger volume") {
		t.Fatalf("restore onto a volume that fills up: %v", err)
	}
	if got, err := os.ReadFile(keep); err != nil || string(got) != "old contents" {
		t.Fatalf("the target's contents changed: %q, %v", got, err)
	}
	if left := leftovers(t, volume, "data"); len(left) != 0 {
		t.Fatalf("a failed restore left %v on the volume", left)
	}
}

// A file system that cannot tell its free space does not stop a restore.
func TestRestoreWhenFreeSpaceIsUnknown(t *testing.T) {
	repo := mustOpen(t, newBucket(t), Keys{})
	src := newFixture(t, fixtureOpts{collections: 1}).dir
	m := takeSnapshot(t, repo, src)
	target := filepath.Join(t.TempDir(), "data")
	failing := func(dir string) (int64, int64, error) {
		return 0, 0, fmt.Errorf("statfs %s: function not implemented", dir)
	}
	if _, err := repo.Restore(testContext(t), m.ID, RestoreOptions{Target: target, volumeSpace: failing}); err != nil {
		t.Fatalf("restore where the free space cannot be read: %v", err)
	}
	requireSameTree(t, src, target)
}
