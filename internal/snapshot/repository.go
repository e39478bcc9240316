package snapshot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// FormatVersion is the bucket format this package writes and reads:
// config.json, status records and indexes.
const FormatVersion = 1

// ManifestFormat is the manifest format this package writes. It reads
// manifests of format 1 (one block size for every file) and 2 (a file may
// have its own, smaller block size; FORMAT.md "Manifests").
const ManifestFormat = 2

const (
	configKey        = "config.json"
	blocksPrefix     = "blocks/"
	snapshotsPrefix  = "snapshots/"
	manifestSuffix   = ".manifest"
	statusPrefix     = "status/"
	restoreTestKey   = statusPrefix + "restore-test.json"
	identityCheckMsg = "otelcol-chroma identity check "

	// DefaultBlockSize is the block size of new repositories.
	DefaultBlockSize = 1 << 20
	// MinBlockSize and MaxBlockSize bound SnapshotOptions.BlockSize.
	MinBlockSize = 64 << 10
	MaxBlockSize = 64 << 20
	// DatabaseBlockSize is the block size of chroma.sqlite3 in new
	// snapshots. Chroma's writes change 4 KiB pages all over the database
	// (its metadata and full-text indexes are keyed by value), so smaller
	// blocks store far fewer unchanged bytes per snapshot
	// (BENCHMARKS.md "Real Chroma data").
	DatabaseBlockSize = 128 << 10
	// minFileBlockSize bounds a manifest's per-file block size.
	minFileBlockSize = 4 << 10

	maxConfigSize = 1 << 20
)

// repoConfig is config.json (FORMAT.md).
type repoConfig struct {
	Format          int       `json:"format"`
	RepositoryID    string    `json:"repository_id"`
	Created         time.Time `json:"created"`
	BlockSize       int       `json:"block_size"`
	Encrypted       bool      `json:"encrypted"`
	KeyCheck        string    `json:"key_check,omitempty"`
	RecipientsCheck string    `json:"recipients_check,omitempty"`
	IdentityCheck   string    `json:"identity_check,omitempty"`
}

func (c *repoConfig) canonical() []byte {
	return fmt.Appendf(nil, "format=%d\nrepository_id=%s\nblock_size=%d\nencrypted=%t\n",
		c.Format, c.RepositoryID, c.BlockSize, c.Encrypted)
}

func recipientsCheck(k Keys) string {
	var b bytes.Buffer
	for _, id := range k.recipientIDs {
		b.WriteString(id + "\n")
	}
	return hex.EncodeToString(mac(k.authKey, macRecipients, b.Bytes()))
}

// Repository is a snapshot repository in a bucket: config.json, blocks and
// manifests under the bucket's prefix. Its methods are safe for concurrent use.
type Repository struct {
	bucket storage.Bucket // raw, with failures marked ErrBucket
	raw    storage.Bucket
	keys   Keys

	lockOpts LockOptions

	mu  sync.Mutex
	cfg *repoConfig // nil until the repository exists
}

// OpenOption configures Open.
type OpenOption func(*Repository)

// WithLockOptions sets how the repository's bucket locks expire, refresh
// and wait.
func WithLockOptions(o LockOptions) OpenOption {
	return func(r *Repository) { r.lockOpts = o }
}

// Open opens the repository in bucket with keys (the zero Keys for an
// unencrypted repository). A bucket with no repository yet opens fine: the
// first Snapshot creates it, and List and Status report it empty.
//
// Open fails when the keys do not fit the repository: a key given for an
// unencrypted repository, a wrong auth key, a writer key whose recipients
// differ from the repository's, or a reader key that cannot decrypt it.
func Open(ctx context.Context, bucket storage.Bucket, keys Keys, opts ...OpenOption) (*Repository, error) {
	r := &Repository{bucket: classifiedBucket{bucket}, raw: bucket, keys: keys}
	for _, o := range opts {
		o(r)
	}
	cfg, err := r.readConfig(ctx)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return r, nil
		}
		return nil, err
	}
	if err := r.checkKeys(cfg); err != nil {
		return nil, err
	}
	r.cfg = cfg
	return r, nil
}

// Bucket returns the bucket the repository lives in.
func (r *Repository) Bucket() storage.Bucket { return r.raw }

func (r *Repository) config() *repoConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// Initialized reports whether the bucket holds a repository (config.json).
func (r *Repository) Initialized() bool { return r.config() != nil }

// Encrypted reports whether the repository is encrypted. Before the
// repository exists, it reports whether it will be.
func (r *Repository) Encrypted() bool {
	if c := r.config(); c != nil {
		return c.Encrypted
	}
	return r.keys.Encrypted()
}

// ID returns the repository id, or "" before the repository exists.
func (r *Repository) ID() string {
	if c := r.config(); c != nil {
		return c.RepositoryID
	}
	return ""
}

func (r *Repository) readConfig(ctx context.Context) (*repoConfig, error) {
	rc, err := r.bucket.Read(ctx, configKey)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, err
		}
		// The bucket's error already names the operation, object and bucket.
		return nil, fmt.Errorf("open the snapshot repository: %w%s", err, storageHint(err))
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxConfigSize))
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w%s", configKey, r.bucket, err, storageHint(err))
	}
	var cfg repoConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%w: %s in %s is not valid JSON: %v", ErrCorrupt, configKey, r.bucket, err)
	}
	if cfg.Format > FormatVersion {
		return nil, fmt.Errorf("%s in %s has format %d; this version reads format %d only: upgrade otelcol-chroma", configKey, r.bucket, cfg.Format, FormatVersion)
	}
	if cfg.Format < 1 || cfg.RepositoryID == "" || cfg.BlockSize < MinBlockSize || cfg.BlockSize > MaxBlockSize {
		return nil, fmt.Errorf("%w: %s in %s is incomplete (format %d, repository id %q, block size %d)", ErrCorrupt, configKey, r.bucket, cfg.Format, cfg.RepositoryID, cfg.BlockSize)
	}
	return &cfg, nil
}

func (r *Repository) checkKeys(cfg *repoConfig) error {
	k := r.keys
	switch {
	case !cfg.Encrypted && k.Encrypted():
		return fmt.Errorf("%w: the repository in %s is not encrypted, but a key (%s) was given; refusing to mix: use another bucket prefix for encrypted snapshots, or give no key", ErrWrongKey, r.bucket, k.Source())
	case !cfg.Encrypted || !k.Encrypted():
		return nil // an encrypted repository without keys: names and sizes only
	}
	want, err := hex.DecodeString(cfg.KeyCheck)
	if err != nil || !hmac.Equal(want, mac(k.authKey, macConfig, cfg.canonical())) {
		return fmt.Errorf("%w: this repository (%s) is encrypted; the auth key in %s does not match it (or its config.json was altered)", ErrWrongKey, r.bucket, k.Source())
	}
	if k.CanWrite() && !hmac.Equal([]byte(cfg.RecipientsCheck), []byte(recipientsCheck(k))) {
		return fmt.Errorf("%w: the recipients in %s differ from the ones this repository (%s) was created with; snapshots written with it could not be restored with the repository's reader key", ErrWrongKey, k.Source(), r.bucket)
	}
	if k.CanRead() {
		ct, err := base64.StdEncoding.DecodeString(cfg.IdentityCheck)
		if err != nil {
			return fmt.Errorf("%w: identity_check in %s of %s: %v", ErrCorrupt, configKey, r.bucket, err)
		}
		var pt bytes.Buffer
		if err := ageDecrypt(&pt, ct, k, 1024); err != nil {
			if errors.Is(err, ErrWrongKey) {
				return fmt.Errorf("%w: this repository (%s) is encrypted; the key in %s does not match it", ErrWrongKey, r.bucket, k.Source())
			}
			return fmt.Errorf("identity_check in %s of %s: %w", configKey, r.bucket, err)
		}
		if pt.String() != identityCheckMsg+cfg.RepositoryID {
			return fmt.Errorf("%w: identity_check in %s of %s decrypts to unexpected content", ErrCorrupt, configKey, r.bucket)
		}
	}
	return nil
}

// ensureConfig returns the repository config, creating config.json when the
// repository does not exist yet. Two writers racing to create it agree on
// whichever was stored first.
func (r *Repository) ensureConfig(ctx context.Context, blockSize int) (*repoConfig, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg != nil {
		return r.cfg, nil
	}
	if cfg, err := r.configOfExistingData(ctx); cfg != nil || err != nil {
		return cfg, err
	}
	if blockSize == 0 {
		blockSize = DefaultBlockSize
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("generate repository id: %w", err)
	}
	cfg, err := newRepoConfig(r.keys, hex.EncodeToString(id), time.Now(), blockSize)
	if err != nil {
		return nil, err
	}
	data, err := cfg.marshal()
	if err != nil {
		return nil, err
	}
	err = r.bucket.CreateIfAbsent(ctx, configKey, bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, storage.ErrExists) {
		return nil, fmt.Errorf("create %s in %s: %w%s", configKey, r.bucket, err, storageHint(err))
	}
	if errors.Is(err, storage.ErrExists) {
		if cfg, err = r.readCheckedConfig(ctx); err != nil {
			return nil, err
		}
	}
	r.cfg = cfg
	return cfg, nil
}

// readCheckedConfig reads config.json and checks the keys against it.
func (r *Repository) readCheckedConfig(ctx context.Context) (*repoConfig, error) {
	cfg, err := r.readConfig(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.checkKeys(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// newRepoConfig builds config.json for a repository with the given id,
// creation time and block size; with an encrypted k it adds the key checks,
// which need the writer key.
func newRepoConfig(k Keys, id string, created time.Time, blockSize int) (*repoConfig, error) {
	cfg := &repoConfig{
		Format:       FormatVersion,
		RepositoryID: id,
		Created:      created.UTC().Truncate(time.Second),
		BlockSize:    blockSize,
		Encrypted:    k.Encrypted(),
	}
	if !cfg.Encrypted {
		return cfg, nil
	}
	if !k.CanWrite() {
		return nil, fmt.Errorf("%w: creating an encrypted repository's config.json needs the writer key, not %s", ErrKeyRequired, k.Source())
	}
	cfg.KeyCheck = hex.EncodeToString(mac(k.authKey, macConfig, cfg.canonical()))
	cfg.RecipientsCheck = recipientsCheck(k)
	var ct bytes.Buffer
	if err := ageEncrypt(&ct, k.recipients, []byte(identityCheckMsg+cfg.RepositoryID)); err != nil {
		return nil, err
	}
	cfg.IdentityCheck = base64.StdEncoding.EncodeToString(ct.Bytes())
	return cfg, nil
}

func (c *repoConfig) marshal() ([]byte, error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// requireConfig returns the config of an existing repository.
func (r *Repository) requireConfig() (*repoConfig, error) {
	cfg := r.config()
	if cfg == nil {
		return nil, r.noRepositoryErr()
	}
	return cfg, nil
}

// requireReader checks that the repository's manifests and blocks can be read.
func (r *Repository) requireReader(what string) (*repoConfig, error) {
	cfg, err := r.requireConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Encrypted && !r.keys.CanRead() {
		if r.keys.Encrypted() {
			return nil, fmt.Errorf("%w: %s needs the reader key; %s is a writer key", ErrKeyRequired, what, r.keys.Source())
		}
		return nil, fmt.Errorf("%w: this repository (%s) is encrypted; %s needs the reader key", ErrKeyRequired, r.bucket, what)
	}
	return cfg, nil
}

// storageHint adds what to do to a bucket error.
func storageHint(err error) string {
	switch {
	case errors.Is(err, storage.ErrNoSpace):
		return " (the bucket's storage is full: free space or grow the volume or quota, then retry; nothing is wrong with the credentials)"
	case errors.Is(err, storage.ErrNoBucket):
		return "" // the error says what is missing and what to check
	case errors.Is(err, storage.ErrPermanent):
		return " (check the bucket's credentials, name and permissions)"
	case errors.Is(err, storage.ErrNotExist):
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return ""
	}
	return " (cannot reach the bucket: check its endpoint and the network, then retry)"
}
