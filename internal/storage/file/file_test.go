package file_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/file"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/storagetest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

var _ storage.Bucket = (*file.Bucket)(nil)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Bucket {
		b, err := file.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func newBucket(t *testing.T) *file.Bucket {
	t.Helper()
	b, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A missing folder is a missing bucket: nothing creates it, and every
// operation says so, as for an S3 bucket that does not exist.
func TestMissingFolderIsNeverCreated(t *testing.T) {
	ctx := t.Context()
	root := filepath.Join(t.TempDir(), "unmounted", "bucket")
	b, err := file.New(root)
	if err != nil {
		t.Fatal(err)
	}
	noBucket := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrNoBucket) || !errors.Is(err, storage.ErrPermanent) || !strings.Contains(err.Error(), root) {
			t.Errorf("%s: %v, want ErrNoBucket (permanent) naming %s", op, err, root)
		}
	}
	_, err = b.Read(ctx, "config.json")
	noBucket("Read", err)
	_, err = b.Stat(ctx, "config.json")
	noBucket("Stat", err)
	for _, err := range b.List(ctx, "snapshots/") {
		noBucket("List", err)
	}
	noBucket("Write", b.Write(ctx, "blocks/aa/x", strings.NewReader("x"), 1))
	noBucket("CreateIfAbsent", b.CreateIfAbsent(ctx, "config.json", strings.NewReader("{}"), 2))
	if _, err := os.Stat(filepath.Dir(root)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the bucket's parent folder was created (stat: %v)", err)
	}

	// Once the folder exists, folders below it are created as needed.
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, "blocks/aa/x", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(ctx, "missing"); !errors.Is(err, storage.ErrNotExist) || errors.Is(err, storage.ErrNoBucket) {
		t.Fatalf("Read of a missing object in an existing folder: %v, want ErrNotExist only", err)
	}
}

// A full filesystem is ErrNoSpace, so callers can advise about space rather
// than credentials.
func TestFullFilesystemIsNoSpace(t *testing.T) {
	mnt := t.TempDir()
	testutil.MountTmpfs(t, mnt, 1)
	b, err := file.New(mnt)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{1}, 2<<20)
	err = b.Write(t.Context(), "blocks/aa/big", bytes.NewReader(data), int64(len(data)))
	if !errors.Is(err, storage.ErrNoSpace) || !errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("Write into a full filesystem: %v, want ErrNoSpace (permanent)", err)
	}
}

func TestKeysMapToFiles(t *testing.T) {
	b := newBucket(t)
	if err := b.Write(t.Context(), "snapshots/1/manifest.json", strings.NewReader("{}"), 2); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(b.Root(), "snapshots", "1", "manifest.json"))
	if err != nil || string(got) != "{}" {
		t.Fatalf("file content %q, %v", got, err)
	}
	if want := "file://" + b.Root(); b.String() != want {
		t.Fatalf("String() = %q, want %q", b.String(), want)
	}
}

func TestListSkipsTempFiles(t *testing.T) {
	b := newBucket(t)
	if err := b.Write(t.Context(), "d/real", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	// What a crash during Write leaves behind.
	if err := os.WriteFile(filepath.Join(b.Root(), "d", ".storage-tmp-"+"123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for info, err := range b.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if len(keys) != 1 || keys[0] != "d/real" {
		t.Fatalf("List = %q, want [d/real]", keys)
	}
	if err := b.Write(t.Context(), "d/"+".storage-tmp-"+"x", strings.NewReader("x"), 1); !errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("Write of a reserved name: %v, want ErrPermanent", err)
	}
}

func TestFailedWritesLeaveNoTempFiles(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	broken := io.MultiReader(bytes.NewReader(make([]byte, 1000)), errorReader{})
	if err := b.Write(ctx, "d/k", broken, -1); err == nil {
		t.Fatal("Write succeeded")
	}
	if err := b.CreateIfAbsent(ctx, "d/k", strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateIfAbsent(ctx, "d/k", strings.NewReader("abc"), 3); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second CreateIfAbsent: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(b.Root(), "d"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "k" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("folder holds %q, want only k", names)
	}
}

func TestDeleteRemovesEmptyFolders(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	if err := b.Write(ctx, "a/b/c/d", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, "a/keep", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "a/b/c/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.Root(), "a", "b")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty folder a/b left behind: %v", err)
	}
	if _, err := os.Stat(b.Root()); err != nil {
		t.Fatalf("root removed: %v", err)
	}
}

func TestFileInTheWay(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	if err := b.Write(ctx, "a", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	err := b.Write(ctx, "a/b", strings.NewReader("x"), 1)
	if !errors.Is(err, storage.ErrPermanent) || errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Write under a file: %v, want ErrPermanent", err)
	}
	if _, err := b.Stat(ctx, "a/b"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat under a file: %v, want ErrNotExist", err)
	}
}

func TestNewOnAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := file.New(p); !errors.Is(err, storage.ErrPermanent) {
		t.Fatalf("New on a file: %v, want ErrPermanent", err)
	}
}

type errorReader struct{}

func (errorReader) Read([]byte) (int, error) { return 0, errors.New("source broke") }

// Objects of block size are written with direct I/O; every size around the
// alignment and the direct range must come back byte for byte, and readers
// that give too little or too much must fail the write and leave nothing.
func TestWriteSizesAroundDirectIO(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	sizes := []int{64<<10 - 1, 64 << 10, 64<<10 + 1, 1<<20 + 1, 1<<20 + 4096, 8 << 20, 8<<20 + 1}
	for i, n := range sizes {
		want := make([]byte, n)
		for j := range want {
			want[j] = byte(j*7 + i)
		}
		key := "blocks/" + strings.Repeat("a", i+1)
		// bytes.Reader and a reader that gives one byte less per call.
		readers := []io.Reader{bytes.NewReader(want), io.LimitReader(onebyte{bytes.NewReader(want)}, int64(n))}
		for r, src := range readers {
			if err := b.Write(ctx, key, src, int64(n)); err != nil {
				t.Fatalf("size %d reader %d: %v", n, r, err)
			}
			rc, err := b.Read(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d reader %d: read back %d bytes, different from the %d written", n, r, len(got), n)
			}
		}
		for _, c := range []struct {
			name string
			data []byte
		}{{"short", want[:n-1]}, {"long", append(want, 'x')}} {
			err := b.Write(ctx, "d/"+c.name, bytes.NewReader(c.data), int64(n))
			if !errors.Is(err, storage.ErrPermanent) {
				t.Fatalf("size %d, %s reader: Write = %v, want a permanent error", n, c.name, err)
			}
			if _, err := b.Stat(ctx, "d/"+c.name); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("size %d, %s reader: object exists after the failed write (%v)", n, c.name, err)
			}
		}
	}
	entries, err := os.ReadDir(filepath.Join(b.Root(), "d"))
	if err == nil && len(entries) > 0 {
		t.Fatalf("failed writes left %d files", len(entries))
	}
}

// onebyte reads at most one byte less than asked, to exercise short reads.
type onebyte struct{ r io.Reader }

func (o onebyte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:len(p)-1]
	}
	return o.r.Read(p)
}
