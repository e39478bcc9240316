package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// A relative -dir or -chroma names a path from the caller's working
// directory, even though Chroma itself runs in a scratch folder that is
// removed afterwards.
func TestFillRelativePaths(t *testing.T) {
	abs, err := filepath.Abs(chromatest.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.Mkdir("bin", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join("bin", "chroma")); err != nil {
		t.Fatal(err)
	}
	chroma := filepath.Join("bin", "chroma")
	o := options{chroma: chroma, dir: "persist", records: 40, dim: 8, collections: 2, batch: 20, seed: 1}
	if err := run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o.round, o.add, o.upsert, o.del = 1, 6, 2, 2
	if err := run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join("persist", "chroma.sqlite3"))
	if err != nil {
		t.Fatalf("the fill left no database in the relative persist directory: %v", err)
	}
	if fi.Size() == 0 {
		t.Fatal("chroma.sqlite3 is empty")
	}
}
