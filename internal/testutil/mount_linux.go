//go:build linux

package testutil

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// MountTmpfs mounts a new tmpfs of sizeMiB at dir (created if missing) and
// unmounts it when the test ends. Where this process may not mount (not
// root, no CAP_SYS_ADMIN, a restricted container) the test is skipped with
// the reason.
func MountTmpfs(t testing.TB, dir string, sizeMiB int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm,mode=0755", sizeMiB))
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skipf("mounting a tmpfs at %s is not permitted here (%v): run as root to test restores into a mount point", dir, err)
	}
	if err != nil {
		t.Fatalf("mount a tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// BindMountReadOnly mounts src at dir (created if missing) read-only, as
// kubelet mounts a volume with readOnly: true, and unmounts it when the test
// ends, or earlier when the test calls the returned function. src may be
// dir itself: the folder turns read-only in place. Where this process may
// not mount, the test is skipped with the reason.
func BindMountReadOnly(t testing.TB, src, dir string) (unmount func()) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := unix.Mount(src, dir, "", unix.MS_BIND, "")
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skipf("bind-mounting %s at %s is not permitted here (%v): run as root to test read-only mounts", src, dir, err)
	}
	if err != nil {
		t.Fatalf("bind-mount %s at %s: %v", src, dir, err)
	}
	var once sync.Once
	unmount = func() {
		once.Do(func() {
			if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		})
	}
	t.Cleanup(unmount)
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount %s read-only: %v", dir, err)
	}
	return unmount
}
