package snapshot

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
)

// remoteBucket is a folder bucket that does not say it is local, as S3,
// GCS and Azure do not.
type remoteBucket struct{ storage.Bucket }

// On a folder a request costs no round trip: as many requests as blocks.
// On a remote bucket many requests wait while few blocks are held, and
// --concurrency above remoteRequests raises both.
func TestParallelismFor(t *testing.T) {
	b := newBucket(t)
	local := mustOpen(t, b, Keys{})
	remote := mustOpen(t, remoteBucket{b}, Keys{})
	blocks := defaultConcurrency(0)
	for _, c := range []struct {
		repo        *Repository
		concurrency int
		want        parallelism
	}{
		{local, 0, parallelism{requests: blocks, blocks: blocks}},
		{local, 6, parallelism{requests: 6, blocks: 6}},
		{remote, 0, parallelism{requests: remoteRequests, blocks: blocks}},
		{remote, 48, parallelism{requests: 48, blocks: 48}},
	} {
		if got := c.repo.parallelismFor(c.concurrency); got != c.want {
			t.Errorf("%s, concurrency %d: %+v, want %+v", c.repo.bucket, c.concurrency, got, c.want)
		}
	}
}

// forEachBlock keeps par.requests calls waiting at once (each takes a
// worker only after its request, as fetchBlock does) while no more than
// par.blocks workers are out of the pool.
func TestForEachBlockHoldsFewBlocksWhileRequestsWait(t *testing.T) {
	par := parallelism{requests: 8, blocks: 2}
	order := make([]Hash, 40)
	for i := range order {
		order[i][0] = byte(i)
	}
	var waiting, held, maxHeld atomic.Int32
	all := make(chan struct{})
	var once sync.Once
	deadline := time.After(time.Minute) // a guard against a hang, not a bound
	ctx := testContext(t)
	mustOpen(t, newBucket(t), Keys{}).forEachBlock(ctx, 1<<20, order, par, func(pool blockPool, h Hash) {
		if waiting.Add(1) == int32(par.requests) {
			once.Do(func() { close(all) })
		}
		select { // the request's round trip: until every request waits
		case <-all:
		case <-deadline:
		}
		w, err := pool.get(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		n := held.Add(1)
		for m := maxHeld.Load(); n > m && !maxHeld.CompareAndSwap(m, n); m = maxHeld.Load() {
		}
		held.Add(-1)
		pool.put(w)
	}, func(err error) { t.Error(err) })
	select {
	case <-all:
	default:
		t.Errorf("never %d requests waiting at once", par.requests)
	}
	if got := maxHeld.Load(); got > int32(par.blocks) {
		t.Errorf("%d workers out of the pool at once, want at most %d", got, par.blocks)
	}
}

// holdingBucket holds writes of block objects until n of them wait at
// once, then lets every write through.
type holdingBucket struct {
	storage.Bucket
	n       int32
	waiting atomic.Int32
	all     chan struct{}
	once    sync.Once
	guard   context.Context // done: a guard against a hang, not a bound
}

func (h *holdingBucket) Write(ctx context.Context, key string, r io.Reader, size int64) error {
	if strings.HasPrefix(key, blocksPrefix) {
		if h.waiting.Add(1) == h.n {
			h.once.Do(func() { close(h.all) })
		}
		select {
		case <-h.all:
		case <-h.guard.Done():
		}
		h.waiting.Add(-1)
	}
	return h.Bucket.Write(ctx, key, r, size)
}

// A snapshot into a remote bucket keeps more stores waiting than it has
// codecs (each object is copied out of its codec first), and what it
// stores restores byte for byte.
func TestSnapshotStoresWaitBeyondCodecs(t *testing.T) {
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	guard, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	held := &holdingBucket{Bucket: newBucket(t), n: 8, all: make(chan struct{}), guard: guard}
	repo := mustOpen(t, remoteBucket{held}, Keys{})
	m, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir(), Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.all:
	default:
		t.Errorf("never %d block stores waiting at once with 2 codecs (the snapshot stored %d blocks)", held.n, m.Stats.BlocksNew)
	}
	requireSameTree(t, src, restoreTo(t, repo, m.ID))
}
