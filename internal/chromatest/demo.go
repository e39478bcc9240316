package chromatest

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// DemoCounts is what Chroma's own API reported for testdata/chroma-demo
// (testdata/chroma-demo.expected.json).
type DemoCounts struct {
	Collections   int            `json:"collections"`
	Records       int            `json:"records"`
	PerCollection map[string]int `json:"per_collection"`
}

// DemoDir returns the path of the committed demo persist directory. Tests must
// not write into it: use CopyDemo.
func DemoDir(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "testdata", "chroma-demo")
}

// CopyDemo copies the demo persist directory into a fresh temporary folder and
// returns the copy's path.
func CopyDemo(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "persist")
	if err := CopyDir(DemoDir(t), dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// DemoExpected reads the counts Chroma reported for the demo persist directory.
func DemoExpected(t testing.TB) DemoCounts {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(DemoDir(t)), "chroma-demo.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c DemoCounts
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// CopyDir copies the regular files and folders below src into dst, keeping
// file modes and modification times.
func CopyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chtimes(target, info.ModTime(), info.ModTime())
		}
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
