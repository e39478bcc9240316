package snapshot

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/huff0"
	"github.com/klauspost/compress/zstd"
)

// codecPlanes stores a block as byte planes (FORMAT.md "Blocks"): with the
// block read as little-endian 32-bit words, plane k holds byte k of every
// word. Float32 vectors (HNSW files) do not compress as they are, but their
// sign-and-exponent bytes (plane 3) do, with Huffman coding alone (see
// literalsFrame); planes 0-2 are mantissa bytes and
// stay raw. The payload is
//
//	plane 0 || plane 1 || plane 2 || tail || zstd(plane 3)
//
// where tail is the last len(block) mod 4 bytes, and the block's length
// comes from the manifest.
const codecPlanes byte = 2

// planesSample is how much of a block is tried in planes before the whole
// block is.
const planesSample = 64 << 10

// planeTransposer owns the scratch buffers of one block codec.
type planeTransposer struct {
	plane []byte
	out   []byte
	huff  huff0.Scratch
}

// encodePlanes appends the codecPlanes payload of p to dst[:0] and returns
// it, or nil when it would not save at least an eighth of p.
func (t *planeTransposer) encodePlanes(p, dst []byte) []byte {
	words := len(p) / 4
	raw := 3*words + len(p)%4
	out := growBytes(dst, 1+raw)
	out[0] = codecPlanes
	p0, p1, p2 := out[1:1+words], out[1+words:1+2*words], out[1+2*words:1+3*words]
	t.plane = growBytes(t.plane, words)
	p3 := t.plane
	for i := range words {
		w := binary.LittleEndian.Uint32(p[4*i:])
		p0[i], p1[i], p2[i], p3[i] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
	}
	copy(out[1+3*words:], p[4*words:])
	out = literalsFrame(out, p3, &t.huff)
	if len(out)-1 > len(p)-len(p)/8 {
		return nil
	}
	return out
}

// decodePlanes turns a codecPlanes payload (after the codec byte) back into
// the block of wantLen bytes.
func (t *planeTransposer) decodePlanes(dec *zstd.Decoder, payload []byte, wantLen int) ([]byte, error) {
	words := wantLen / 4
	raw := 3*words + wantLen%4
	if len(payload) < raw {
		return nil, fmt.Errorf("%w: byte-plane block too short for %d bytes", ErrCorrupt, wantLen)
	}
	var err error
	t.plane, err = dec.DecodeAll(payload[raw:], t.plane[:0])
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	if len(t.plane) != words {
		return nil, fmt.Errorf("%w: byte-plane block's exponent plane holds %d bytes, want %d", ErrCorrupt, len(t.plane), words)
	}
	t.out = growBytes(t.out, wantLen)
	p0, p1, p2, p3 := payload[:words], payload[words:2*words], payload[2*words:3*words], t.plane
	for i := range words {
		binary.LittleEndian.PutUint32(t.out[4*i:], uint32(p0[i])|uint32(p1[i])<<8|uint32(p2[i])<<16|uint32(p3[i])<<24)
	}
	copy(t.out[4*words:], payload[3*words:raw])
	return t.out, nil
}

// growBytes returns b resized to n bytes, reallocating only when needed.
func growBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
