package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CollectorBinary returns the distribution's binary under test:
// $OTELCOL_CHROMA_BIN when set (make test builds bin/otelcol-chroma), else
// one built from cmd/otelcol-chroma into the test's temporary folder.
func CollectorBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("OTELCOL_CHROMA_BIN"); p != "" {
		return p
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("find the repository to build the collector: %v", err)
	}
	out := filepath.Join(t.TempDir(), "otelcol-chroma")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/otelcol-chroma")
	cmd.Dir, cmd.Stderr = root, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build the collector: %v", err)
	}
	return out
}
