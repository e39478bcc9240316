package testutil

import (
	"errors"
	"syscall"
	"testing"
)

// MountTmpfs mounts a tmpfs of the given size (mount's syntax: "256k",
// "2m") on dir for the rest of the test, to give a test a filesystem that
// fills up. Where mounting is not permitted it skips the test, saying what
// could not be tested (purpose).
func MountTmpfs(t testing.TB, dir, size, purpose string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("mounting a %s tmpfs is not permitted here (%v): cannot %s", size, err, purpose)
		}
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}
