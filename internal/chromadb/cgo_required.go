//go:build !cgo

package chromadb

// chroma.sqlite3 is read with SQLite's C library through cgo
// (github.com/mattn/go-sqlite3). Without cgo that package builds into a stub
// that fails on first use, so the build stops here instead: set
// CGO_ENABLED=1 and install a C compiler (gcc).
var _ = cgoRequired_SetCGO_ENABLED1_AndInstallGCC
