package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"errors"
	"io/fs"
	"net"
	"net/url"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// errorClass says why a step failed. name is the class (error_class in the
// log line); summary goes into the log message; hint says what to do.
type errorClass struct {
	name    string
	summary string
	hint    string
}

var (
	classCancelled = errorClass{"cancelled", "cancelled by shutdown",
		"nothing: the collector is stopping; a cancelled snapshot leaves no snapshot, only blocks that prune removes"}
	classTimeout = errorClass{"timeout", `ran longer than "timeout"`,
		`raise "timeout" if snapshots of this directory take that long, else check the bucket's throughput`}
	classKey = errorClass{"key", "the key does not fit the bucket",
		`check "encryption::writer_key_file" (and "reader_key_file", which retention and prune use): they must be the keys made for this bucket by "otelcol-chroma snapshot keygen"`}
	classKeptChanging = errorClass{"kept_changing", "Chroma persisted during every capture try",
		"nothing: the next attempt tries again; if it keeps happening, schedule snapshots away from bulk writes"}
	classRepository = errorClass{"repository", "an object in the bucket is damaged",
		`run "otelcol-chroma snapshot verify --read-data" with this config`}
	classBucketDenied = errorClass{"bucket", "the bucket refused the request",
		`check "bucket::url" (bucket name, prefix, region) and the credentials and their permissions`}
	classBucketFull = errorClass{"bucket", "the bucket is full",
		`free space in the bucket or grow its volume or quota (retention and prune free what older snapshots hold); nothing is wrong with the credentials; the next attempt retries by itself`}
	classBucketUnreachable = errorClass{"bucket", "cannot reach the bucket",
		`check "bucket::url" (endpoint) and the network; the next attempt retries by itself`}
	classSourceCorrupt = errorClass{"source_corrupt", "chroma.sqlite3 failed its integrity check",
		`the snapshot was stored but is marked damaged; stop writes, keep the persist directory as it is, and follow the README's restore runbook for a snapshot marked SOURCE DAMAGED`}
	classSource = errorClass{"source", "cannot read the persist directory",
		`check "persist_directory" (Chroma's persist directory, holding chroma.sqlite3, mounted and readable) and that "scratch_directory" has room for one copy of chroma.sqlite3`}
	classScratch = errorClass{"scratch", "the scratch directory is missing or lacks room for the restore",
		`point "drill::scratch_directory" (or "scratch_directory") at an existing folder on a volume with room for the whole snapshot plus a tenth`}
	classRestoreCheck = errorClass{"restore_check", "the restored database failed its checks",
		`run "otelcol-chroma snapshot verify --read-data" and "snapshot drill" with this config; take a new snapshot and keep this one for analysis`}
	classChroma = errorClass{"chroma", "Chroma did not serve the restored copy as the manifest says",
		`check "drill::chroma_command" (the chroma executable, of the version that runs in production); the error names the collection and what Chroma answered`}
	classOther = errorClass{"other", "unexpected error",
		`"otelcol-chroma snapshot now --config <this config>" reproduces it`}
)

// classify returns the class of a step's error: the engine's error class
// (snapshot.ErrorClass, the one recorded in the bucket's status record) with
// what to do about it. timedOut says the step's own deadline passed;
// shutdown that the collector is stopping. Errors from before the engine
// ran (opening the bucket) are classified by their kind.
func classify(err error, timedOut, shutdown bool) errorClass {
	switch {
	case shutdown:
		return classCancelled
	case timedOut:
		return classTimeout
	}
	switch snapshot.ErrorClass(err) {
	case snapshot.ClassCancelled:
		return classCancelled
	case snapshot.ClassTimeout:
		return classTimeout
	case snapshot.ClassKey:
		return classKey
	case snapshot.ClassKeptChanging:
		return classKeptChanging
	case snapshot.ClassRepository:
		return classRepository
	case snapshot.ClassSourceCorrupt:
		return classSourceCorrupt
	case snapshot.ClassSource:
		return classSource
	case snapshot.ClassBucket:
		return bucketClass(err)
	}
	switch {
	case errors.Is(err, snapshot.ErrMissing):
		return classRepository
	case errors.As(err, new(*fs.PathError)):
		return classSource
	case errors.Is(err, storage.ErrPermanent),
		errors.As(err, new(*url.Error)), errors.As(err, new(*net.OpError)), errors.As(err, new(*net.DNSError)):
		return bucketClass(err)
	}
	return classOther
}

// classifyDrill is classify for a drill's error, with the drill's own
// classes (snapshot.DrillErrorClass).
func classifyDrill(err error, timedOut, shutdown bool) errorClass {
	if !shutdown && !timedOut {
		switch snapshot.DrillErrorClass(err) {
		case snapshot.ClassScratch:
			return classScratch
		case snapshot.ClassRestoreCheck:
			return classRestoreCheck
		case snapshot.ClassChroma:
			return classChroma
		}
	}
	return classify(err, timedOut, shutdown)
}

// bucketClass tells a full bucket and one that refused from one that could
// not be reached.
func bucketClass(err error) errorClass {
	switch {
	case errors.Is(err, storage.ErrNoSpace):
		return classBucketFull
	case errors.Is(err, storage.ErrPermanent):
		return classBucketDenied
	}
	return classBucketUnreachable
}
