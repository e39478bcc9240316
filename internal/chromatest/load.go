package chromatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// LoadOptions configures a LoadWriter. Zero fields take the defaults shown.
type LoadOptions struct {
	// Collections is the number of collections written to (3). They are
	// named <NamePrefix>-0, <NamePrefix>-1, ...
	Collections int
	// NamePrefix prefixes collection names and record ids ("load").
	NamePrefix string
	// Dimension of the embeddings (16).
	Dimension int
	// BatchSize is the number of records per add or upsert (25); deletes
	// remove up to half as many.
	BatchSize int
	// MaxOps bounds the number of requests one Run sends (10000).
	MaxOps int
	// Seed seeds the PRNG (1). The same seed gives the same sequence of
	// requests.
	Seed uint64
	// RequestTimeout bounds each request (1 minute).
	RequestTimeout time.Duration
}

func (o *LoadOptions) defaults() {
	if o.Collections <= 0 {
		o.Collections = 3
	}
	if o.NamePrefix == "" {
		o.NamePrefix = "load"
	}
	if o.Dimension <= 0 {
		o.Dimension = 16
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 25
	}
	if o.MaxOps <= 0 {
		o.MaxOps = 10000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = time.Minute
	}
}

// LoadStats counts what a LoadWriter did. Requests are counted once the
// server acknowledged them.
type LoadStats struct {
	Ops     int64 // acknowledged requests (adds + upserts + deletes)
	Adds    int64 // add requests
	Upserts int64 // upsert requests
	Deletes int64 // delete requests

	Added    int64 // records created by adds
	Upserted int64 // records sent in upserts (created or replaced)
	Deleted  int64 // records removed by deletes
}

// LoadWriter adds, upserts and deletes records in several collections with a
// deterministic PRNG, and keeps a model of which records exist. The model is
// exact after Run returns nil: an interrupted Run lets its last request
// finish before it returns. After Run returns an error, the last request's
// effect is unknown.
//
// The writer assumes its collections hold only what it wrote: Run fails if a
// collection it has not written to yet is not empty.
type LoadWriter struct {
	client *Client
	opts   LoadOptions
	rng    *rand.Rand

	mu    sync.Mutex
	stats LoadStats
	colls []*loadCollection
}

type loadCollection struct {
	name string
	id   string
	next int            // next record number
	live []string       // ids that exist
	pos  map[string]int // id -> index in live
}

// NewLoadWriter returns a writer that uses c.
func NewLoadWriter(c *Client, opts LoadOptions) *LoadWriter {
	opts.defaults()
	return &LoadWriter{
		client: c,
		opts:   opts,
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
	}
}

// Run writes until ctx is cancelled or MaxOps requests were sent. It returns
// nil in both cases, and the first error otherwise. Run may be called again
// to continue; calls must not overlap.
func (w *LoadWriter) Run(ctx context.Context) error {
	reqCtx := context.WithoutCancel(ctx)
	if err := w.setup(ctx, reqCtx); err != nil {
		return err
	}
	for range w.opts.MaxOps {
		if ctx.Err() != nil {
			return nil
		}
		if err := w.step(reqCtx); err != nil {
			return err
		}
	}
	return nil
}

func (w *LoadWriter) setup(ctx, reqCtx context.Context) error {
	if w.colls != nil {
		return nil
	}
	var colls []*loadCollection
	for i := range w.opts.Collections {
		if ctx.Err() != nil {
			return nil
		}
		name := fmt.Sprintf("%s-%d", w.opts.NamePrefix, i)
		rctx, cancel := context.WithTimeout(reqCtx, w.opts.RequestTimeout)
		id, err := w.client.GetOrCreateCollection(rctx, name)
		if err != nil {
			cancel()
			return fmt.Errorf("load writer: collection %s: %w", name, err)
		}
		n, err := w.client.Count(rctx, id)
		cancel()
		if err != nil {
			return fmt.Errorf("load writer: count %s: %w", name, err)
		}
		if n != 0 {
			return fmt.Errorf("load writer: collection %s already holds %d records", name, n)
		}
		colls = append(colls, &loadCollection{name: name, id: id, pos: map[string]int{}})
	}
	w.mu.Lock()
	w.colls = colls
	w.mu.Unlock()
	return nil
}

// step sends one request chosen by the PRNG and updates the model once the
// server acknowledged it.
func (w *LoadWriter) step(reqCtx context.Context) error {
	ctx, cancel := context.WithTimeout(reqCtx, w.opts.RequestTimeout)
	defer cancel()

	w.mu.Lock()
	c := w.colls[w.rng.IntN(len(w.colls))]
	roll := w.rng.IntN(100)
	if roll >= 80 && len(c.live) == 0 {
		roll = 0
	}
	switch {
	case roll < 55: // add new records
		ids := w.newIDs(c, w.opts.BatchSize)
		embs, metas, docs := w.records(ids)
		w.mu.Unlock()
		if err := w.client.Add(ctx, c.id, ids, embs, metas, docs); err != nil {
			return fmt.Errorf("load writer: add to %s: %w", c.name, err)
		}
		w.mu.Lock()
		for _, id := range ids {
			c.insert(id)
		}
		w.stats.Adds++
		w.stats.Added += int64(len(ids))
	case roll < 80: // upsert: about half existing records, the rest new
		var ids []string
		seen := map[string]bool{}
		for range w.opts.BatchSize / 2 {
			if len(c.live) == 0 {
				break
			}
			id := c.live[w.rng.IntN(len(c.live))]
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		ids = append(ids, w.newIDs(c, w.opts.BatchSize-len(ids))...)
		embs, metas, docs := w.records(ids)
		w.mu.Unlock()
		if err := w.client.Upsert(ctx, c.id, ids, embs, metas, docs); err != nil {
			return fmt.Errorf("load writer: upsert to %s: %w", c.name, err)
		}
		w.mu.Lock()
		for _, id := range ids {
			c.insert(id)
		}
		w.stats.Upserts++
		w.stats.Upserted += int64(len(ids))
	default: // delete existing records
		k := 1 + w.rng.IntN(max(1, w.opts.BatchSize/2))
		k = min(k, len(c.live))
		ids := make([]string, 0, k)
		seen := map[string]bool{}
		for len(ids) < k {
			id := c.live[w.rng.IntN(len(c.live))]
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		w.mu.Unlock()
		if err := w.client.Delete(ctx, c.id, ids); err != nil {
			return fmt.Errorf("load writer: delete from %s: %w", c.name, err)
		}
		w.mu.Lock()
		for _, id := range ids {
			c.remove(id)
		}
		w.stats.Deletes++
		w.stats.Deleted += int64(len(ids))
	}
	w.stats.Ops++
	w.mu.Unlock()
	return nil
}

// newIDs reserves n new record ids in c. Callers hold w.mu.
func (w *LoadWriter) newIDs(c *loadCollection, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%08d", c.name, c.next)
		c.next++
	}
	return ids
}

// records makes embeddings, metadata and documents for ids. Callers hold
// w.mu (the PRNG is not safe for concurrent use).
func (w *LoadWriter) records(ids []string) ([][]float32, []map[string]any, []string) {
	embs := make([][]float32, len(ids))
	metas := make([]map[string]any, len(ids))
	docs := make([]string, len(ids))
	for i, id := range ids {
		embs[i] = RandomEmbedding(w.rng, w.opts.Dimension)
		metas[i] = map[string]any{
			"group": fmt.Sprintf("g%d", w.rng.IntN(8)),
			"rank":  w.rng.IntN(1000),
			"score": float64(w.rng.IntN(10000)) / 100,
			"live":  w.rng.IntN(2) == 0,
		}
		docs[i] = "record " + id
	}
	return embs, metas, docs
}

// RandomEmbedding returns a vector of dim components in [-1, 1) drawn from r.
func RandomEmbedding(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

func (c *loadCollection) insert(id string) {
	if _, ok := c.pos[id]; ok {
		return
	}
	c.pos[id] = len(c.live)
	c.live = append(c.live, id)
}

func (c *loadCollection) remove(id string) {
	i, ok := c.pos[id]
	if !ok {
		return
	}
	last := len(c.live) - 1
	c.live[i] = c.live[last]
	c.pos[c.live[i]] = i
	c.live = c.live[:last]
	delete(c.pos, id)
}

// Stats returns what the writer has done so far. Safe to call while Run
// runs.
func (w *LoadWriter) Stats() LoadStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Collections returns the names of the writer's collections, sorted.
func (w *LoadWriter) Collections() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, len(w.colls))
	for i, c := range w.colls {
		names[i] = c.name
	}
	sort.Strings(names)
	return names
}

// Expected returns, per collection name, the number of records that exist
// according to the writer's model.
func (w *LoadWriter) Expected() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]int, len(w.colls))
	for _, c := range w.colls {
		m[c.name] = len(c.live)
	}
	return m
}

// LiveIDs returns the sorted ids that exist in the named collection according
// to the writer's model.
func (w *LoadWriter) LiveIDs(collection string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.colls {
		if c.name == collection {
			ids := append([]string(nil), c.live...)
			sort.Strings(ids)
			return ids
		}
	}
	return nil
}
