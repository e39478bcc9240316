//go:build unix

package snapshot

import (
	"os"
	"path/filepath"
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
	live, releaseLive, err := lockedTempDir(parent, prefix)
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
	other, releaseOther, err := lockedTempDir(parent, prefix)
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
	_, releaseThird, err := lockedTempDir(parent, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseThird()
	if _, err := os.Stat(live); !os.IsNotExist(err) {
		t.Fatalf("released folder %s not cleaned (%v)", live, err)
	}
}
