package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// floatVectors returns n bytes of little-endian float32 values of a
// normalized Gaussian vector of dimension 1536, as HNSW files hold them.
func floatVectors(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	scale := 1 / math.Sqrt(1536)
	for i := 0; i+4 <= n; i += 4 {
		binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(rng.NormFloat64()*scale)))
	}
	for i := n &^ 3; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestBlockCodecPicksPlanesForVectors(t *testing.T) {
	rng := newRand()
	for _, keys := range []Keys{{}, mustWriterReader(t)} {
		c, err := newBlockCodec(keys, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		for _, tc := range []struct {
			name  string
			plain []byte
			codec byte
		}{
			{"vectors", floatVectors(rng, 1<<20), codecPlanes},
			{"vectors with a tail", floatVectors(rng, 300<<10+3), codecPlanes},
			{"random", randomBytes(rng, 1<<20), codecRaw},
			{"text", bytes.Repeat([]byte("the quarterly report of the cluster "), 4000), codecZstd},
			{"small", []byte("tiny"), codecRaw},
		} {
			obj, err := c.encode(tc.plain)
			if err != nil {
				t.Fatal(err)
			}
			obj = bytes.Clone(obj)
			if !keys.Encrypted() && obj[0] != tc.codec {
				t.Errorf("%s: codec %d, want %d", tc.name, obj[0], tc.codec)
			}
			if tc.codec == codecPlanes && len(obj) > len(tc.plain)*7/8+ageOverhead {
				t.Errorf("%s: %d bytes stored for %d", tc.name, len(obj), len(tc.plain))
			}
			got, err := c.decode(obj, sha256.Sum256(tc.plain), len(tc.plain))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !bytes.Equal(got, tc.plain) {
				t.Fatalf("%s: decoded block differs", tc.name)
			}
		}
	}
}

// mustWriterReader returns keys that can both write and read.
func mustWriterReader(t *testing.T) Keys {
	t.Helper()
	w, r := mustKeys(t)
	k := r
	k.recipients = w.recipients
	return k
}

func TestPlanesRoundTripEveryTail(t *testing.T) {
	rng := newRand()
	c, err := newBlockCodec(Keys{}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for n := 64 << 10; n < 64<<10+8; n++ {
		p := floatVectors(rng, n)
		payload := c.planes.encodePlanes(p, nil)
		if payload == nil {
			t.Fatalf("%d bytes of vectors: planes do not save an eighth", n)
		}
		payload = bytes.Clone(payload)
		got, err := c.planes.decodePlanes(c.dec, payload[1:], n)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: round trip failed: %v", n, err)
		}
	}
}

func TestPlanesDamageIsCorrupt(t *testing.T) {
	rng := newRand()
	c, err := newBlockCodec(Keys{}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	p := floatVectors(rng, 256<<10)
	obj := bytes.Clone(c.compress(p))
	h := sha256.Sum256(p)
	for name, damaged := range map[string][]byte{
		"truncated":          obj[:len(obj)-10],
		"raw planes only":    obj[:1+3*len(p)/4],
		"flipped raw byte":   flipAt(obj, 100),
		"flipped zstd byte":  flipAt(obj, len(obj)-20),
		"too short for size": obj[:50],
	} {
		if _, err := c.decode(damaged, h, len(p)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := c.decode(obj, h, len(p)-4); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong length: %v, want ErrCorrupt", err)
	}
}

func flipAt(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x10
	return out
}
