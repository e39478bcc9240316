package snapshot

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// An encrypted repository's manifests open only with the reader key, which
// the pod taking snapshots does not hold. The index (FORMAT.md "Snapshot
// index") carries what forget and prune need, sealed with a key derived
// from the auth key that both keys hold.
const (
	indexSuffix = ".index"
	indexMagic  = "OCSI1\n"
	macIndex    = "index\x00"
	maxIndex    = 64 << 20
)

// snapshotIndex is snapshots/<id>.index.
type snapshotIndex struct {
	Format   int       `json:"format"`
	ID       string    `json:"id"`
	Instance string    `json:"instance,omitempty"`
	Created  time.Time `json:"created"`
	// Blocks are the object names of the snapshot's distinct blocks.
	Blocks []Hash `json:"blocks"`
}

func indexKey(id string) string { return snapshotsPrefix + id + indexSuffix }

func (r *Repository) indexAEAD() (cipher.AEAD, error) {
	block, err := aes.NewCipher(mac(r.keys.authKey, macIndex))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// writeIndex stores the index of m; only encrypted repositories have one.
func (r *Repository) writeIndex(ctx context.Context, m *Manifest) error {
	seen := map[Hash]struct{}{}
	idx := snapshotIndex{Format: FormatVersion, ID: m.ID, Instance: m.Instance, Created: m.Created}
	for _, f := range m.Files {
		for _, h := range f.Blocks {
			n := objectName(r.keys.authKey, h)
			if _, ok := seen[n]; !ok {
				seen[n] = struct{}{}
				idx.Blocks = append(idx.Blocks, n)
			}
		}
	}
	sort.Slice(idx.Blocks, func(i, j int) bool { return bytes.Compare(idx.Blocks[i][:], idx.Blocks[j][:]) < 0 })
	js, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	body := enc.EncodeAll(js, nil)
	enc.Close()
	aead, err := r.indexAEAD()
	if err != nil {
		return err
	}
	obj := make([]byte, len(indexMagic)+aead.NonceSize(), len(indexMagic)+aead.NonceSize()+len(body)+aead.Overhead())
	copy(obj, indexMagic)
	if _, err := rand.Read(obj[len(indexMagic):]); err != nil {
		return err
	}
	obj = aead.Seal(obj, obj[len(indexMagic):], body, []byte(m.ID))
	key := indexKey(m.ID)
	if err := r.bucket.Write(ctx, key, bytes.NewReader(obj), int64(len(obj))); err != nil {
		return fmt.Errorf("write index %s in %s; no snapshot was written: %w%s", key, r.bucket, err, storageHint(err))
	}
	return nil
}

// readIndex reads and authenticates the index of snapshot id. A missing
// index (a snapshot taken before indexes existed) gives ErrNotExist.
func (r *Repository) readIndex(ctx context.Context, id string) (*snapshotIndex, error) {
	key := indexKey(id)
	rc, err := r.bucket.Read(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	obj, err := io.ReadAll(io.LimitReader(rc, maxIndex))
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	aead, err := r.indexAEAD()
	if err != nil {
		return nil, err
	}
	hdr := len(indexMagic) + aead.NonceSize()
	if len(obj) < hdr || string(obj[:len(indexMagic)]) != indexMagic {
		return nil, fmt.Errorf("%w: %s in %s is not a snapshot index", ErrCorrupt, key, r.bucket)
	}
	body, err := aead.Open(nil, obj[len(indexMagic):hdr], obj[hdr:], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("%w: %s in %s fails authentication: it was altered, or belongs to another repository", ErrCorrupt, key, r.bucket)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxIndex))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	js, err := dec.DecodeAll(body, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s in %s: %v", ErrCorrupt, key, r.bucket, err)
	}
	var idx snapshotIndex
	if err := json.Unmarshal(js, &idx); err != nil || idx.ID != id {
		return nil, fmt.Errorf("%w: %s in %s does not describe snapshot %s", ErrCorrupt, key, r.bucket, id)
	}
	return &idx, nil
}

// snapshotFacts is what forget and prune need of one listed snapshot:
// from its manifest when it can be read, else from its index.
type snapshotFacts struct {
	instance string
	created  time.Time
	blocks   func(yield func(Hash))
}

// factsOf returns the facts of s, or an error naming why they are unknown
// (wrapping ErrKeyRequired when only the reader key would tell).
func (r *Repository) factsOf(ctx context.Context, s Summary) (*snapshotFacts, error) {
	if s.Err != nil {
		return nil, s.Err
	}
	if m := s.Manifest; m != nil {
		return &snapshotFacts{instance: m.Instance, created: m.Created, blocks: func(yield func(Hash)) {
			for _, f := range m.Files {
				for _, h := range f.Blocks {
					yield(objectName(r.keys.authKey, h))
				}
			}
		}}, nil
	}
	if len(r.keys.authKey) == 0 {
		return nil, fmt.Errorf("%w: this repository (%s) is encrypted; snapshot %s can be read with the writer or reader key only", ErrKeyRequired, r.bucket, s.ID)
	}
	idx, err := r.readIndex(ctx, s.ID)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: snapshot %s has no index (it was taken by an older version); its manifest needs the reader key", ErrKeyRequired, s.ID)
	}
	if err != nil {
		return nil, err
	}
	return &snapshotFacts{instance: idx.Instance, created: idx.Created, blocks: func(yield func(Hash)) {
		for _, n := range idx.Blocks {
			yield(n)
		}
	}}, nil
}

// orphanIndexes lists indexes without a manifest (left by a snapshot
// killed between the two) modified before cutoff.
func (r *Repository) orphanIndexes(ctx context.Context, cutoff time.Time) ([]storage.ObjectInfo, error) {
	manifests := map[string]bool{}
	var indexes []storage.ObjectInfo
	for info, err := range r.bucket.List(ctx, snapshotsPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w%s", snapshotsPrefix, r.bucket, err, storageHint(err))
		}
		if id, ok := strings.CutSuffix(info.Key, manifestSuffix); ok {
			manifests[id] = true
		} else if strings.HasSuffix(info.Key, indexSuffix) && info.Modified.Before(cutoff) {
			indexes = append(indexes, info)
		}
	}
	var out []storage.ObjectInfo
	for _, info := range indexes {
		if !manifests[strings.TrimSuffix(info.Key, indexSuffix)] {
			out = append(out, info)
		}
	}
	return out, nil
}
