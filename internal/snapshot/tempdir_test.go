//go:build unix

package snapshot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestLockedTempDirRemovesOnlyStaleFolders(t *testing.T) {
	parent := t.TempDir()
	const prefix = "run-"

	// A run that was killed: its folder and lock file remain, nobody holds the lock.
	stale := filepath.Join(parent, prefix+"dead")
	if err := os.MkdirAll(filepath.Join(stale, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A live run.
	live, releaseLive, err := lockedTempDir(parent, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale folder %s still there (%v)", stale, err)
	}
	if _, err := os.Stat(stale + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("stale lock file still there (%v)", err)
	}
	// Another run must leave the live one alone.
	other, releaseOther, err := lockedTempDir(parent, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("live folder removed: %v", err)
	}
	if other == live {
		t.Fatal("two runs got the same folder")
	}
	os.RemoveAll(other)
	releaseOther()
	releaseLive()
	// Released without removing the folder (as if killed after unlock): stale now.
	_, releaseThird, err := lockedTempDir(parent, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseThird()
	if _, err := os.Stat(live); !os.IsNotExist(err) {
		t.Fatalf("released folder %s not cleaned (%v)", live, err)
	}
}

// holdTempDirEnv makes the test binary a run that holds a temporary folder:
// "parent\nprefix\nkeep" (keep: "folder", or "lock" for a run that already
// removed its folder but not yet its lock file). It prints the folder's path
// and waits to be killed.
const holdTempDirEnv = "SNAPSHOT_TEST_HOLD_TEMPDIR"

func TestTempDirHelperProcess(t *testing.T) {
	parts := helperProcessArgs(t, holdTempDirEnv, "TestLockFilesOfKilledRunsAreRemoved")
	dir, release, err := lockedTempDir(parts[0], parts[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	// The lock is held by an open file: dropping release would let the
	// garbage collector close it, and free the lock, while this run lives.
	defer runtime.KeepAlive(release)
	if parts[2] == "lock" {
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println(dir)
	io.Copy(io.Discard, os.Stdin) // until killed
}

// startHolder starts a process that holds a temporary folder (see
// holdTempDirEnv) and returns it with the folder's path, once it holds it.
func startHolder(t *testing.T, parent, prefix, keep string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTempDirHelperProcess$")
	cmd.Env = append(os.Environ(), holdTempDirEnv+"="+parent+"\n"+prefix+"\n"+keep)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("holder process: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

func killHolder(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); !diedOfSIGKILL(err) {
		t.Fatalf("holder process did not die of SIGKILL: %v", err)
	}
}

// helperProcessArgs returns the arguments a test running as a child process
// gets through the environment variable env ("\n"-separated), and skips the
// test when it runs on its own rather than as the child of parent.
func helperProcessArgs(t *testing.T, env, parent string) []string {
	t.Helper()
	spec := os.Getenv(env)
	if spec == "" {
		t.Skip("runs only as the child process of " + parent)
	}
	return strings.Split(spec, "\n")
}

// diedOfSIGKILL reports whether err, from waiting for a child process, says
// it was killed with SIGKILL.
func diedOfSIGKILL(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
}

// Runs killed with SIGKILL leave a folder and its lock file, or (killed
// between removing the two) only the lock file. The next run removes both
// kinds, and never those of a run that is still alive.
func TestLockFilesOfKilledRunsAreRemoved(t *testing.T) {
	parent := t.TempDir()
	const prefix = "otelcol-chroma-snapshot-"
	withFolder, dirA := startHolder(t, parent, prefix, "folder")
	lockOnly, dirB := startHolder(t, parent, prefix, "lock")
	unrelated := filepath.Join(parent, "other.lock")
	if err := os.WriteFile(unrelated, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mustExist := func(paths ...string) {
		t.Helper()
		for _, p := range paths {
			if _, err := os.Lstat(p); err != nil {
				t.Fatalf("%s was removed although its run is alive or it is not ours: %v", p, err)
			}
		}
	}
	mustBeGone := func(paths ...string) {
		t.Helper()
		for _, p := range paths {
			if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s left behind by a killed run is still there (%v)", p, err)
			}
		}
	}

	_, release, err := lockedTempDir(parent, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	mustExist(dirA, dirA+".lock", dirB+".lock", unrelated)

	killHolder(t, withFolder)
	killHolder(t, lockOnly)
	dir, release, err := lockedTempDir(parent, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	mustBeGone(dirA, dirA+".lock", dirB+".lock")
	mustExist(dir, dir+".lock", unrelated)
}
