// Package collrestore copies one collection from a Chroma serving a
// restored snapshot into a live Chroma, through both servers' HTTP API:
// records in pages (bounded memory), written in batches the target
// accepts, resumable after an interruption, then checked (counts, every
// id, sampled records bit for bit, a nearest-neighbour query).
package collrestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// Mode says what to do with a collection of the same name in the target.
type Mode string

const (
	// ModeCreate refuses a collection that exists (the default).
	ModeCreate Mode = "create"
	// ModeUpsert merges into it: the snapshot's version of each of its
	// records replaces the target's, other records stay.
	ModeUpsert Mode = "upsert"
)

// PhaseCopy is the progress phase of the copy: Done and Total count records.
const PhaseCopy snapshot.Phase = "copy-records"

// Errors of a collection restore (errors.Is).
var (
	// ErrExists: create mode, and the target already has the collection.
	ErrExists = errors.New("the collection already exists in the target Chroma")
	// ErrIncompatible: upsert into a collection whose dimension or distance
	// function differs from the snapshot's.
	ErrIncompatible = errors.New("the target collection does not match the snapshot's")
	// ErrTargetUnreachable: the target Chroma did not answer.
	ErrTargetUnreachable = errors.New("target Chroma unreachable")
	// ErrTargetAuth: the target refused the token (HTTP 401 or 403).
	ErrTargetAuth = errors.New("target Chroma refused the credentials")
	// ErrNoDatabase: the target has no such tenant or database.
	ErrNoDatabase = errors.New("no such tenant or database in the target Chroma")
	// ErrMismatch: after the copy, the target does not hold what the
	// snapshot holds (counts, an id, a record's content, a query).
	ErrMismatch = errors.New("the restored collection does not match the snapshot")
	// ErrTargetFailing: the target answered a write (or the read of which
	// ids it holds) with a server error (HTTP 5xx). Chroma 1.0's
	// single-node server answers every write so after a client was killed
	// mid-write, until it is restarted.
	ErrTargetFailing = errors.New("the target Chroma failed the request")
)

const (
	// DefaultBatchSize is the most records read or written at once, unless
	// a server allows fewer.
	DefaultBatchSize = 1000
	// maxBatchFloats bounds a batch's embedding values (about 12 bytes of
	// JSON each), so a page of large embeddings stays a few tens of MiB.
	maxBatchFloats = 1 << 20
	// spotChecks is how many records are compared in full after the copy.
	spotChecks = 16
	// EmbeddingsExact: every checked embedding equals the snapshot's bit
	// for bit.
	EmbeddingsExact = "bit-exact"
	// EmbeddingsRenormalized: a cosine collection, whose embeddings Chroma
	// normalizes again on write; each checked component is within
	// cosineULPs float32 steps of the snapshot's.
	EmbeddingsRenormalized = "renormalized by Chroma (cosine): within 4 float32 steps"
	// tempMarker separates a collection's name from the suffix of the
	// temporary name it is restored under.
	tempMarker = ".restoring-"
)

// Options configure one collection's restore.
type Options struct {
	// Source serves the restored snapshot, in the collection's tenant and
	// database; Target is the live Chroma, in the tenant and database to
	// restore into.
	Source, Target *chromaapi.Client
	// Name is the collection in the snapshot; As its name in the target
	// (default Name).
	Name, As string
	Mode     Mode
	// BatchSize caps records per read and write (default DefaultBatchSize;
	// lowered to what the servers accept).
	BatchSize int
	// SnapshotID names the temporary collection of a create, so that a
	// re-run of the same restore recognises it.
	SnapshotID string
	Progress   snapshot.Progress
}

// Result describes a finished restore of one collection.
type Result struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	SourceID string `json:"source_id"`
	TargetID string `json:"target_id"`
	// Records is the snapshot's record count; Written how many this run
	// wrote, Skipped how many an interrupted run had already written.
	Records int64 `json:"records"`
	Written int64 `json:"written"`
	Skipped int64 `json:"skipped"`
	// Resumed: this run continued an interrupted create. Merged: it
	// upserted into a collection that existed.
	Resumed   bool   `json:"resumed,omitempty"`
	Merged    bool   `json:"merged,omitempty"`
	Space     string `json:"distance"`
	Dimension int    `json:"dimension,omitempty"`
	BatchSize int    `json:"batch_size"`
	// Checked is how many records were compared in full after the copy;
	// Embeddings how theirs compared.
	Checked    int    `json:"checked"`
	Embeddings string `json:"embeddings"`
	// Queried: a query with a stored embedding found its record first.
	// QueryNote says why none did when the snapshot's Chroma missed them
	// too.
	Queried   bool          `json:"queried"`
	QueryNote string        `json:"query_note,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
}

// Copy restores opts.Name from the source into the target. In create mode
// (and upsert mode when the target lacks the collection) the records go
// into a temporary collection, NAME.restoring-<hash of the snapshot id,
// source collection id and target name>, that is renamed to its name once
// everything is checked: until then no client sees a partial collection,
// and a re-run of the same restore finds the temporary one and continues
// where the interrupted run stopped.
func Copy(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	if opts.As == "" {
		opts.As = opts.Name
	}
	src, err := opts.Source.GetCollection(ctx, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("read collection %q from the restored snapshot: %w", opts.Name, err)
	}
	res := &Result{Name: opts.Name, Target: opts.As, SourceID: src.ID, Space: src.Space()}
	if src.Dimension != nil {
		res.Dimension = *src.Dimension
	}
	n, err := opts.Source.Count(ctx, src.ID)
	if err != nil {
		return nil, fmt.Errorf("count collection %q in the restored snapshot: %w", opts.Name, err)
	}
	res.Records = int64(n)
	if res.BatchSize, err = batchSize(ctx, opts, res.Dimension); err != nil {
		return nil, err
	}
	r := &run{opts: opts, src: src, res: res}
	if err := r.run(ctx); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// run is one collection's restore in progress.
type run struct {
	opts     Options
	src      chromaapi.Collection
	res      *Result
	targetID string
}

func (r *run) run(ctx context.Context) error {
	final, err := r.prepareTarget(ctx)
	if err != nil {
		return err
	}
	if err := r.copyRecords(ctx); err != nil {
		next := "run the same command again to continue"
		if errors.Is(err, ErrTargetFailing) {
			next = "if it fails so again, restart the target Chroma (after a client was killed mid-write, Chroma 1.0 fails every write until it restarts); then " + next
		}
		return fmt.Errorf("copy collection %q into %s: %w (%s)", r.opts.Name, r.targetName(), err, next)
	}
	if err := r.verify(ctx); err != nil {
		return fmt.Errorf("collection %q restored as %s: %w", r.opts.Name, r.targetName(), err)
	}
	if final {
		return nil
	}
	return r.rename(ctx)
}

// targetName is the collection being written: the temporary name until the
// rename, or the existing collection merged into.
func (r *run) targetName() string {
	if r.res.Merged {
		return r.opts.As
	}
	return r.tempName()
}

func (r *run) tempName() string {
	h := sha256.Sum256([]byte(r.opts.SnapshotID + "\x00" + r.src.ID + "\x00" + r.opts.As))
	return r.opts.As + tempMarker + hex.EncodeToString(h[:6])
}

// batchSize is the requested size, lowered to what both servers accept and
// to maxBatchFloats embedding values.
func batchSize(ctx context.Context, opts Options, dim int) (int, error) {
	size := opts.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	if dim > 0 {
		size = min(size, max(1, maxBatchFloats/dim))
	}
	most, err := targetBatchSize(ctx, opts.Target)
	if err != nil {
		return 0, err
	}
	size = min(size, most)
	if most, err = opts.Source.MaxBatchSize(ctx); err != nil {
		return 0, fmt.Errorf("ask the Chroma on the restored snapshot for its batch size: %w", err)
	}
	size = min(size, most)
	return size, nil
}

// classifyTarget marks an error of the target's first answer: no answer at
// all, or a refusal of the credentials.
func classifyTarget(err error) error {
	var apiErr *chromaapi.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden):
		return fmt.Errorf("%w: %w", ErrTargetAuth, err)
	case errors.Is(err, context.Canceled), errors.As(err, &apiErr):
		return err
	}
	return fmt.Errorf("%w: %w", ErrTargetUnreachable, err)
}
