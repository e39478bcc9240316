//go:build linux

package snapshot

import "golang.org/x/sys/unix"

// isMountPoint reports whether the folder path is the root of a mount: the
// kernel says so directly (statx, Linux 5.8 and later, bind mounts included);
// older kernels are asked whether path is on another device than its parent.
func isMountPoint(path string) (bool, error) {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &st)
	if err == nil && st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
	}
	return onOtherDevice(path)
}
