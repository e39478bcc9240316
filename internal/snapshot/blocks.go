package snapshot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Block payload codecs (FORMAT.md "Blocks").
const (
	codecRaw  byte = 0
	codecZstd byte = 1
)

const (
	// compressSample is how much of a block is test-compressed first: HNSW
	// float arrays do not compress, and finding out from a sample costs
	// almost nothing.
	compressSample = 64 << 10
	// ageOverhead bounds what age adds to a payload: header plus a 16-byte
	// tag per 64 KiB chunk.
	ageOverhead = 4096
)

// blockCodec turns block plaintext into stored objects and back. Each
// worker owns one; it is not safe for concurrent use.
type blockCodec struct {
	keys    Keys
	maxSize int // largest plaintext accepted when decoding
	enc     *zstd.Encoder
	dec     *zstd.Decoder
	payload []byte
	sealed  bytes.Buffer
	plain   []byte
	planes  planeTransposer
}

func newBlockCodec(keys Keys, maxSize int) (*blockCodec, error) {
	// A window of one block: a block is compressed on its own, and the
	// encoder then keeps ~2 MiB of history per worker instead of ~9.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true), zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(maxSize)+1), zstd.WithDecoderMaxWindow(uint64(max(maxSize, 1<<20))))
	if err != nil {
		return nil, err
	}
	return &blockCodec{keys: keys, maxSize: maxSize, enc: enc, dec: dec}, nil
}

func (c *blockCodec) close() {
	c.enc.Close()
	c.dec.Close()
}

// encode returns the object for plaintext p: codec byte + data, encrypted
// when the repository is. The result is valid until the next call.
func (c *blockCodec) encode(p []byte) ([]byte, error) {
	c.payload = c.compress(p)
	if !c.keys.Encrypted() {
		return c.payload, nil
	}
	c.sealed.Reset()
	if err := ageEncrypt(&c.sealed, c.keys.recipients, c.payload); err != nil {
		return nil, err
	}
	return c.sealed.Bytes(), nil
}

// compress stores zstd, or else byte planes, only when it saves at least
// an eighth; otherwise the block is stored raw.
func (c *blockCodec) compress(p []byte) []byte {
	if len(p) >= 512 {
		if out := c.compressZstd(p); out != nil {
			return out
		}
		if out := c.compressPlanes(p); out != nil {
			return out
		}
	}
	out := append(c.payload[:0], codecRaw)
	return append(out, p...)
}

// compressZstd returns the codecZstd payload of p, or nil when it does not
// save an eighth. A block larger than two samples (the 1 MiB blocks of
// segment files, mostly float vectors zstd cannot shrink) is given up on
// when its first sample does not shrink; smaller ones (the database's
// 128 KiB blocks, which mostly halve) are compressed once, whole.
func (c *blockCodec) compressZstd(p []byte) []byte {
	if len(p) > 2*compressSample {
		sample := p[:compressSample]
		out := c.enc.EncodeAll(sample, append(c.payload[:0], codecZstd))
		c.payload = out[:0]
		if len(out)-1 > len(sample)-len(sample)/16 {
			return nil
		}
	}
	out := c.enc.EncodeAll(p, append(c.payload[:0], codecZstd))
	c.payload = out[:0]
	if len(out)-1 > len(p)-len(p)/8 {
		return nil
	}
	return out
}

// compressPlanes returns the codecPlanes payload of p, or nil when it does
// not save an eighth. A sample is tried first.
func (c *blockCodec) compressPlanes(p []byte) []byte {
	if len(p) > planesSample && c.planes.encodePlanes(p[:planesSample], c.payload) == nil {
		return nil
	}
	return c.planes.encodePlanes(p, c.payload)
}

// decode turns a stored object back into plaintext, checks its length and
// SHA-256, and returns it (valid until the next call). An encrypted object is
// decrypted in place: obj is overwritten, and the result may alias it.
func (c *blockCodec) decode(obj []byte, want Hash, wantLen int) ([]byte, error) {
	payload := obj
	if c.keys.Encrypted() {
		var err error
		if payload, err = ageOpen(obj, c.keys, c.maxSize+1+ageOverhead); err != nil {
			if errors.Is(err, ErrWrongKey) {
				// The key matched config.json when the repository was
				// opened: a block it cannot open was altered or replaced.
				return nil, fmt.Errorf("%w: the block object does not open with this repository's key: it was altered or replaced", ErrCorrupt)
			}
			return nil, err
		}
	}
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty block payload", ErrCorrupt)
	}
	var p []byte
	switch payload[0] {
	case codecRaw:
		p = payload[1:]
	case codecZstd:
		var err error
		c.plain, err = c.dec.DecodeAll(payload[1:], c.plain[:0])
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		p = c.plain
	case codecPlanes:
		var err error
		if p, err = c.planes.decodePlanes(c.dec, payload[1:], wantLen); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown block codec %d", ErrCorrupt, payload[0])
	}
	if len(p) != wantLen {
		return nil, fmt.Errorf("%w: block holds %d bytes, the manifest expects %d", ErrCorrupt, len(p), wantLen)
	}
	if sha256.Sum256(p) != want {
		return nil, fmt.Errorf("%w: block content does not match its SHA-256 in the manifest", ErrCorrupt)
	}
	return p, nil
}

// maxObjectSize bounds what a block of blockSize encodes to: the raw block
// with its codec byte, age's per-chunk tags (1/64 is ample) and room for
// its header and recipient stanzas. A larger object is no block's.
func maxObjectSize(blockSize int) int64 {
	return int64(blockSize) + int64(blockSize)/64 + 1<<20
}
