//go:build !unix

package snapshot

// VolumeSpace is not available here: a drill then skips its space check.
func VolumeSpace(string) (available, size int64, err error) { return 0, 0, errSpaceUnknown }
