package snapshot

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/poly1305" //nolint:staticcheck // restic's format uses Poly1305-AES
	"golang.org/x/crypto/scrypt"
)

// restic derives its key with scrypt parameters calibrated to take half a
// second, and pays that in every process: hundreds of `restic backup` runs
// would take minutes. cheapenResticKey re-encrypts the repository's master
// key under cheap scrypt parameters (restic's key file format, doc/design.rst
// "Keys, Encryption and MAC"); restic itself then reads it, so a mistake here
// fails the test rather than passing silently.

// resticUserKey is scrypt's output split as restic splits it: AES-256 key,
// then the Poly1305-AES key k and r.
type resticUserKey struct{ enc, macK, macR []byte }

func deriveResticKey(password string, salt []byte, n, r, p int) (resticUserKey, error) {
	b, err := scrypt.Key([]byte(password), salt, n, r, p, 64)
	if err != nil {
		return resticUserKey{}, err
	}
	return resticUserKey{enc: b[:32], macK: b[32:48], macR: b[48:64]}, nil
}

// mac is Poly1305-AES over msg: r clamped, s = AES_k(nonce).
func (k resticUserKey) mac(msg, nonce []byte) ([]byte, error) {
	mask := [16]byte{0xff, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f}
	var key [32]byte
	for i := range 16 {
		key[i] = k.macR[i] & mask[i]
	}
	c, err := aes.NewCipher(k.macK)
	if err != nil {
		return nil, err
	}
	c.Encrypt(key[16:], nonce)
	var out [16]byte
	poly1305.Sum(&out, msg, &key)
	return out[:], nil
}

// open checks and decrypts nonce || AES-256-CTR ciphertext || MAC.
func (k resticUserKey) open(data []byte) ([]byte, error) {
	if len(data) < 32 {
		return nil, fmt.Errorf("restic key data too short")
	}
	nonce, ct, tag := data[:16], data[16:len(data)-16], data[len(data)-16:]
	want, err := k.mac(ct, nonce)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(want, tag) != 1 {
		return nil, fmt.Errorf("restic key MAC mismatch: wrong password or format")
	}
	c, err := aes.NewCipher(k.enc)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCTR(c, nonce).XORKeyStream(pt, ct)
	return pt, nil
}

func (k resticUserKey) seal(pt []byte) ([]byte, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	c, err := aes.NewCipher(k.enc)
	if err != nil {
		return nil, err
	}
	ct := make([]byte, len(pt))
	cipher.NewCTR(c, nonce).XORKeyStream(ct, pt)
	tag, err := k.mac(ct, nonce)
	if err != nil {
		return nil, err
	}
	return append(append(nonce, ct...), tag...), nil
}

// cheapenResticKey replaces the repository's only key file with one whose
// scrypt parameters cost microseconds.
func cheapenResticKey(repo, password string) error {
	files, err := filepath.Glob(filepath.Join(repo, "keys", "*"))
	if err != nil || len(files) != 1 {
		return fmt.Errorf("want one key file in %s, have %v (%v)", repo, files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	var kf map[string]any
	if err := json.Unmarshal(raw, &kf); err != nil {
		return err
	}
	var salt, data []byte
	if err := unmarshalB64(kf["salt"], &salt); err != nil {
		return err
	}
	if err := unmarshalB64(kf["data"], &data); err != nil {
		return err
	}
	old, err := deriveResticKey(password, salt, int(kf["N"].(float64)), int(kf["r"].(float64)), int(kf["p"].(float64)))
	if err != nil {
		return err
	}
	master, err := old.open(data)
	if err != nil {
		return err
	}
	const n, r, p = 1024, 8, 1
	cheap, err := deriveResticKey(password, salt, n, r, p)
	if err != nil {
		return err
	}
	if data, err = cheap.seal(master); err != nil {
		return err
	}
	kf["N"], kf["r"], kf["p"], kf["data"] = n, r, p, data
	out, err := json.Marshal(kf)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(out)
	if err := os.WriteFile(filepath.Join(repo, "keys", hex.EncodeToString(sum[:])), out, 0o600); err != nil {
		return err
	}
	return os.Remove(files[0])
}

func unmarshalB64(v any, dst *[]byte) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("restic key file: want a base64 string, got %T", v)
	}
	return json.Unmarshal([]byte(`"`+s+`"`), dst)
}
