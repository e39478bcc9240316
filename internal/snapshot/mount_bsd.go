//go:build unix && !linux

package snapshot

// isMountPoint reports whether the folder path is on another file system
// than its parent.
func isMountPoint(path string) (bool, error) { return onOtherDevice(path) }
