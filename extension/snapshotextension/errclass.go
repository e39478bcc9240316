package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/url"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// errorClass names why an attempt failed, for the log line and alerting,
// and says what to do about it.
type errorClass struct {
	name string
	hint string
}

var (
	classCanceled = errorClass{"canceled", "the collector is shutting down; the attempt left no snapshot, only blocks that prune removes"}
	classTimeout  = errorClass{"timeout", `the attempt ran longer than "timeout": raise it if snapshots of this directory take that long, else check the bucket's throughput`}
	classKey      = errorClass{"key", `check "encryption::writer_key_file" (and "reader_key_file", which retention and prune use): they must be the keys made for this bucket by "otelcol-chroma snapshot keygen"`}
	classPersist  = errorClass{"persist_directory", `check "persist_directory" (Chroma's persist directory, holding chroma.sqlite3, mounted and readable) and that "scratch_directory" has room for one copy of chroma.sqlite3`}
	classChanging = errorClass{"persist_directory_changing", "Chroma persisted during every capture attempt; the next attempt tries again"}
	classCorrupt  = errorClass{"bucket_corrupt", `an object in the bucket is damaged or altered: run "otelcol-chroma snapshot verify --read-data" with this config`}
	classDenied   = errorClass{"bucket_denied", `the bucket refused the request: check "bucket::url" (bucket name, prefix, region) and the credentials and their permissions`}
	classNetwork  = errorClass{"bucket_unreachable", `cannot reach the bucket: check "bucket::url" (endpoint) and the network; the next attempt retries by itself`}
	classOther    = errorClass{"other", `"otelcol-chroma snapshot now --config <this config>" reproduces it`}
)

// classify returns the class of an attempt's error. timedOut says the
// attempt's own deadline passed; shutdown that the collector is stopping.
func classify(err error, timedOut, shutdown bool) errorClass {
	switch {
	case shutdown:
		return classCanceled
	case timedOut || errors.Is(err, context.DeadlineExceeded):
		return classTimeout
	case errors.Is(err, snapshot.ErrKeyRequired), errors.Is(err, snapshot.ErrWrongKey):
		return classKey
	case errors.Is(err, snapshot.ErrKeptChanging):
		return classChanging
	case errors.Is(err, snapshot.ErrCorrupt), errors.Is(err, snapshot.ErrMissing):
		return classCorrupt
	case errors.Is(err, storage.ErrPermanent):
		return classDenied
	case errors.Is(err, snapshot.ErrNotChroma), errors.As(err, new(*fs.PathError)):
		return classPersist
	case errors.As(err, new(*url.Error)), errors.As(err, new(*net.OpError)), errors.As(err, new(*net.DNSError)):
		return classNetwork
	}
	return classOther
}
