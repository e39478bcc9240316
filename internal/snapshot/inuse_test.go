//go:build linux

package snapshot

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// A restore over the persist directory of a Chroma that still runs is
// refused, with --force too, and changes nothing: Chroma would otherwise go
// on serving (and writing to) the replaced files, and lose those writes at
// its next start. Once Chroma is stopped, the same restore goes through.
func TestRestoreRefusesTargetOfRunningChroma(t *testing.T) {
	bin := chromatest.Binary(t)
	ctx := testContext(t)
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, chromatest.CopyDemo(t))

	live := chromatest.CopyDemo(t)
	parent := filepath.Dir(live)
	srv := chromatest.Start(t, chromatest.Options{PersistDir: live, Binary: bin})
	before := inode(t, filepath.Join(live, "chroma.sqlite3"))

	for _, force := range []bool{false, true} {
		_, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: live, Force: force})
		if !errors.Is(err, ErrTargetInUse) {
			t.Fatalf("restore (force %v) over a running Chroma's folder: got %v, want ErrTargetInUse", force, err)
		}
		for _, want := range []string{live, "chroma.sqlite3", "stop Chroma"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not mention %q: %v", want, err)
			}
		}
	}
	if got := inode(t, filepath.Join(live, "chroma.sqlite3")); got != before {
		t.Fatal("a refused restore replaced the running Chroma's database")
	}
	if left := leftovers(t, parent, filepath.Base(live)); len(left) != 0 {
		t.Fatalf("a refused restore left %v beside the target", left)
	}
	requireChromaMatches(ctx, t, srv.Client, m)

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Restore(ctx, m.ID, RestoreOptions{Target: live, Force: true}); err != nil {
		t.Fatalf("restore once Chroma stopped: %v", err)
	}
	if inode(t, filepath.Join(live, "chroma.sqlite3")) == before {
		t.Fatal("the restore once Chroma stopped did not replace the database")
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// A process that opens the target while the restore downloads (a Chroma
// started too early) is caught before the swap: the restore fails, and
// the target keeps its contents.
func TestRestoreRefusesTargetOpenedDuringRestore(t *testing.T) {
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, chromatest.CopyDemo(t))
	target := chromatest.CopyDemo(t)
	db := filepath.Join(target, "chroma.sqlite3")
	before := inode(t, db)
	var holder *exec.Cmd
	openAtSwap := ProgressFunc(func(u Update) {
		if u.Phase != PhaseSwap || holder != nil {
			return
		}
		holder = exec.Command("tail", "-f", db)
		if err := holder.Start(); err != nil {
			t.Errorf("start a process holding %s: %v", db, err)
			return
		}
		ctx, cancel := context.WithTimeout(testContext(t), 30*time.Second)
		defer cancel()
		waitFor(t, ctx, "tail to open "+db, func() bool { users, _ := openFilesUnder(target); return len(users) > 0 })
	})
	t.Cleanup(func() {
		if holder != nil && holder.Process != nil {
			_ = holder.Process.Kill()
			_ = holder.Wait()
		}
	})
	_, err := repo.Restore(testContext(t), m.ID, RestoreOptions{Target: target, Force: true, Progress: openAtSwap})
	if !errors.Is(err, ErrTargetInUse) || !strings.Contains(err.Error(), "tail") {
		t.Fatalf("restore over a target opened during the restore: %v; want ErrTargetInUse naming the process", err)
	}
	if inode(t, db) != before {
		t.Fatal("the restore replaced the target that a process had opened meanwhile")
	}
	if left := leftovers(t, filepath.Dir(target), filepath.Base(target)); len(left) != 0 {
		t.Fatalf("a refused restore left %v beside the target", left)
	}
}
