package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// Read streams the object's content.
func (b *Bucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := b.object(key)
	if err != nil {
		return nil, err
	}
	r, err := obj.NewReader(ctx)
	if err != nil {
		return nil, b.opError(ctx, "read", key, err)
	}
	return r, nil
}

// Stat describes the object. A missing bucket also reads as ErrNotExist
// here; storage.Check tells the two apart.
func (b *Bucket) Stat(ctx context.Context, key string) (base.ObjectInfo, error) {
	obj, err := b.object(key)
	if err != nil {
		return base.ObjectInfo{}, err
	}
	attrs, err := obj.Attrs(ctx)
	if err != nil {
		return base.ObjectInfo{}, b.opError(ctx, "stat", key, err)
	}
	return base.ObjectInfo{Key: key, Size: attrs.Size, Modified: attrs.Updated}, nil
}

// Write uploads the object, replacing any existing one.
func (b *Bucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "write", key, r, size, false)
}

// CreateIfAbsent uploads the object only if the key is free: the upload
// carries ifGenerationMatch=0, and GCS answers 412 if an object exists.
func (b *Bucket) CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "create", key, r, size, true)
}

func (b *Bucket) put(ctx context.Context, op, key string, r io.Reader, size int64, ifAbsent bool) error {
	obj, err := b.object(key)
	if err != nil {
		return err
	}
	if ifAbsent {
		obj = obj.If(storage.Conditions{DoesNotExist: true})
	}
	// Canceling the writer's context is how an upload is abandoned: GCS
	// then never creates the object. The writer's own goroutine ends the
	// request when it sees the cancellation.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(wctx)
	w.ChunkSize = b.chunkSize
	body, mismatch := base.Exact(r, size)
	if size >= 0 && size < int64(b.chunkSize) {
		// A buffer of just the object's size (the SDK rounds it up to
		// 256 KiB). Never ChunkSize 0: that streams the body, and a reader
		// failing midway could still end in a stored, truncated object.
		// Buffered, nothing is sent before the reader's end.
		w.ChunkSize = int(max(size, 1))
	}
	if _, err := io.Copy(w, body); err != nil {
		// Never Close here: Close ends the request body, and the part sent
		// so far would become the object if it reached the store before
		// the cancellation did.
		cancel()
		return b.putError(ctx, op, key, mismatch, err)
	}
	if err := w.Close(); err != nil {
		if ifAbsent && isPreconditionFailed(err) {
			return fmt.Errorf("%s %s in %s: %w", op, key, b, base.ErrExists)
		}
		return b.putError(ctx, op, key, mismatch, err)
	}
	return nil
}

func (b *Bucket) putError(ctx context.Context, op, key string, mismatch func() error, err error) error {
	if merr := mismatch(); merr != nil {
		return fmt.Errorf("%s %s in %s: %w", op, key, b, merr)
	}
	return b.opError(ctx, op, key, err)
}

// Delete removes the object; a missing one is not an error.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	obj, err := b.object(key)
	if err != nil {
		return err
	}
	if err := obj.Delete(ctx); err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return b.opError(ctx, "delete", key, err)
	}
	return nil
}

// List pages through the bucket's listing, which GCS returns in
// lexicographic (UTF-8 byte) order, the same as Go's string order.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[base.ObjectInfo, error] {
	return func(yield func(base.ObjectInfo, error) bool) {
		if err := base.ValidatePrefix(prefix); err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("%w: %w", err, base.ErrPermanent))
			return
		}
		q := &storage.Query{Prefix: b.prefix + prefix}
		if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
			yield(base.ObjectInfo{}, fmt.Errorf("list %s in %s: %w", prefix, b, err))
			return
		}
		it := b.bucket.Objects(ctx, q)
		it.PageInfo().MaxSize = b.pageSize
		for {
			attrs, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return
			}
			if err != nil {
				yield(base.ObjectInfo{}, b.opError(ctx, "list", prefix, err))
				return
			}
			key, ok := strings.CutPrefix(attrs.Name, b.prefix)
			if !ok || base.ValidateKey(key) != nil {
				continue // not addressable through this interface
			}
			if !yield(base.ObjectInfo{Key: key, Size: attrs.Size, Modified: attrs.Updated}, nil) {
				return
			}
		}
	}
}
