// Package chromatest runs a real Chroma server (the Rust core shipped through
// npm) for tests: it finds the binary, starts a server on a persist directory,
// talks to it over the HTTP API v2, and generates write load.
//
// The binary is installed by scripts/install-chroma.sh. Without it, tests that
// need Chroma are skipped, unless REQUIRE_REAL_COMPONENTS=1, which turns the
// skip into a failure (CI sets it).
package chromatest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// EnvBinary names the environment variable that overrides the path of the
// chroma binary.
const EnvBinary = "CHROMA_BIN"

// EnvRequire names the environment variable that, set to "1", turns a missing
// binary into a test failure instead of a skip.
const EnvRequire = "REQUIRE_REAL_COMPONENTS"

// InstallHint is the instruction printed when the binary is missing.
const InstallHint = "run scripts/install-chroma.sh to install the Chroma server (or set " + EnvBinary + ")"

// relBinary is the binary's path relative to the repository root, where
// scripts/install-chroma.sh puts it.
var relBinary = filepath.Join(".tools", "npm", "node_modules", ".bin", "chroma")

// Binary returns the path of the chroma binary: $CHROMA_BIN if set, else
// <repo root>/.tools/npm/node_modules/.bin/chroma. When it is missing, the
// test is skipped, or fails if REQUIRE_REAL_COMPONENTS=1.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := FindBinary()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("chroma server not available: %v; %s", err, InstallHint)
			return ""
		}
		t.Skipf("chroma server not available: %v; %s", err, InstallHint)
	}
	return bin
}

// FindBinary is Binary without a testing.TB: it returns the path of the
// chroma binary or an error saying where it looked.
func FindBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, relBinary)
	if err := checkExecutable(p); err != nil {
		return "", err
	}
	return p, nil
}

// RepoRoot returns the directory of the repository's go.mod.
func RepoRoot() (string, error) { return testutil.RepoRoot() }

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}
