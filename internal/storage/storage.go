// Package storage is the one small interface every bucket backend implements.
// The snapshot engine, the CLI and the receiver reach object storage only through it.
package storage

import (
	"context"
	"io"
	"iter"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// ErrNotExist is returned (wrapped) when an object does not exist.
var ErrNotExist = base.ErrNotExist

// ErrExists is returned (wrapped) by CreateIfAbsent when the object already exists.
var ErrExists = base.ErrExists

// ErrPermanent marks errors that retrying will not fix (bad credentials, no such
// bucket, access denied). Backends wrap such errors so errors.Is(err, ErrPermanent)
// holds; everything else is treated as transient by the retry wrapper.
var ErrPermanent = base.ErrPermanent

// ErrNoSpace marks a write refused because the store is full: a full
// filesystem under a file bucket, a quota, or an S3 store answering
// InsufficientStorage. It comes with ErrPermanent: retrying without freeing
// space does not help.
var ErrNoSpace = base.ErrNoSpace

// ErrNoBucket marks an operation on a bucket that does not exist: an S3
// bucket that was never created, or a file bucket's folder that is missing
// (a typo in the path, or a volume that is not mounted). Backends never
// create the bucket itself. It comes with ErrPermanent.
var ErrNoBucket = base.ErrNoBucket

// ObjectInfo describes one stored object.
type ObjectInfo = base.ObjectInfo

// Bucket is an object store addressed by slash-separated keys, relative to the
// prefix the bucket was opened with.
type Bucket interface {
	// List yields every object whose key starts with prefix, in lexical key order.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// Read opens an object for streaming. Missing objects give ErrNotExist.
	Read(ctx context.Context, key string) (io.ReadCloser, error)
	// Write stores an object, replacing any existing one. size is the exact
	// length of r, or -1 when unknown. The object becomes visible only once
	// complete: a crash never leaves a partial object under key.
	// Pass an io.ReadSeeker (*bytes.Reader, *os.File) when it matters that
	// the write survives a transient failure: WithRetry can only retry a
	// write whose reader it can rewind.
	Write(ctx context.Context, key string, r io.Reader, size int64) error
	// CreateIfAbsent stores an object only if none exists under key, atomically;
	// otherwise it returns ErrExists and leaves the existing object untouched.
	CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error
	// Delete removes an object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// Stat describes one object. Missing objects give ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// String names the bucket for logs, without credentials.
	String() string
}

// ValidateKey reports whether key is a well-formed object key: non-empty,
// slash-separated, relative, with no empty, "." or ".." segments, and no
// backslash or NUL bytes. Every backend accepts exactly these keys, so a
// bucket's content can move between backends unchanged.
func ValidateKey(key string) error { return base.ValidateKey(key) }

// ValidatePrefix reports whether prefix may be passed to List: "" (all), or
// valid complete segments followed by "/" or by the start of a segment.
func ValidatePrefix(prefix string) error { return base.ValidatePrefix(prefix) }
