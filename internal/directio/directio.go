// Package directio writes files with direct I/O: from an aligned buffer
// straight to the disk, without copying the data into the page cache and
// writing it back later. For data written once and not read back soon
// (restored segment files, objects in a local-folder bucket) that saves
// most of the CPU time of writing, and it leaves the page cache to the
// application whose data is being backed up.
package directio

import (
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
