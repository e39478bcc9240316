package snapshot

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// The age v1 payload (age-encryption.org/v1): a 16-byte nonce, then the
// plaintext in 64 KiB chunks sealed with ChaCha20-Poly1305 under
// HKDF-SHA-256(file key, nonce, "payload"); each chunk's nonce is an 11-byte
// big-endian counter and a byte that is 1 on the last chunk only.
const (
	agePayloadNonceSize = 16
	ageChunkSize        = 64 << 10
)

// ageOpen decrypts an age file held in memory, appending the plaintext to
// dst. It does what age.Decrypt does, header included (age parses and
// authenticates the header and unwraps the file key), but decrypts the
// payload in place into one reused buffer: age's reader allocates a buffer
// per 64 KiB chunk, which for restores of many 1 MiB blocks is most of the
// garbage the process makes. Plaintexts longer than limit are refused.
func ageOpen(dst, file []byte, k Keys, limit int) ([]byte, error) {
	mark := bytes.Index(file, []byte("\n--- "))
	if mark < 0 {
		return nil, fmt.Errorf("%w: decrypt: no age header", ErrCorrupt)
	}
	eol := bytes.IndexByte(file[mark+1:], '\n')
	if eol < 0 {
		return nil, fmt.Errorf("%w: decrypt: truncated age header", ErrCorrupt)
	}
	headerEnd := mark + 1 + eol + 1
	fileKey, err := age.DecryptHeader(file[:headerEnd], k.identities...)
	if err != nil {
		if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
			return nil, fmt.Errorf("%w: this repository is encrypted; the key in %s does not match it", ErrWrongKey, k.Source())
		}
		return nil, fmt.Errorf("%w: decrypt: %v", ErrCorrupt, err)
	}
	payload := file[headerEnd:]
	if len(payload) < agePayloadNonceSize+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: decrypt: truncated age payload", ErrCorrupt)
	}
	key, err := hkdf.Key(sha256.New, fileKey, payload[:agePayloadNonceSize], "payload", chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	sealed := payload[agePayloadNonceSize:]
	var nonce [chacha20poly1305.NonceSize]byte
	for {
		n := min(len(sealed), ageChunkSize+chacha20poly1305.Overhead)
		chunk := sealed[:n]
		sealed = sealed[n:]
		last := len(sealed) == 0
		if last {
			nonce[len(nonce)-1] = 1
		}
		if dst, err = aead.Open(dst, nonce[:], chunk, nil); err != nil {
			return nil, fmt.Errorf("%w: decrypt: a payload chunk does not authenticate (damaged, truncated or altered)", ErrCorrupt)
		}
		if len(dst) > limit {
			return nil, fmt.Errorf("%w: decrypted size exceeds %d bytes", ErrCorrupt, limit)
		}
		if last {
			return dst, nil
		}
		for i := len(nonce) - 2; i >= 0; i-- {
			nonce[i]++
			if nonce[i] != 0 {
				break
			}
		}
	}
}
