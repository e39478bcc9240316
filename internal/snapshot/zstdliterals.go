package snapshot

import (
	"encoding/binary"
	"errors"

	"github.com/klauspost/compress/huff0"
)

// literalsFrame appends to dst one zstd frame (RFC 8878) of src made of
// Huffman-coded literals only: no match search, which costs most of zstd's
// time and finds nothing in data with no repeats but skewed bytes (the
// exponent bytes of float vectors). Any zstd decoder reads it. The frame
// has a 4-byte content size, one segment and no checksum; each block of at
// most 128 KiB is compressed literals with no sequences, or raw or RLE
// when Huffman coding does not pay.
func literalsFrame(dst, src []byte, s *huff0.Scratch) []byte {
	dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd, 0xa0) // magic; descriptor: 4-byte size, single segment
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(src)))
	if len(src) == 0 {
		return appendZstdBlockHeader(dst, true, zstdBlockRaw, 0)
	}
	for off := 0; off < len(src); off += zstdMaxBlock {
		chunk := src[off:min(off+zstdMaxBlock, len(src))]
		dst = appendLiteralsBlock(dst, chunk, off+len(chunk) == len(src), s)
	}
	return dst
}

const (
	zstdMaxBlock        = 128 << 10
	zstdBlockRaw        = 0
	zstdBlockRLE        = 1
	zstdBlockCompressed = 2
	// minHuffLiterals: below this, a raw block is as good.
	minHuffLiterals = 1 << 10
)

func appendLiteralsBlock(dst, chunk []byte, last bool, s *huff0.Scratch) []byte {
	s.Reuse = huff0.ReusePolicyNone
	out, _, err := huff0.Compress4X(chunk, s)
	switch {
	case err == nil && len(chunk) >= minHuffLiterals && 5+len(out)+1 < len(chunk):
		dst = appendZstdBlockHeader(dst, last, zstdBlockCompressed, 5+len(out)+1)
		// Literals section header: compressed literals, 4 streams, 18-bit
		// regenerated and compressed sizes (size format 3).
		h := uint64(2) | 3<<2 | uint64(len(chunk))<<4 | uint64(len(out))<<22
		dst = append(dst, byte(h), byte(h>>8), byte(h>>16), byte(h>>24), byte(h>>32))
		dst = append(dst, out...)
		return append(dst, 0) // sequences section: none
	case errors.Is(err, huff0.ErrUseRLE):
		dst = appendZstdBlockHeader(dst, last, zstdBlockRLE, len(chunk))
		return append(dst, chunk[0])
	default:
		dst = appendZstdBlockHeader(dst, last, zstdBlockRaw, len(chunk))
		return append(dst, chunk...)
	}
}

func appendZstdBlockHeader(dst []byte, last bool, typ, size int) []byte {
	h := typ<<1 | size<<3
	if last {
		h |= 1
	}
	return append(dst, byte(h), byte(h>>8), byte(h>>16))
}
