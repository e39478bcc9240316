// Package testutil holds what the packages that start real servers for tests
// share: finding the repository and picking a free loopback port.
package testutil // import "github.com/otelcol-chroma/otelcol-chroma/internal/testutil"

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/otelcol-chroma/otelcol-chroma/internal/loopback"
)

// RepoRoot returns the nearest directory at or above the working directory
// (a test's package folder) that holds a go.mod file.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found at or above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) { return loopback.FreePort() }
