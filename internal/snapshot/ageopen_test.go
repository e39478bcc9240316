package snapshot

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"filippo.io/age"
)

func TestAgeOpenMatchesAge(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	k := Keys{identities: []age.Identity{id}, authKey: make([]byte, 32), source: "test"}
	for _, size := range []int{0, 1, ageChunkSize - 1, ageChunkSize, ageChunkSize + 1, 3 * ageChunkSize, 1 << 20, 1<<20 + 17} {
		plain := make([]byte, size)
		rand.Read(plain)
		var sealed bytes.Buffer
		if err := ageEncrypt(&sealed, []age.Recipient{id.Recipient()}, plain); err != nil {
			t.Fatal(err)
		}
		// The reference: age's own reader.
		r, err := age.Decrypt(bytes.NewReader(sealed.Bytes()), id)
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		obj := sealed.Bytes()
		got, err := ageOpen(bytes.Clone(obj), k, 2<<20)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: plaintext differs from age's", size)
		}

		// Any flipped byte, in the header or the payload, is refused.
		for _, at := range []int{10, len(obj) / 2, len(obj) - 1} {
			bad := bytes.Clone(obj)
			bad[at] ^= 0x01
			if _, err := ageOpen(bad, k, 2<<20); err == nil {
				t.Errorf("size %d: a flipped byte at %d went unnoticed", size, at)
			}
		}
		// Cut at a chunk boundary: the new last chunk was not sealed as last.
		if size > ageChunkSize {
			lastChunk := size % ageChunkSize
			if lastChunk == 0 {
				lastChunk = ageChunkSize
			}
			cut := len(obj) - lastChunk - 16
			if _, err := ageOpen(obj[:cut], k, 2<<20); !errors.Is(err, ErrCorrupt) {
				t.Errorf("size %d: truncation at a chunk boundary gave %v", size, err)
			}
		}
	}
	if _, err := ageOpen([]byte("not age at all"), k, 1<<20); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage gave %v", err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	if err := ageEncrypt(&sealed, []age.Recipient{other.Recipient()}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := ageOpen(sealed.Bytes(), k, 1<<20); !errors.Is(err, ErrWrongKey) {
		t.Errorf("another recipient's file gave %v", err)
	}
	if _, err := ageOpen(obj1MiB(t, id), k, 1000); !errors.Is(err, ErrCorrupt) {
		t.Errorf("the size limit was not enforced: %v", err)
	}
}

func obj1MiB(t *testing.T, id *age.X25519Identity) []byte {
	var sealed bytes.Buffer
	if err := ageEncrypt(&sealed, []age.Recipient{id.Recipient()}, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	return sealed.Bytes()
}
