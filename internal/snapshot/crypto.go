package snapshot

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// Hash is the SHA-256 of a block's plaintext, as listed in manifests.
type Hash [32]byte

// String returns the lowercase hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes h as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) {
	b := make([]byte, 64)
	hex.Encode(b, h[:])
	return b, nil
}

// UnmarshalText decodes 64 hex characters.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("block hash %q: want 64 hex characters", b)
	}
	if _, err := hex.Decode(h[:], b); err != nil {
		return fmt.Errorf("block hash %q: %w", b, err)
	}
	return nil
}

// Domain-separation prefixes for the auth-key HMACs (FORMAT.md).
const (
	macBlock      = "block\x00"
	macManifest   = "manifest\x00"
	macConfig     = "config\x00"
	macRecipients = "recipients\x00"
	macStatus     = "status\x00"
)

func mac(key []byte, domain string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(domain))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// objectName maps a block's plaintext hash to its object name: the hash
// itself without encryption, a keyed hash with it, so nobody without the
// auth key can confirm a guess of a block's content from the bucket listing.
func objectName(authKey []byte, h Hash) Hash {
	if len(authKey) == 0 {
		return h
	}
	var n Hash
	copy(n[:], mac(authKey, macBlock, h[:]))
	return n
}

func blockKey(name Hash) string {
	s := name.String()
	return "blocks/" + s[:2] + "/" + s
}

// parseBlockKey returns the object name of a key under blocks/.
func parseBlockKey(key string) (Hash, bool) {
	var n Hash
	if len(key) != len("blocks/xx/")+64 || key[:7] != "blocks/" || key[9] != '/' || key[7:9] != key[10:12] {
		return n, false
	}
	if err := n.UnmarshalText([]byte(key[10:])); err != nil {
		return n, false
	}
	return n, true
}

func ageEncrypt(dst *bytes.Buffer, recipients []age.Recipient, parts ...[]byte) error {
	w, err := age.Encrypt(dst, recipients...)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return fmt.Errorf("encrypt: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	return nil
}

// ageDecrypt decrypts src into dst, refusing plaintexts longer than limit.
func ageDecrypt(dst *bytes.Buffer, src []byte, k Keys, limit int64) error {
	r, err := age.Decrypt(bytes.NewReader(src), k.identities...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return fmt.Errorf("%w: this repository is encrypted; the key in %s does not match it", ErrWrongKey, k.Source())
		}
		return fmt.Errorf("%w: decrypt: %v", ErrCorrupt, err)
	}
	dst.Reset()
	n, err := dst.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("%w: decrypt: %v", ErrCorrupt, err)
	}
	if n > limit {
		return fmt.Errorf("%w: decrypted size exceeds %d bytes", ErrCorrupt, limit)
	}
	return nil
}
