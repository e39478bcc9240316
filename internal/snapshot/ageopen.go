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

// ageOpen decrypts an age file held in memory, in place: the plaintext
// overwrites file from its start, and the returned slice aliases file. It
// does what age.Decrypt does, header included (age parses and authenticates
// the header and unwraps the file key), but allocates no buffers: age's
// reader allocates one per 64 KiB chunk, which for restores of many 1 MiB
// blocks is most of the garbage the process would make. Plaintexts longer
// than limit are refused. On error, file's content is undefined.
func ageOpen(file []byte, k Keys, limit int) ([]byte, error) {
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
	// Each chunk is opened where it lies, then moved down to the end of the
	// plaintext so far; the plaintext never catches up with the chunks not
	// yet read, since every sealed chunk is longer than its plaintext.
	at := headerEnd + agePayloadNonceSize
	out := 0
	var nonce [chacha20poly1305.NonceSize]byte
	for {
		n := min(len(file)-at, ageChunkSize+chacha20poly1305.Overhead)
		chunk := file[at : at+n]
		at += n
		last := at == len(file)
		if last {
			nonce[len(nonce)-1] = 1
		}
		plain, err := aead.Open(chunk[:0], nonce[:], chunk, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: decrypt: a payload chunk does not authenticate (damaged, truncated or altered)", ErrCorrupt)
		}
		if out+len(plain) > limit {
			return nil, fmt.Errorf("%w: decrypted size exceeds %d bytes", ErrCorrupt, limit)
		}
		out += copy(file[out:], plain)
		if last {
			return file[:out], nil
		}
		for i := len(nonce) - 2; i >= 0; i-- {
			nonce[i]++
			if nonce[i] != 0 {
				break
			}
		}
	}
}
