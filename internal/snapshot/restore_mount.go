package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/durable"
)

// Restoring into a mount point. Its entries cannot all be replaced in one
// step, so the swap is a sequence whose state is written in the names of the
// folders inside the run's staging folder S (.otelcol-chroma-restore-X,
// locked while the run lives):
//
//  1. S/new holds the restored, checked and fsynced files.
//  2. The target's entries move one by one into S/aside.
//  3. S/aside is renamed S/old: the commit point.
//  4. The entries of S/new move one by one into the target.
//  5. S/old is renamed .otelcol-chroma-old-X in the target, then deleted,
//     and S (with its lock file) is removed.
//
// A run killed in 2 (S/aside exists) is undone by the next restore into the
// target: the entries in S/aside move back. A run killed in 4 (S/old exists)
// is completed: the rest of S/new moves in, and the old contents stay in
// .otelcol-chroma-old-X for the operator, as after a kill in 5. Until that
// next restore, a target whose run was killed in 2 or 4 holds a mix of old
// and new entries: Chroma must not be started on it.
const (
	ownPrefix           = ".otelcol-chroma-"
	mountStagingPrefix  = ownPrefix + "restore-"
	mountReplacedPrefix = ownPrefix + "old-"
	lostAndFound        = "lost+found"

	stagedNew   = "new"
	stagedAside = "aside"
	stagedOld   = "old"
)

// swapInside replaces the target's contents with the staged tree.
func (p *restorePlace) swapInside(force bool) error {
	names, err := p.contents()
	if err != nil {
		return fmt.Errorf("restore target %s: %w", p.target, err)
	}
	if len(names) > 0 && !force {
		return p.requireEmpty("received files during the restore; nothing was changed")
	}
	aside := filepath.Join(p.stage, stagedAside)
	if err := os.Mkdir(aside, 0o700); err != nil {
		return fmt.Errorf("restore into %s: %w", p.target, err)
	}
	if err := p.moveEntries(p.target, aside, names); err != nil {
		return fmt.Errorf("move the old contents of %s aside: %w", p.target, err)
	}
	if err := syncDirs(p.target, aside); err != nil {
		return err
	}
	if err := os.Rename(aside, filepath.Join(p.stage, stagedOld)); err != nil {
		return fmt.Errorf("restore into %s: %w", p.target, err)
	}
	if err := durable.SyncDir(p.stage); err != nil {
		return err
	}
	p.stepDone("commit")
	replaced, err := p.finishInside(p.stage)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(replaced); err != nil {
		p.log.Warn("restored, but removing the previous contents failed; delete them by hand", "path", replaced, "error", err)
	}
	p.stepDone("removed " + replaced)
	return os.RemoveAll(p.stage)
}

// finishInside moves the staged entries of stage into the target and the
// old contents out of the way, to the returned folder in the target.
func (p *restorePlace) finishInside(stage string) (replaced string, err error) {
	if err := p.moveEntries(filepath.Join(stage, stagedNew), p.target, nil); err != nil {
		return "", fmt.Errorf("move the restored files into %s: %w", p.target, err)
	}
	replaced = filepath.Join(p.target, mountReplacedPrefix+strings.TrimPrefix(filepath.Base(stage), mountStagingPrefix))
	if err := os.Rename(filepath.Join(stage, stagedOld), replaced); err != nil {
		return "", fmt.Errorf("restore into %s: %w", p.target, err)
	}
	if err := syncDirs(p.target, stage); err != nil {
		return "", err
	}
	p.stepDone("set aside " + replaced)
	return replaced, nil
}

// recoverKilled finishes the swap of a restore that was killed (its staging
// folder's lock is free), or undoes it, then removes its staging folder.
func (p *restorePlace) recoverKilled(stage string) error {
	outcome, err := p.recoverStage(stage)
	switch {
	case err != nil:
		p.log.Error("an interrupted restore left the target half swapped and it could not be repaired; do not start Chroma on it",
			"target", p.target, "staging", stage, "error", err)
	case outcome != "":
		p.log.Warn(outcome, "target", p.target)
	}
	return err
}

// recoverStage brings the target back to all-old (killed before the commit
// point) or all-new (after it) and removes stage. It says which, if any.
func (p *restorePlace) recoverStage(stage string) (string, error) {
	var outcome string
	switch {
	case exists(filepath.Join(stage, stagedAside)):
		if err := p.moveEntries(filepath.Join(stage, stagedAside), p.target, nil); err != nil {
			return "", fmt.Errorf("put the old contents of %s back: %w", p.target, err)
		}
		if err := durable.SyncDir(p.target); err != nil {
			return "", err
		}
		outcome = "an interrupted restore had begun moving the target's contents aside; they were put back"
	case exists(filepath.Join(stage, stagedOld)):
		replaced, err := p.finishInside(stage)
		if err != nil {
			return "", err
		}
		outcome = "an interrupted restore had begun replacing the target's contents; the restored snapshot it had checked was moved into place, and the contents it replaced are in " +
			replaced + ": delete that folder once they are not needed"
	}
	return outcome, os.RemoveAll(stage)
}

// moveEntries renames the named entries of from (all, for nil) into to,
// never over an existing entry.
func (p *restorePlace) moveEntries(from, to string, names []string) error {
	if names == nil {
		entries, err := os.ReadDir(from)
		if err != nil {
			return err
		}
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	for _, n := range names {
		dst := filepath.Join(to, n)
		if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is in the way of %s (%v); move it elsewhere and run the restore again", dst, filepath.Join(from, n), err)
		}
		if err := os.Rename(filepath.Join(from, n), dst); err != nil {
			return err
		}
		p.stepDone("move " + filepath.Join(from, n))
	}
	return nil
}

func (p *restorePlace) stepDone(step string) {
	if p.afterStep != nil {
		p.afterStep(step)
	}
}

func syncDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := durable.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
