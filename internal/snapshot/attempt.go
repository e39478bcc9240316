package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
)

// attemptsPrefix holds one status record per instance (FORMAT.md "Status
// records"), so replicas and instances never overwrite each other's.
const attemptsPrefix = "status/attempts/"

// statusWriteTimeout bounds writing an attempt's record, which also runs
// after the attempt's context has ended (a cancelled attempt is recorded
// too), so that a slow bucket never holds up a shutdown for long.
const statusWriteTimeout = 5 * time.Second

// Outcomes of an attempt.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Error classes of a failed attempt (AttemptRecord.ErrorClass), derived
// from the error with errors.Is.
const (
	ClassSourceCorrupt = "source_corrupt" // the live chroma.sqlite3 is damaged
	ClassSource        = "source"         // persist directory missing, unreadable, or not Chroma's
	ClassKeptChanging  = "kept_changing"  // Chroma persisted during every capture attempt
	ClassKey           = "key"            // missing or wrong key
	ClassBucket        = "bucket"         // the bucket failed (unreachable, refused, full)
	ClassRepository    = "repository"     // the repository's objects are damaged or inconsistent
	ClassCancelled     = "cancelled"      // the caller stopped the attempt
	ClassTimeout       = "timeout"        // the attempt ran out of time
	ClassOther         = "other"
)

// ErrorClass maps an attempt's error to its class; "" for nil.
func ErrorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrSourceCorrupt), errors.Is(err, chromadb.ErrDamaged):
		return ClassSourceCorrupt
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, context.Canceled):
		return ClassCancelled
	case errors.Is(err, ErrKeyRequired), errors.Is(err, ErrWrongKey):
		return ClassKey
	case errors.Is(err, ErrKeptChanging):
		return ClassKeptChanging
	case errors.Is(err, ErrBucket):
		return ClassBucket
	case errors.Is(err, ErrPersistDir), errors.Is(err, ErrNotChroma):
		return ClassSource
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNoRepository), errors.Is(err, ErrConfigMissing):
		return ClassRepository
	}
	return ClassOther
}

// AttemptRecord is status/attempts/<instance>.json: the outcome of an
// instance's latest snapshot attempt, readable without any key.
type AttemptRecord struct {
	Format       int    `json:"format"`
	RepositoryID string `json:"repository_id"`
	Instance     string `json:"instance,omitempty"`
	// Hostname is recorded in unencrypted repositories only.
	Hostname   string    `json:"hostname,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Outcome    string    `json:"outcome"`
	ErrorClass string    `json:"error_class,omitempty"`
	// Error is the message, in unencrypted repositories only: it may name
	// paths and collections.
	Error string `json:"error,omitempty"`
	// SnapshotID is the snapshot this attempt stored: on success, and for a
	// damaged source (stored, marked damaged).
	SnapshotID string `json:"snapshot_id,omitempty"`
	// LastSuccess and LastSuccessSnapshotID carry the instance's most
	// recent successful attempt forward.
	LastSuccess           time.Time `json:"last_success,omitzero"`
	LastSuccessSnapshotID string    `json:"last_success_snapshot_id,omitempty"`
	// LastSuccessDuration, LastSuccessWriterStall, LastSuccessLogicalBytes
	// and LastSuccessAddedBytes are that success's figures, carried forward
	// with it, so that the newest good snapshot's size and timings stay
	// readable without a key after later failures.
	LastSuccessDuration     time.Duration `json:"last_success_duration_ns,omitempty"`
	LastSuccessWriterStall  time.Duration `json:"last_success_writer_stall_ns,omitempty"`
	LastSuccessLogicalBytes int64         `json:"last_success_logical_bytes,omitempty"`
	LastSuccessAddedBytes   int64         `json:"last_success_added_bytes,omitempty"`
	ConsecutiveFailures     int           `json:"consecutive_failures"`
	Duration                time.Duration `json:"duration_ns"`
	WriterStall             time.Duration `json:"writer_stall_ns"`
	LogicalBytes            int64         `json:"logical_bytes"`
	AddedBytes              int64         `json:"added_bytes"`
	ToolVersion             string        `json:"tool_version"`
}

// AttemptStatus is one instance's record as read from the bucket.
type AttemptStatus struct {
	Key    string
	Record *AttemptRecord
	Trust  Trust
	// Err says why the record cannot be trusted (forged, altered, damaged);
	// Record is nil then.
	Err error
}

// AttemptKey is the key of an instance's record: the name escaped so that
// any instance label gives one valid key of its own.
func AttemptKey(instance string) string {
	var b strings.Builder
	for i := 0; i < len(instance); i++ {
		c := instance[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return attemptsPrefix + b.String() + ".json"
}

// AttemptInstance is the name the attempts of a snapshot taken with
// instance as SnapshotOptions.Instance are recorded under on this host.
func AttemptInstance(instance string) string {
	host, _ := os.Hostname()
	return attemptInstance(instance, host)
}

// attemptInstance is the name an attempt is recorded under: the instance
// label, or the host name without one.
func attemptInstance(instance, host string) string {
	switch {
	case instance != "":
		return instance
	case host != "":
		return host
	}
	return "unknown"
}

// recordAttempt writes the attempt's status record and reports whether it
// did. A repository that does not exist (yet) gets none, and neither does an
// encrypted one written without its key: such a record could not be
// authenticated.
func (r *Repository) recordAttempt(ctx context.Context, opts SnapshotOptions, start time.Time, m *Manifest, err error) bool {
	log := discardLogger(opts.Logger)
	cfg := r.config()
	if cfg == nil || (cfg.Encrypted && !r.keys.Encrypted()) {
		log.Debug("no status record for this attempt: the repository does not exist or no key was given")
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusWriteTimeout)
	defer cancel()
	host, _ := os.Hostname()
	key := AttemptKey(attemptInstance(opts.Instance, host))
	var prev AttemptRecord
	if _, _, perr := r.readStatus(ctx, key, &prev); perr != nil {
		log.Warn("the previous status record cannot be trusted; counting failures from this attempt", "key", key, "error", perr)
		prev = AttemptRecord{}
	}
	rec := newAttemptRecord(cfg, opts, host, start, m, err)
	rec.carryForward(&prev, opts.UnrecordedFailures)
	if cfg.Encrypted {
		// Readable without a key: nothing beyond what the operator's
		// instance label and the record's numbers say.
		rec.Error, rec.Hostname = "", ""
	}
	if werr := r.writeStatus(ctx, key, rec); werr != nil {
		log.Warn("could not write this attempt's status record", "key", key, "error", werr)
		return false
	}
	return true
}

func newAttemptRecord(cfg *repoConfig, opts SnapshotOptions, host string, start time.Time, m *Manifest, err error) *AttemptRecord {
	rec := &AttemptRecord{
		Format:       FormatVersion,
		RepositoryID: cfg.RepositoryID,
		Instance:     opts.Instance,
		Hostname:     host,
		Started:      start.UTC(),
		Finished:     time.Now().UTC(),
		Outcome:      OutcomeSuccess,
		ErrorClass:   ErrorClass(err),
		ToolVersion:  toolVersion(opts.ToolVersion),
	}
	rec.Duration = rec.Finished.Sub(rec.Started)
	if err != nil {
		rec.Outcome, rec.Error = OutcomeFailure, err.Error()
	}
	if m != nil {
		rec.SnapshotID = m.ID
		rec.WriterStall = m.Timings.WriterStall
		rec.LogicalBytes, rec.AddedBytes = m.Stats.LogicalBytes, m.Stats.AddedBytes
	}
	return rec
}

// carryForward fills what the previous record knew: the last success and
// the count of failures since, plus the failures unrecorded since prev.
func (rec *AttemptRecord) carryForward(prev *AttemptRecord, unrecorded int) {
	if rec.Outcome == OutcomeSuccess {
		rec.LastSuccess, rec.LastSuccessSnapshotID = rec.Finished, rec.SnapshotID
		rec.LastSuccessDuration, rec.LastSuccessWriterStall = rec.Duration, rec.WriterStall
		rec.LastSuccessLogicalBytes, rec.LastSuccessAddedBytes = rec.LogicalBytes, rec.AddedBytes
		return
	}
	rec.LastSuccess, rec.LastSuccessSnapshotID = prev.LastSuccess, prev.LastSuccessSnapshotID
	rec.LastSuccessDuration, rec.LastSuccessWriterStall = prev.LastSuccessDuration, prev.LastSuccessWriterStall
	rec.LastSuccessLogicalBytes, rec.LastSuccessAddedBytes = prev.LastSuccessLogicalBytes, prev.LastSuccessAddedBytes
	rec.ConsecutiveFailures = prev.ConsecutiveFailures + max(unrecorded, 0) + 1
}

// Attempts reads every instance's latest attempt record, ordered by key.
// It needs no key; with one (writer or reader) the records of an encrypted
// repository are authenticated, and a record that fails is returned with
// Err set rather than dropped.
func (r *Repository) Attempts(ctx context.Context) ([]AttemptStatus, error) {
	var keys []string
	for info, err := range r.bucket.List(ctx, attemptsPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w%s", attemptsPrefix, r.bucket, err, storageHint(err))
		}
		if strings.HasSuffix(info.Key, ".json") && !strings.Contains(strings.TrimPrefix(info.Key, attemptsPrefix), "/") {
			keys = append(keys, info.Key)
		}
	}
	out := make([]AttemptStatus, 0, len(keys))
	for _, key := range keys {
		var rec AttemptRecord
		found, trust, err := r.readStatus(ctx, key, &rec)
		switch {
		case errors.Is(err, ErrBucket):
			return nil, err
		case err != nil:
			out = append(out, AttemptStatus{Key: key, Trust: trust, Err: err})
		case found:
			out = append(out, AttemptStatus{Key: key, Record: &rec, Trust: trust})
		}
	}
	return out, nil
}
