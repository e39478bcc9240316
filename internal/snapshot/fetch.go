package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// forEachBlock runs fn for each hash in order on up to par.requests
// goroutines sharing par.blocks workers, and stops feeding work once ctx is
// done. A codec that cannot be made is reported through fail.
func (r *Repository) forEachBlock(ctx context.Context, blockSize int, order []Hash, par parallelism, fn func(blockPool, Hash), fail func(error)) {
	n := max(len(order), 1)
	pool, err := newBlockPool(r.keys, blockSize, min(par.blocks, n))
	if err != nil {
		fail(err)
		return
	}
	defer pool.close()
	jobs := make(chan Hash)
	var wg sync.WaitGroup
	for range min(par.requests, n) {
		wg.Go(func() {
			for h := range jobs {
				fn(pool, h)
			}
		})
	}
feed:
	for _, h := range order {
		select {
		case jobs <- h:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
}

// fetchBlock reads the block object key into a worker's buffer: the
// request goes out first, and the worker is taken from the pool only once
// the bucket answers, so requests waiting on a remote bucket hold no block.
// The caller gives the worker back (pool.put).
func (r *Repository) fetchBlock(ctx context.Context, pool blockPool, key string, blockSize int) (*blockWorker, error) {
	rc, err := r.bucket.Read(ctx, key)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist in %s", ErrMissing, key, r.bucket)
		}
		return nil, fmt.Errorf("read %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	defer rc.Close()
	w, err := pool.get(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.readObject(rc, key, blockSize, &w.buf); err != nil {
		pool.put(w)
		return nil, err
	}
	return w, nil
}

// readObject reads an opened block object into buf, refusing anything
// larger than a block of blockSize can encode to.
func (r *Repository) readObject(rc io.Reader, key string, blockSize int, buf *bytes.Buffer) error {
	limit := maxObjectSize(blockSize)
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(rc, limit+1))
	if err != nil {
		return fmt.Errorf("read %s in %s: %w%s", key, r.bucket, err, storageHint(err))
	}
	if n > limit {
		return fmt.Errorf("%w: %s is larger than any block of this snapshot can be", ErrCorrupt, key)
	}
	return nil
}
