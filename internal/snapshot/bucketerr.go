package snapshot

import (
	"context"
	"errors"
	"io"
	"iter"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// bucketError marks a failure of the bucket itself so that it matches
// ErrBucket, leaving its message and chain unchanged.
type bucketError struct{ err error }

func (e *bucketError) Error() string        { return e.err.Error() }
func (e *bucketError) Unwrap() error        { return e.err }
func (e *bucketError) Is(target error) bool { return target == ErrBucket }

// markBucketErr marks err unless it is an answer rather than a failure
// (the object does not exist, or exists already).
func markBucketErr(err error) error {
	if err == nil || errors.Is(err, storage.ErrNotExist) || errors.Is(err, storage.ErrExists) {
		return err
	}
	return &bucketError{err}
}

// classifiedBucket is the repository's view of its bucket: every failure
// it returns matches ErrBucket.
type classifiedBucket struct{ storage.Bucket }

func (b classifiedBucket) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		for info, err := range b.Bucket.List(ctx, prefix) {
			if !yield(info, markBucketErr(err)) {
				return
			}
		}
	}
}

func (b classifiedBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := b.Bucket.Read(ctx, key)
	if err != nil {
		return nil, markBucketErr(err)
	}
	return classifiedReader{rc}, nil
}

func (b classifiedBucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	return markBucketErr(b.Bucket.Write(ctx, key, r, size))
}

func (b classifiedBucket) CreateIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return markBucketErr(b.Bucket.CreateIfAbsent(ctx, key, r, size))
}

func (b classifiedBucket) Delete(ctx context.Context, key string) error {
	return markBucketErr(b.Bucket.Delete(ctx, key))
}

func (b classifiedBucket) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := b.Bucket.Stat(ctx, key)
	return info, markBucketErr(err)
}

type classifiedReader struct{ io.ReadCloser }

func (r classifiedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF {
		return n, err
	}
	return n, markBucketErr(err)
}
