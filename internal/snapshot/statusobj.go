package snapshot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// Status records (status/...) are plain JSON that anyone with read access
// can parse, wrapped with a tag (FORMAT.md "Status records"):
//
//	{"tag":"<64 hex>","record":J}
//
// where J is the record's JSON and the tag is SHA256(J) in an unencrypted
// repository and HMAC("status\x00" || key || "\x00" || J) in an encrypted
// one, so a record cannot be forged, altered or moved to another key
// without the auth key.
const (
	statusTagPrefix = `{"tag":"`
	statusTagSuffix = `","record":`
	maxStatusSize   = 1 << 20
)

// Trust says how far a status record could be checked.
type Trust int

const (
	// TrustUnverified: an encrypted repository read without a key; the
	// record was not checked and may have been planted.
	TrustUnverified Trust = iota
	// TrustIntact: an unencrypted repository; the checksum detects damage,
	// but anyone with write access could have written the record.
	TrustIntact
	// TrustAuthenticated: its tag was checked with the auth key.
	TrustAuthenticated
)

func (t Trust) String() string {
	switch t {
	case TrustIntact:
		return "intact"
	case TrustAuthenticated:
		return "authenticated"
	}
	return "unverified"
}

func statusTag(k Keys, key string, record []byte) []byte {
	if k.Encrypted() {
		return mac(k.authKey, macStatus, []byte(key), []byte{0}, record)
	}
	sum := sha256.Sum256(record)
	return sum[:]
}

// sealStatus encodes v as the status object stored under key.
func sealStatus(k Keys, key string, v any) ([]byte, error) {
	record, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", key, err)
	}
	var b bytes.Buffer
	b.WriteString(statusTagPrefix)
	b.WriteString(hex.EncodeToString(statusTag(k, key, record)))
	b.WriteString(statusTagSuffix)
	b.Write(record)
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// openStatus checks and decodes the status object obj stored under key
// into v. In an encrypted repository, a record without a valid tag is
// refused when k holds the auth key (ErrCorrupt), and read unverified
// without it. A record with no tag at all (written before tags existed) is
// read as such only in an unencrypted repository.
func openStatus(k Keys, encrypted bool, key string, obj []byte, v any) (Trust, error) {
	record, tag, tagged := splitStatus(obj)
	if !tagged {
		record = obj
	}
	trust, err := checkStatus(k, encrypted, key, record, tag, tagged)
	if err != nil {
		return trust, err
	}
	if err := json.Unmarshal(record, v); err != nil {
		return trust, fmt.Errorf("%w: %s is not a valid record: %v", ErrCorrupt, key, err)
	}
	return trust, nil
}

func checkStatus(k Keys, encrypted bool, key string, record, tag []byte, tagged bool) (Trust, error) {
	switch {
	case encrypted && !k.Encrypted():
		return TrustUnverified, nil
	case encrypted && !tagged:
		return TrustUnverified, fmt.Errorf("%w: %s is not authenticated (it carries no tag): it was not written by otelcol-chroma with this repository's key; do not trust it", ErrCorrupt, key)
	case encrypted:
		if !hmac.Equal(tag, statusTag(k, key, record)) {
			return TrustUnverified, fmt.Errorf("%w: %s failed authentication: it was forged, altered or moved from another key; do not trust it", ErrCorrupt, key)
		}
		return TrustAuthenticated, nil
	case tagged && !bytes.Equal(tag, statusTag(Keys{}, key, record)):
		return TrustUnverified, fmt.Errorf("%w: %s fails its checksum: it was damaged or altered", ErrCorrupt, key)
	}
	return TrustIntact, nil
}

// splitStatus returns the record and tag of a tagged status object.
func splitStatus(obj []byte) (record, tag []byte, ok bool) {
	hexLen := 2 * sha256.Size
	head := len(statusTagPrefix) + hexLen + len(statusTagSuffix)
	body := bytes.TrimSuffix(obj, []byte("\n"))
	if len(body) <= head+1 || !bytes.HasPrefix(body, []byte(statusTagPrefix)) || !bytes.HasSuffix(body, []byte("}")) ||
		string(body[head-len(statusTagSuffix):head]) != statusTagSuffix {
		return nil, nil, false
	}
	tag, err := hex.DecodeString(string(body[len(statusTagPrefix) : len(statusTagPrefix)+hexLen]))
	if err != nil {
		return nil, nil, false
	}
	return body[head : len(body)-1], tag, true
}

// writeStatus stores v under key, replacing the previous record.
func (r *Repository) writeStatus(ctx context.Context, key string, v any) error {
	obj, err := sealStatus(r.keys, key, v)
	if err != nil {
		return err
	}
	if err := r.bucket.Write(ctx, key, bytes.NewReader(obj), int64(len(obj))); err != nil {
		// The bucket's error names the key and the bucket already.
		return fmt.Errorf("%w%s", err, storageHint(err))
	}
	return nil
}

// readStatus reads the record under key into v; found is false when there
// is none.
func (r *Repository) readStatus(ctx context.Context, key string, v any) (found bool, trust Trust, err error) {
	rc, err := r.bucket.Read(ctx, key)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return false, TrustUnverified, nil
		}
		return false, TrustUnverified, fmt.Errorf("read %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	defer rc.Close()
	obj, err := io.ReadAll(io.LimitReader(rc, maxStatusSize))
	if err != nil {
		return false, TrustUnverified, fmt.Errorf("read %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	trust, err = openStatus(r.keys, r.Encrypted(), key, obj, v)
	if err != nil {
		return true, trust, fmt.Errorf("%s in %s: %w", key, r.bucket, err)
	}
	return true, trust, nil
}
