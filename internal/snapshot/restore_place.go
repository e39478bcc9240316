package snapshot

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/durable"
)

// restorePlace is where a restore writes its files and how it puts them in
// place. Normally the restored folder is built beside the target and renamed
// over it. A target that is a mount point (a Kubernetes volume mounted at
// /data) cannot be renamed, and the folder beside it is on another file
// system: the files are then built inside the target and its entries are
// swapped (restore_mount.go).
type restorePlace struct {
	target string
	inside bool // target is a mount point
	log    *slog.Logger
	// afterStep, if not nil, runs after each step of a swap inside a mount
	// point (a test kills the process there).
	afterStep func(step string)

	stage   string // the run's locked temporary folder
	tree    string // where the restored files go: stage, or stage/new inside
	release func()
}

// planRestore checks target and decides how to restore into it.
func planRestore(target string, opts RestoreOptions, log *slog.Logger) (*restorePlace, error) {
	p := &restorePlace{target: target, log: log, afterStep: opts.afterSwapStep}
	st, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.warnReplaced()
		return p, nil
	case err != nil:
		return nil, fmt.Errorf("restore target %s: %w", target, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, symlinkTargetError(target)
	case !st.IsDir():
		return nil, fmt.Errorf("restore target %s exists and is not a folder", target)
	}
	if p.inside, err = isMountPoint(target); err != nil {
		return nil, fmt.Errorf("restore target %s: %w", target, err)
	}
	if p.inside {
		// A restore killed while swapping left the target half swapped:
		// finish or undo that first, whatever this run then does.
		removeStaleTempDirs(target, mountStagingPrefix, p.recoverKilled)
	}
	p.warnReplaced()
	if !opts.Force {
		if err := p.requireEmpty("holds files"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// symlinkTargetError refuses a target that is a symbolic link: renaming the
// restored folder over it would replace the link, not the folder it points
// to. The message names that folder, the target to give instead.
func symlinkTargetError(target string) error {
	dest, err := filepath.EvalSymlinks(target)
	if err != nil {
		return fmt.Errorf("restore target %s is a symbolic link that does not resolve (%w): restore into the folder itself", target, err)
	}
	return fmt.Errorf("restore target %s is a symbolic link to %s: restore into that folder itself (--to %s)", target, dest, dest)
}

// requireEmpty fails with ErrTargetNotEmpty when the target has contents.
func (p *restorePlace) requireEmpty(what string) error {
	names, err := p.contents()
	if err != nil {
		return fmt.Errorf("restore target %s: %w", p.target, err)
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s %s (%s); restore into a new or empty folder, or pass --force to replace it (stop Chroma first)",
		ErrTargetNotEmpty, p.target, what, strings.Join(names[:min(3, len(names))], ", "))
}

// contents lists the target's entries that a restore replaces: all of them,
// except in a mount point the file system's lost+found and this tool's own
// hidden folders.
func (p *restorePlace) contents() ([]string, error) {
	f, err := os.Open(p.target)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if !p.inside {
		return names, nil
	}
	kept := names[:0]
	for _, n := range names {
		if n != lostAndFound && !strings.HasPrefix(n, ownPrefix) {
			kept = append(kept, n)
		}
	}
	return kept, nil
}

// makeStage creates the run's temporary folder on the target's file system,
// first cleaning up after (or finishing the swap of) restores that were
// killed.
func (p *restorePlace) makeStage() error {
	var err error
	if p.inside {
		p.stage, p.release, err = lockedTempDir(p.target, mountStagingPrefix, p.recoverKilled)
		if err != nil {
			return fmt.Errorf("create a temporary folder inside %s: %w", p.target, err)
		}
		p.tree = filepath.Join(p.stage, stagedNew)
		return os.Mkdir(p.tree, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(p.target), 0o755); err != nil {
		return fmt.Errorf("create parent of %s: %w", p.target, err)
	}
	p.stage, p.release, err = lockedTempDir(filepath.Dir(p.target), "."+filepath.Base(p.target)+".restore-", nil)
	if err != nil {
		return fmt.Errorf("create a temporary folder beside %s: %w", p.target, err)
	}
	p.tree = p.stage
	return os.Chmod(p.stage, 0o755)
}

// checkSpace refuses, before anything is downloaded, a restore whose files
// cannot fit on the file system the restored copy is written to: the copy
// is written and checked beside (in a mount point, inside) the target while
// its old contents stay, so the snapshot's whole size must be free.
func (p *restorePlace) checkSpace(m *Manifest, space func(string) (int64, int64, error)) error {
	if space == nil {
		space = VolumeSpace
	}
	dir := filepath.Dir(p.target)
	if p.inside {
		dir = p.target
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
	}
	free, _, err := space(dir)
	if err != nil {
		// A file system that cannot tell its free space is not checked:
		// not knowing must not stop a restore.
		return nil
	}
	need := m.fileBytes()
	if free >= need {
		return nil
	}
	return fmt.Errorf("%w: the snapshot's files take %d bytes, but the file system of %s has %d bytes free "+
		"(the restored copy is written and checked before the old contents go); free space there, or restore into a larger volume (nothing was changed)",
		ErrTargetSpace, need, dir, free)
}

// swap puts the restored tree in place of the target's contents.
func (p *restorePlace) swap(force bool) error {
	if p.inside {
		return p.swapInside(force)
	}
	return swapInto(p.stage, p.target, force, p.log)
}

// abandon undoes a restore that failed or was cancelled; the target keeps
// (or gets back) its old contents.
func (p *restorePlace) abandon() error {
	if p.stage == "" {
		return nil
	}
	defer p.release()
	if p.inside {
		_, err := p.recoverStage(p.stage)
		return err
	}
	return os.RemoveAll(p.stage)
}

// swapInto moves the restored folder tmp to target. A non-empty target
// (force) is moved aside first and removed once the swap succeeded.
func swapInto(tmp, target string, force bool, log *slog.Logger) error {
	parent := filepath.Dir(target)
	st, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Rename(tmp, target); err != nil {
			return fmt.Errorf("move restored folder to %s: %w", target, err)
		}
		return durable.SyncDir(parent)
	case err != nil:
		return fmt.Errorf("restore target %s: %w", target, err)
	case !st.IsDir():
		return fmt.Errorf("restore target %s exists and is not a folder", target)
	}
	empty, err := dirEmpty(target)
	if err != nil {
		return fmt.Errorf("restore target %s: %w", target, err)
	}
	if empty {
		if err := os.Remove(target); err != nil {
			return fmt.Errorf("replace empty folder %s: %w", target, err)
		}
		if err := os.Rename(tmp, target); err != nil {
			return fmt.Errorf("move restored folder to %s: %w", target, err)
		}
		return durable.SyncDir(parent)
	}
	if !force {
		return fmt.Errorf("%w: %s received files during the restore; nothing was changed", ErrTargetNotEmpty, target)
	}
	return replaceFolder(tmp, target, log)
}

// replaceFolder moves the non-empty target aside, tmp into its place, and
// then removes the old contents.
func replaceFolder(tmp, target string, log *slog.Logger) error {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	old := setAsidePrefix(target) + hex.EncodeToString(b)
	if err := os.Rename(target, old); err != nil {
		return fmt.Errorf("move %s aside: %w", target, err)
	}
	if err := os.Rename(tmp, target); err != nil {
		if backErr := os.Rename(old, target); backErr != nil {
			return fmt.Errorf("move restored folder to %s: %w; and moving the old contents back from %s failed: %v", target, err, old, backErr)
		}
		return fmt.Errorf("move restored folder to %s (old contents put back): %w", target, err)
	}
	if err := durable.SyncDir(filepath.Dir(target)); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		log.Warn("restored, but removing the previous contents failed; delete them by hand", "path", old, "error", err)
	}
	return nil
}

// setAsidePrefix is where a restore with force moves the target's old
// contents (plus a random suffix) until the restored folder is in place.
func setAsidePrefix(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".old-")
}

// warnReplaced logs the folders that a restore with force, killed between
// putting the restored files in place and removing the old contents, left:
// beside the target, or inside it when it is a mount point. They hold the
// contents that restore replaced; only the operator may delete them.
func (p *restorePlace) warnReplaced() {
	dir, prefix := filepath.Dir(p.target), filepath.Base(setAsidePrefix(p.target))
	if p.inside {
		dir, prefix = p.target, mountReplacedPrefix
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			p.log.Warn("an interrupted restore with --force left the contents it replaced; delete the folder once they are not needed",
				"path", filepath.Join(dir, e.Name()))
		}
	}
}

func dirEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}
