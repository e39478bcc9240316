package collrestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

// prepareTarget finds or creates the collection to write into. final is
// true when that is the collection under its own name (a merge), false
// for a temporary collection to be renamed at the end.
func (r *run) prepareTarget(ctx context.Context) (final bool, err error) {
	t := r.opts.Target
	if err := checkDatabase(ctx, t); err != nil {
		return false, err
	}
	existing, found, err := lookup(ctx, t, r.opts.As)
	if err != nil {
		return false, err
	}
	if found {
		if r.opts.Mode != ModeUpsert {
			return false, existsError(t, r.opts.As)
		}
		if err := compatible(r.src, existing); err != nil {
			return false, err
		}
		r.targetID, r.res.TargetID, r.res.Merged = existing.ID, existing.ID, true
		return true, nil
	}
	return false, r.openTemp(ctx)
}

func checkDatabase(ctx context.Context, t *chromaapi.Client) error {
	err := t.CheckDatabase(ctx)
	if chromaapi.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%w: %s/%s (create it first, or pass --tenant and --database): %w", ErrNoDatabase, t.Tenant, t.Database, err)
	}
	if err != nil {
		return classifyTarget(fmt.Errorf("check database %s/%s in the target: %w", t.Tenant, t.Database, err))
	}
	return nil
}

func existsError(t *chromaapi.Client, name string) error {
	return fmt.Errorf("%w: %q in %s/%s; nothing was written. Restore beside it with --as NEWNAME, or merge the snapshot's records into it with --mode upsert",
		ErrExists, name, t.Tenant, t.Database)
}

// openTemp continues into the temporary collection of an interrupted run
// of the same restore, or creates it with the snapshot's metadata and
// configuration.
func (r *run) openTemp(ctx context.Context) error {
	t, name := r.opts.Target, r.tempName()
	temp, found, err := lookup(ctx, t, name)
	if err != nil {
		return err
	}
	if found {
		r.targetID, r.res.TargetID, r.res.Resumed = temp.ID, temp.ID, true
		return nil
	}
	created, err := t.CreateCollectionFrom(ctx, chromaapi.CollectionSpec{Name: name, Metadata: r.src.Metadata, Configuration: r.src.ConfigurationJSON})
	if err != nil {
		return fmt.Errorf("create collection %s in the target: %w", name, err)
	}
	r.targetID, r.res.TargetID = created.ID, created.ID
	return nil
}

// rename gives the checked temporary collection its name.
func (r *run) rename(ctx context.Context) error {
	t := r.opts.Target
	if _, found, err := lookup(ctx, t, r.opts.As); err != nil || found {
		if err == nil {
			err = fmt.Errorf("%w: %q was created in the target during the restore", ErrExists, r.opts.As)
		}
		return fmt.Errorf("the restored and checked collection stays as %s: %w; rename it through Chroma's API when %q is free", r.tempName(), err, r.opts.As)
	}
	if err := t.RenameCollection(ctx, r.targetID, r.opts.As); err != nil {
		return fmt.Errorf("rename the restored and checked collection %s to %q: %w (run the same command again)", r.tempName(), r.opts.As, err)
	}
	return nil
}

// lookup returns the named collection of the target, if it has one.
func lookup(ctx context.Context, t *chromaapi.Client, name string) (chromaapi.Collection, bool, error) {
	coll, err := t.GetCollection(ctx, name)
	switch {
	case err == nil:
		return coll, true, nil
	case chromaapi.IsStatus(err, http.StatusNotFound):
		return coll, false, nil
	}
	return coll, false, classifyTarget(fmt.Errorf("look up collection %q in the target: %w", name, err))
}

// compatible refuses a merge into a collection with another dimension or
// distance function: its index could not hold the snapshot's records, or
// would rank them differently.
func compatible(src, dst chromaapi.Collection) error {
	if src.Dimension != nil && dst.Dimension != nil && *src.Dimension != *dst.Dimension {
		return fmt.Errorf("%w: %q holds embeddings of dimension %d, the snapshot's %d; nothing was written. Restore it beside with --as NEWNAME",
			ErrIncompatible, dst.Name, *dst.Dimension, *src.Dimension)
	}
	if a, b := src.Space(), dst.Space(); a != b {
		return fmt.Errorf("%w: %q uses the distance function %s, the snapshot's %s; nothing was written. Restore it beside with --as NEWNAME",
			ErrIncompatible, dst.Name, b, a)
	}
	return nil
}

// sameJSON reports whether two JSON values are equal, numbers compared by
// their text (so 5 and 5.0 differ, as they do for Chroma).
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, erra := decodeNumbers(a)
	vb, errb := decodeNumbers(b)
	return erra == nil && errb == nil && reflect.DeepEqual(va, vb)
}

func decodeNumbers(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errors.Join(errors.New("decode JSON"), err)
	}
	return v, nil
}

// targetBatchSize asks the target Chroma for its largest batch, the first
// request a restore sends it.
func targetBatchSize(ctx context.Context, t *chromaapi.Client) (int, error) {
	most, err := t.MaxBatchSize(ctx)
	switch {
	case chromaapi.IsStatus(err, http.StatusNotFound):
		// Something answers there, but not Chroma's API: a base URL with a
		// path (".../api/v2"), or another service.
		return 0, fmt.Errorf("%w: %s answers, but has no Chroma API under it: %w", ErrTargetUnreachable, t.BaseURL, err)
	case err != nil:
		return 0, classifyTarget(fmt.Errorf("ask the target Chroma at %s for its limits: %w", t.BaseURL, err))
	}
	return most, nil
}

// CheckTarget asks the target, before anything is restored, what Copy
// would find out later: that it answers and takes the credentials, that
// the tenant and database exist, and, in create mode, that none of the
// names is taken (a temporary collection of an interrupted run is not:
// the run continues into it).
func CheckTarget(ctx context.Context, t *chromaapi.Client, names []string, mode Mode) error {
	if _, err := targetBatchSize(ctx, t); err != nil {
		return err
	}
	if err := checkDatabase(ctx, t); err != nil {
		return err
	}
	if mode == ModeUpsert {
		return nil
	}
	for _, name := range names {
		if _, found, err := lookup(ctx, t, name); err != nil || found {
			if err == nil {
				err = existsError(t, name)
			}
			return err
		}
	}
	return nil
}
