//go:build linux

package directio

import (
	"os"

	"golang.org/x/sys/unix"
)

// Set turns direct I/O on or off for f. It fails where the file system does
// not support direct I/O (tmpfs, for one); f is then unchanged.
func Set(f *os.File, on bool) error {
	fd := f.Fd()
	flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		flags |= unix.O_DIRECT
	} else {
		flags &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(fd, unix.F_SETFL, flags)
	return err
}
