//go:build linux

package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DirectIOOn reports whether the kernel has O_DIRECT set on f, as
// /proc/self/fdinfo shows it: what the kernel does, not what the code under
// test believes it asked for.
func DirectIOOn(f *os.File) (bool, error) {
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", f.Fd()))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				return false, fmt.Errorf("fdinfo flags %q: %w", v, err)
			}
			return flags&unix.O_DIRECT != 0, nil
		}
	}
	return false, fmt.Errorf("no flags line in /proc/self/fdinfo/%d", f.Fd())
}

// DirectIOWorks reports whether the file system of dir takes direct writes:
// it opens a new file there with O_DIRECT (open(2), not fcntl) and writes one
// aligned 4096-byte block. The error says why not.
func DirectIOWorks(dir string) (bool, error) {
	path := filepath.Join(dir, ".direct-io-probe")
	defer os.Remove(path)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_DIRECT, 0o600)
	if err != nil {
		return false, fmt.Errorf("open %s with O_DIRECT: %w", path, err)
	}
	defer unix.Close(fd)
	const align = 4096
	raw := make([]byte, 2*align)
	skip := (align - int(uintptr(unsafe.Pointer(&raw[0]))%align)) % align
	if _, err := unix.Pwrite(fd, raw[skip:skip+align], 0); err != nil {
		return false, fmt.Errorf("direct write to %s: %w", path, err)
	}
	return true, nil
}
