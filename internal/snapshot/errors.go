package snapshot

import (
	"errors"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
)

// Errors callers can test with errors.Is. Returned errors wrap them with
// the object, file or key concerned and what to do.
var (
	// ErrNoRepository: the bucket holds no config.json under its prefix, or
	// the bucket itself does not exist.
	ErrNoRepository = errors.New("no snapshot repository")
	// ErrConfigMissing: the bucket holds snapshots or blocks but no
	// config.json. Starting a new repository there would orphan them;
	// RepairConfig rebuilds it.
	ErrConfigMissing = errors.New("config.json is missing")
	// ErrNotFound: no snapshot with the given id.
	ErrNotFound = errors.New("snapshot not found")
	// ErrKeyRequired: the repository is encrypted and the operation needs a
	// key that was not given (or the writer key where the reader key is needed).
	ErrKeyRequired = errors.New("key required")
	// ErrWrongKey: the given key does not belong to this repository, or a key
	// was given for an unencrypted repository.
	ErrWrongKey = errors.New("key does not match the repository")
	// ErrCorrupt: an object failed its hash, authentication or decoding: it
	// was damaged, truncated or altered.
	ErrCorrupt = errors.New("corrupt or altered object")
	// ErrMissing: an object a snapshot references does not exist.
	ErrMissing = errors.New("object missing")
	// ErrTargetNotEmpty: the restore target holds files and Force was not set.
	ErrTargetNotEmpty = errors.New("restore target is not empty")
	// ErrUnsafeTarget: the restore target is a file system's root, or is,
	// holds or lies inside a path the restore must not replace (a file
	// bucket's folder, a key file): replacing it would destroy the backups or
	// the means to read them. Nothing was written.
	ErrUnsafeTarget = errors.New("unsafe restore target")
	// ErrTargetInUse: a running process of this machine (Chroma not
	// stopped) holds files open in the restore target. Nothing was changed.
	ErrTargetInUse = errors.New("restore target is in use")
	// ErrTargetSpace: the restore target's file system has less free space
	// than the snapshot's files need. Nothing was downloaded or changed.
	ErrTargetSpace = errors.New("not enough space for the restore")
	// ErrFutureSnapshot: "latest" was asked for, and the newest snapshot is
	// dated ahead of the clock, so which one is newest is unknown.
	ErrFutureSnapshot = errors.New("newest snapshot is dated in the future")
	// ErrKeptChanging: the persist directory changed during every capture
	// attempt (Chroma kept persisting).
	ErrKeptChanging = errors.New("persist directory kept changing")
	// ErrPersistDir: the persist directory cannot be read (missing, not
	// mounted, no permission).
	ErrPersistDir = errors.New("persist directory unavailable")
	// ErrNotChroma: the directory is not a Chroma persist directory.
	ErrNotChroma = chromadb.ErrNotChroma
	// ErrRestoreCheck: the restored database failed its integrity check or
	// does not match the manifest.
	ErrRestoreCheck = errors.New("restored data failed its check")
	// ErrSourceCorrupt: the live chroma.sqlite3 failed its check when the
	// snapshot was taken (Manifest.SourceDamaged).
	ErrSourceCorrupt = errors.New("source database is damaged")
	// ErrVanished: a snapshot that a status record names as an instance's
	// newest is missing from the bucket: it was deleted outside retention.
	ErrVanished = errors.New("recorded snapshot is missing from the bucket")
	// ErrBucket marks errors of the bucket itself (unreachable, refused,
	// full), as opposed to the persist directory or the keys.
	ErrBucket = errors.New("bucket error")
)
