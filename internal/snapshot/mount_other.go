//go:build !unix

package snapshot

// isMountPoint: mount points are not detected here; a restore stages beside
// its target.
func isMountPoint(string) (bool, error) { return false, nil }
