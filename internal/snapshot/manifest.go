package snapshot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

const (
	manifestMagic = "OCSM1\n"
	// maxManifestSize bounds what is read and decompressed for one
	// manifest: far beyond the ~70 bytes per MiB of data a manifest needs.
	maxManifestSize = 256 << 20
	idTimeLayout    = "20060102T150405Z"
)

// SQLite copy methods recorded in Manifest.Chroma.SQLiteCopy.
const (
	CopyUnderReadLock = "file-copy-under-read-lock"
	CopyVacuumInto    = "vacuum-into"
)

// Manifest describes one snapshot (FORMAT.md "Manifests").
type Manifest struct {
	Format       int       `json:"format"`
	ID           string    `json:"id"`
	RepositoryID string    `json:"repository_id"`
	Created      time.Time `json:"created"`
	ToolVersion  string    `json:"tool_version"`
	Hostname     string    `json:"hostname"`
	Instance     string    `json:"instance,omitempty"`
	// PersistDir is the base name of the persist directory, not its path.
	PersistDir string      `json:"persist_dir"`
	BlockSize  int         `json:"block_size"`
	Files      []File      `json:"files"`
	Chroma     ChromaFacts `json:"chroma"`
	// SourceCheck is the check of the captured database; nil in manifests
	// written before the check existed.
	SourceCheck *SourceCheck `json:"source_check,omitempty"`
	Timings     Timings      `json:"timings"`
	Stats       Stats        `json:"stats"`
}

// File is one file of a snapshot.
type File struct {
	// Path is relative to the persist directory, slash-separated.
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Mode holds the permission bits.
	Mode    uint32    `json:"mode"`
	ModTime time.Time `json:"mtime"`
	// BlockSize is this file's block size when it differs from the
	// manifest's (format 2); zero means the manifest's.
	BlockSize int `json:"block_size,omitempty"`
	// Blocks are the SHA-256 hashes of the file's blocks, in order.
	Blocks []Hash `json:"blocks"`
}

// ChromaFacts describe the captured database (from the copy, not the live one).
type ChromaFacts struct {
	JournalMode string           `json:"journal_mode"`
	SQLiteCopy  string           `json:"sqlite_copy"`
	Migrations  map[string]int64 `json:"migrations"`
	Collections []Collection     `json:"collections"`
	Segments    []Segment        `json:"segments"`
}

// Collection is a collection and its record count at capture time.
type Collection struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Records int64  `json:"records"`
}

// Segment is a segment and its persisted position at capture time.
type Segment struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Scope      string `json:"scope"`
	Collection string `json:"collection"`
	MaxSeqID   uint64 `json:"max_seq_id"`
}

// Timings of a snapshot. WriterStall is how long Chroma's writers had to
// wait for the SQLite read lock.
type Timings struct {
	Total       time.Duration `json:"total_ns"`
	HNSWCopy    time.Duration `json:"hnsw_copy_ns"`
	SQLiteCopy  time.Duration `json:"sqlite_copy_ns"`
	WriterStall time.Duration `json:"writer_stall_ns"`
	// SourceCheck is the integrity_check of the SQLite copy, run after the
	// read lock is released (not part of WriterStall).
	SourceCheck time.Duration `json:"source_check_ns,omitempty"`
}

// Stats of a snapshot.
type Stats struct {
	// LogicalBytes is the sum of the files' sizes.
	LogicalBytes int64 `json:"logical_bytes"`
	// AddedBytes is what the blocks this snapshot uploaded occupy in the bucket.
	AddedBytes int64 `json:"added_bytes"`
	// BlocksNew and BlocksReused count distinct blocks, uploaded by this
	// snapshot or already stored.
	BlocksNew    int `json:"blocks_new"`
	BlocksReused int `json:"blocks_reused"`
	// CaptureRetries counts capture attempts repeated because a vector
	// segment's max_seq_id moved; FileRereads counts files read again because
	// they changed while being read.
	CaptureRetries int `json:"capture_retries"`
	// FilesUnchanged counts segment files not read because they had not
	// changed since the previous snapshot taken on this machine.
	FilesUnchanged int `json:"files_unchanged,omitempty"`
	FileRereads    int `json:"file_rereads"`
}

// Records is the total record count over all collections.
func (m *Manifest) Records() int64 {
	var n int64
	for _, c := range m.Chroma.Collections {
		n += c.Records
	}
	return n
}

// fileBytes is the total size of the snapshot's files: what a restore writes.
func (m *Manifest) fileBytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// newSnapshotID returns a time-sortable id: UTC time, a dash, 8 random hex.
func newSnapshotID(t time.Time) (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return t.UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(b), nil
}

// parseSnapshotID checks an id's form and returns its time.
func parseSnapshotID(id string) (time.Time, error) {
	ts, suffix, ok := strings.Cut(id, "-")
	if !ok || len(suffix) != 8 {
		return time.Time{}, fmt.Errorf("invalid snapshot id %q: want YYYYMMDDTHHMMSSZ-xxxxxxxx", id)
	}
	if _, err := hex.DecodeString(suffix); err != nil || strings.ToLower(suffix) != suffix {
		return time.Time{}, fmt.Errorf("invalid snapshot id %q: want YYYYMMDDTHHMMSSZ-xxxxxxxx", id)
	}
	t, err := time.Parse(idTimeLayout, ts)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid snapshot id %q: want YYYYMMDDTHHMMSSZ-xxxxxxxx", id)
	}
	return t, nil
}

// CheckID reports whether id is a well-formed snapshot id or "latest", so
// a caller can refuse a mistyped id before touching the bucket.
func CheckID(id string) error {
	if id == "latest" {
		return nil
	}
	_, err := parseSnapshotID(id)
	return err
}

func manifestKey(id string) string { return snapshotsPrefix + id + manifestSuffix }

// validate checks what restore relies on, so a damaged or hostile manifest
// cannot make a restore write outside its target.
func (m *Manifest) validate(id, repoID string) error {
	if m.Format < 1 || m.Format > ManifestFormat {
		return fmt.Errorf("manifest format %d; this version reads formats 1 to %d", m.Format, ManifestFormat)
	}
	if m.ID != id {
		return fmt.Errorf("manifest says id %q but is stored as %q", m.ID, id)
	}
	if repoID != "" && m.RepositoryID != repoID {
		return fmt.Errorf("manifest belongs to repository %q, not this one (%q)", m.RepositoryID, repoID)
	}
	if m.BlockSize < MinBlockSize || m.BlockSize > MaxBlockSize {
		return fmt.Errorf("block size %d out of range", m.BlockSize)
	}
	seen := make(map[string]bool)
	for _, f := range m.Files {
		if err := validRelPath(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("file %q listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 {
			return fmt.Errorf("file %q has negative size", f.Path)
		}
		if f.BlockSize != 0 && (m.Format < 2 || f.BlockSize < minFileBlockSize || f.BlockSize > m.BlockSize) {
			return fmt.Errorf("file %q has block size %d, outside [%d, %d] or in a format 1 manifest", f.Path, f.BlockSize, minFileBlockSize, m.BlockSize)
		}
		bs := int64(m.fileBlockSize(f))
		want := (f.Size + bs - 1) / bs
		if int64(len(f.Blocks)) != want {
			return fmt.Errorf("file %q of %d bytes lists %d blocks, want %d", f.Path, f.Size, len(f.Blocks), want)
		}
	}
	for p := range seen {
		// A file cannot also be a folder of another file.
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if seen[dir] {
				return fmt.Errorf("file %q is also the folder of %q", dir, p)
			}
		}
	}
	return nil
}

func validRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("file path %q is not a clean relative path", p)
	}
	return nil
}

// fileBlockSize is the block size of f's blocks.
func (m *Manifest) fileBlockSize(f File) int {
	if f.BlockSize != 0 {
		return f.BlockSize
	}
	return m.BlockSize
}

// blockLen is the plaintext length of block i of a file.
func blockLen(size int64, blockSize, i int) int {
	return int(min(int64(blockSize), size-int64(i)*int64(blockSize)))
}

// sealManifest encodes m as the stored object (FORMAT.md).
func sealManifest(m *Manifest, k Keys) ([]byte, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	body := enc.EncodeAll(js, nil)
	enc.Close()
	var tag []byte
	if k.Encrypted() {
		var ct bytes.Buffer
		if err := ageEncrypt(&ct, k.recipients, body); err != nil {
			return nil, fmt.Errorf("encrypt manifest: %w", err)
		}
		body = ct.Bytes()
		tag = mac(k.authKey, macManifest, body)
	} else {
		sum := sha256.Sum256(body)
		tag = sum[:]
	}
	out := make([]byte, 0, len(manifestMagic)+len(tag)+len(body))
	out = append(out, manifestMagic...)
	out = append(out, tag...)
	return append(out, body...), nil
}

// openManifest checks and decodes a stored manifest object. With an
// encrypted repository it needs the auth key to authenticate and an
// identity to decrypt.
func openManifest(obj []byte, k Keys, encrypted bool) (*Manifest, error) {
	body, err := manifestBody(obj, k, encrypted)
	if err != nil {
		return nil, err
	}
	if encrypted {
		var pt bytes.Buffer
		if err := ageDecrypt(&pt, body, k, maxManifestSize); err != nil {
			return nil, err
		}
		body = pt.Bytes()
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxManifestSize))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	js, err := dec.DecodeAll(body, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: decompress manifest: %v", ErrCorrupt, err)
	}
	var m Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("%w: parse manifest: %v", ErrCorrupt, err)
	}
	return &m, nil
}

// manifestBody checks a stored manifest's magic and tag and returns its
// body (ciphertext when encrypted). The auth key is enough to
// authenticate an encrypted manifest; decrypting it needs an identity.
func manifestBody(obj []byte, k Keys, encrypted bool) ([]byte, error) {
	hdr := len(manifestMagic) + sha256.Size
	if len(obj) < hdr || string(obj[:len(manifestMagic)]) != manifestMagic {
		return nil, fmt.Errorf("%w: not a manifest (bad magic or truncated to %d bytes)", ErrCorrupt, len(obj))
	}
	tag, body := obj[len(manifestMagic):hdr], obj[hdr:]
	if encrypted {
		if !hmac.Equal(tag, mac(k.authKey, macManifest, body)) {
			return nil, fmt.Errorf("%w: authentication failed: the manifest was truncated or altered", ErrCorrupt)
		}
		return body, nil
	}
	if sum := sha256.Sum256(body); !bytes.Equal(tag, sum[:]) {
		return nil, fmt.Errorf("%w: checksum mismatch: the manifest was truncated or damaged", ErrCorrupt)
	}
	return body, nil
}

// readManifest reads, authenticates, decodes and validates one manifest.
func (r *Repository) readManifest(ctx context.Context, cfg *repoConfig, id string) (*Manifest, error) {
	return r.readManifestAs(ctx, id, cfg.Encrypted, cfg.RepositoryID)
}

// readManifestAs is readManifest for a repository that is encrypted or not
// and has the id repoID ("": any, when config.json is being rebuilt).
func (r *Repository) readManifestAs(ctx context.Context, id string, encrypted bool, repoID string) (*Manifest, error) {
	key := manifestKey(id)
	obj, err := r.readManifestObject(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := openManifest(obj, r.keys, encrypted)
	if err != nil {
		return nil, fmt.Errorf("manifest %s in %s: %w", key, r.bucket, err)
	}
	if err := m.validate(id, repoID); err != nil {
		return nil, fmt.Errorf("%w: manifest %s in %s: %v", ErrCorrupt, key, r.bucket, err)
	}
	return m, nil
}

// readManifestObject reads a manifest object's bytes.
func (r *Repository) readManifestObject(ctx context.Context, id string) ([]byte, error) {
	key := manifestKey(id)
	rc, err := r.bucket.Read(ctx, key)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, fmt.Errorf("%w: snapshot %s (%s in %s)", ErrNotFound, id, key, r.bucket)
		}
		return nil, fmt.Errorf("read manifest %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	defer rc.Close()
	obj, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	return obj, nil
}

// loadManifest resolves id ("latest" for the newest intact snapshot) and
// reads its manifest, naming the operation (what) in errors. skipped says
// why each newer snapshot was passed over for "latest" when an older one
// was found: on an error nothing was passed over for another (the error
// names the damaged ones).
func (r *Repository) loadManifest(ctx context.Context, cfg *repoConfig, what, id string) (m *Manifest, skipped []error, err error) {
	if id == "latest" {
		m, skipped, err = r.latestManifest(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
		return m, skipped, nil
	}
	if err := CheckID(id); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	m, err = r.readManifest(ctx, cfg, id)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", what, id, err)
	}
	return m, nil, nil
}

// Manifest returns the manifest of snapshot id ("latest" for the newest
// intact one).
func (r *Repository) Manifest(ctx context.Context, id string) (*Manifest, error) {
	cfg, err := r.requireReader("reading a manifest")
	if err != nil {
		return nil, err
	}
	if id == "latest" {
		m, _, err := r.latestManifest(ctx, cfg)
		return m, err
	}
	if err := CheckID(id); err != nil {
		return nil, err
	}
	return r.readManifest(ctx, cfg, id)
}
