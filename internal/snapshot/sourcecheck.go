package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
)

// SourceCheck is the check of the captured chroma.sqlite3 copy, recorded in
// the manifest (FORMAT.md "Manifests", source_check). Manifests written
// before the check existed have none.
type SourceCheck struct {
	// Pragma is the SQLite check that ran: "integrity_check" (the check a
	// restore runs), "quick_check" in manifests of older versions.
	Pragma string `json:"pragma"`
	// OK is false when the check reported problems: the live database was
	// already damaged when the snapshot was taken.
	OK bool `json:"ok"`
	// Problems are SQLite's first reports (at most 20).
	Problems []string `json:"problems,omitempty"`
}

// SourceDamaged reports whether the snapshot was taken from a damaged
// database: its bytes are stored as they were, but a restore refuses it
// unless told not to check (RestoreOptions.NoCheck).
func (m *Manifest) SourceDamaged() bool { return m.SourceCheck != nil && !m.SourceCheck.OK }

// checkedWhole reports whether the captured database passed
// integrity_check, the check that compares every index with its table.
func (m *Manifest) checkedWhole() bool {
	return m.SourceCheck != nil && m.SourceCheck.OK && m.SourceCheck.Pragma == chromadb.PragmaIntegrityCheck
}

// sourceDamagedErr says what a damaged source means for the snapshot.
func (m *Manifest) sourceDamagedErr() error {
	return fmt.Errorf("snapshot %s was taken from a damaged %s (%w; %s: %s)",
		m.ID, chromadb.DatabaseFile, ErrSourceCorrupt, m.SourceCheck.Pragma, summarizeProblems(m.SourceCheck.Problems))
}

// summarizeProblems gives the first few of SQLite's reports.
func summarizeProblems(problems []string) string {
	const shown = 3
	if len(problems) <= shown {
		return strings.Join(problems, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(problems[:shown], "; "), len(problems)-shown)
}

// checkSource runs PRAGMA integrity_check on the private SQLite copy: the
// check a restore runs, so a snapshot that passes here passes there (a
// quick_check misses an index that disagrees with its table). It runs after
// the read lock on the live database is released, so Chroma's writers never
// wait for it. A damaged copy is a result, not an error; err
// is set only when the check could not run.
func checkSource(ctx context.Context, cp *chromadb.DB) (*SourceCheck, error) {
	sc := &SourceCheck{Pragma: chromadb.PragmaIntegrityCheck, OK: true}
	err := cp.IntegrityCheck(ctx)
	var ce *chromadb.CheckError
	switch {
	case err == nil:
		return sc, nil
	case errors.As(err, &ce):
		sc.OK, sc.Problems = false, ce.Problems
		return sc, nil
	case errors.Is(err, chromadb.ErrDamaged):
		sc.OK, sc.Problems = false, []string{err.Error()}
		return sc, nil
	}
	return nil, fmt.Errorf("check the SQLite copy: %w", err)
}

// checkSourceForRestore refuses a snapshot of a damaged database unless
// noCheck is set, and warns when the checks are skipped.
func checkSourceForRestore(m *Manifest, noCheck bool, log *slog.Logger) error {
	if !noCheck {
		if m.SourceDamaged() {
			return fmt.Errorf("restore: %w. It would fail the restore's check, and Chroma would fail on it: restore an older snapshot, or this one without the check (--no-check) to get its bytes exactly as captured, damage included", m.sourceDamagedErr())
		}
		return nil
	}
	if m.SourceDamaged() {
		log.Warn("restoring a snapshot of a damaged database without checking it: the files are exactly as captured, damage included; Chroma may fail on them", "id", m.ID, "problems", m.SourceCheck.Problems)
	} else {
		log.Warn("restoring without checking the restored database: blocks are still checked against the manifest", "id", m.ID)
	}
	return nil
}

// suggestUndamaged adds to err, the refusal of snapshot id taken from a
// damaged database, the newest older snapshot whose database was sound:
// the one the corruption runbook restores. A bucket that cannot be listed
// or read adds nothing.
func (r *Repository) suggestUndamaged(ctx context.Context, cfg *repoConfig, id string, err error) error {
	objs, lerr := r.listManifestObjects(ctx)
	if lerr != nil {
		return err
	}
	for _, o := range objs {
		if o.id >= id {
			continue
		}
		m, merr := r.readManifest(ctx, cfg, o.id)
		if merr != nil && !isDamage(merr) {
			return err
		}
		if merr == nil && !m.SourceDamaged() {
			return fmt.Errorf("%w\nthe newest older snapshot taken from a sound database is %s (%s): snapshot restore %s",
				err, m.ID, m.Created.UTC().Format(time.DateTime), m.ID)
		}
	}
	return fmt.Errorf("%w\nno older snapshot was taken from a sound database", err)
}
