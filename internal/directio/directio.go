// Package directio writes files with direct I/O: from an aligned buffer
// straight to the disk, without copying the data into the page cache and
// writing it back later. For data written once and not read back soon
// (restored segment files, objects in a local-folder bucket) that saves
// most of the CPU time of writing, and it leaves the page cache to the
// application whose data is being backed up.
package directio

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// Align is the alignment of memory, file offsets and lengths that direct
// writes need: the largest logical block size of common disks.
const Align = 4096

// Buffer is a reusable aligned buffer for direct writes. The zero value is
// ready to use; it is not safe for concurrent use.
type Buffer struct{ b []byte }

// Get returns an aligned slice of RoundUp(n) bytes with unspecified
// content, valid until the next call.
func (a *Buffer) Get(n int) []byte {
	n = RoundUp(n)
	if cap(a.b) < n {
		raw := make([]byte, n+Align)
		skip := 0
		if r := int(uintptr(unsafe.Pointer(&raw[0])) % Align); r != 0 {
			skip = Align - r
		}
		a.b = raw[skip : skip+n : skip+n]
	}
	return a.b[:n]
}

// Fill copies p into the buffer, zero-padded to a multiple of Align, and
// returns that aligned slice, valid until the next call.
func (a *Buffer) Fill(p []byte) []byte {
	q := a.Get(len(p))
	clear(q[copy(q, p):])
	return q
}

// IsAligned reports whether p can be written directly as it is.
func IsAligned(p []byte) bool {
	return len(p) > 0 && len(p)%Align == 0 && uintptr(unsafe.Pointer(&p[0]))%Align == 0
}

// RoundUp rounds n up to a multiple of Align.
func RoundUp(n int) int { return (n + Align - 1) / Align * Align }

// WriteAt writes p at off to f, which has direct I/O on; p should be aligned
// (IsAligned) and off a multiple of Align. Some file systems take the
// O_DIRECT flag and then turn the write down with EINVAL (and any file system
// does for an unaligned buffer, offset or length): then nothing was written,
// direct I/O is turned off for f and direct is false, so the caller writes the
// data through the page cache, for this file from then on. Any other error is
// returned as it is.
func WriteAt(f *os.File, p []byte, off int64) (direct bool, err error) {
	_, err = f.WriteAt(p, off)
	if err == nil || !errors.Is(err, syscall.EINVAL) {
		return true, err
	}
	if err := Set(f, false); err != nil {
		return false, fmt.Errorf("turn direct I/O off for %s after a refused direct write: %w", f.Name(), err)
	}
	return false, nil
}
