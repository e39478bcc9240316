package snapshot

import "github.com/otelcol-chroma/otelcol-chroma/internal/storage"

// remoteRequests is how many block requests a snapshot, restore or verify
// keeps waiting on a remote bucket (S3, GCS, Azure). Each request spends
// most of its time on the round trip, so many can wait while only a few
// blocks are held (parallelism.blocks); the backends keep as many
// connections open.
const remoteRequests = 32

// parallelism says how many block requests wait on the bucket at once and
// how many blocks are held in memory (read and coded, or fetched, checked
// and written) at once.
type parallelism struct{ requests, blocks int }

// parallelismFor is the parallelism of a snapshot, restore or verify:
// concurrency (default 2 per CPU, at least 4) blocks in memory, and as many
// requests on a local folder, where a request costs no round trip, or at
// least remoteRequests on a remote bucket.
func (r *Repository) parallelismFor(concurrency int) parallelism {
	blocks := defaultConcurrency(concurrency)
	if _, local := storage.Unwrap(r.raw).(localBucket); local {
		return parallelism{requests: blocks, blocks: blocks}
	}
	return parallelism{requests: max(blocks, remoteRequests), blocks: blocks}
}
