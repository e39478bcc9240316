package chromadb // import "github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"

import (
	"fmt"
	"os"
)

// MissingDatabase describes a persist directory without chroma.sqlite3 and
// what to do. An empty one is most likely the mount point of a volume that
// is not mounted, not a wrong path.
func MissingDatabase(dir string) string {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		return fmt.Sprintf("%s is empty, with no %s: is Chroma's volume mounted there? (else point the persist directory at the folder Chroma was started with: --path / persist_path)", dir, DatabaseFile)
	}
	return fmt.Sprintf("%s has no %s: point the persist directory at the folder Chroma was started with (--path / persist_path)", dir, DatabaseFile)
}
