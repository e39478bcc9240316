package snapshot

import (
	"bytes"
	"context"

	"github.com/otelcol-chroma/otelcol-chroma/internal/directio"
)

// blockWorker is what each block held in memory needs: a codec, a
// download buffer and a buffer for direct writes.
type blockWorker struct {
	codec   *blockCodec
	buf     bytes.Buffer
	aligned directio.Buffer
}

// blockPool hands out the block workers: a restore's request takes one
// only once the bucket has answered and gives it back when its block is
// written; a snapshot's worker takes one to hash and code a block.
type blockPool chan *blockWorker

func newBlockPool(keys Keys, blockSize, n int) (blockPool, error) {
	pool := make(blockPool, n)
	for range n {
		codec, err := newBlockCodec(keys, blockSize)
		if err != nil {
			pool.close()
			return nil, err
		}
		pool <- &blockWorker{codec: codec}
	}
	return pool, nil
}

func (p blockPool) get(ctx context.Context) (*blockWorker, error) {
	select {
	case w := <-p:
		return w, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (p blockPool) put(w *blockWorker) { p <- w }

// close releases the codecs of the workers in the pool (all of them, once
// every request has ended).
func (p blockPool) close() {
	for {
		select {
		case w := <-p:
			w.codec.close()
		default:
			return
		}
	}
}
