package chromadb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// ErrDamaged is returned (wrapped) when SQLite finds the database file
// damaged: a check (quick_check, integrity_check) reported problems, or a
// query met a malformed page. Chroma fails on such a database too.
var ErrDamaged = errors.New("database file is damaged")

// CheckError is the error of a check that reported problems. It matches
// ErrDamaged with errors.Is.
type CheckError struct {
	Pragma   string
	Path     string
	Problems []string
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("%s of %s failed: %v: %s", e.Pragma, e.Path, ErrDamaged, strings.Join(e.Problems, "; "))
}

// Is makes errors.Is(err, ErrDamaged) hold.
func (e *CheckError) Is(target error) bool { return target == ErrDamaged }

// classify marks SQLite's "malformed" and "not a database" results as
// ErrDamaged, by their result code.
func classify(err error) error {
	if hasCode(err, sqlite3.ErrCorrupt) || hasCode(err, sqlite3.ErrNotADB) {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return err
}

// hasCode reports whether err is SQLite's result code.
func hasCode(err error, code sqlite3.ErrNo) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == code
}

// problemLines splits one row of a check's output into its reports: SQLite
// puts several on one row, under a "*** in database main ***" heading.
func problemLines(row string) []string {
	var out []string
	for _, line := range strings.Split(row, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "ok" && !strings.HasPrefix(line, "*** in database ") {
			out = append(out, line)
		}
	}
	return out
}
