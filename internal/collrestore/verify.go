package collrestore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

// neighbours is how many results the check's query asks for: enough to
// see past records at the same distance as the one queried.
const neighbours = 10

// verify checks the target against the snapshot: the distance function
// and dimension, the record count (a merge: every id of the snapshot is
// there), sampled records compared in full (embeddings bit for bit), and a
// query with a sampled record's embedding, which must find it first.
func (r *run) verify(ctx context.Context) error {
	t := r.opts.Target
	dst, err := t.GetCollection(ctx, r.targetName())
	if err != nil {
		return fmt.Errorf("read back the collection: %w", err)
	}
	if err := compatible(r.src, dst); err != nil {
		return fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	n, err := t.Count(ctx, r.targetID)
	if err != nil {
		return fmt.Errorf("count the restored records: %w", err)
	}
	if !r.res.Merged && int64(n) != r.res.Records {
		return fmt.Errorf("%w: it holds %d records, the snapshot %d", ErrMismatch, n, r.res.Records)
	}
	if r.res.Merged {
		if err := r.checkEveryID(ctx); err != nil {
			return err
		}
	}
	return r.spotCheck(ctx)
}

// checkEveryID requires each id of the snapshot's collection in the target.
func (r *run) checkEveryID(ctx context.Context) error {
	size := r.res.BatchSize
	for offset := 0; int64(offset) < r.res.Records; offset += size {
		page, err := r.opts.Source.GetPage(ctx, r.src.ID, offset, size, false)
		if err != nil {
			return fmt.Errorf("read ids from the restored snapshot: %w", err)
		}
		have, err := r.opts.Target.GetIDs(ctx, r.targetID, page.IDs, false)
		if err != nil {
			return fmt.Errorf("read ids back: %w", err)
		}
		if missing := without(page, have.IDs); missing.Len() > 0 {
			return fmt.Errorf("%w: %d records of the snapshot are missing, among them %q", ErrMismatch, missing.Len(), missing.IDs[0])
		}
	}
	return nil
}

// spotCheck compares up to spotChecks records spread over the collection,
// first and last included, and queries with the middle one's embedding.
func (r *run) spotCheck(ctx context.Context) error {
	r.res.Embeddings = EmbeddingsExact
	if r.embeddingULPs() > 0 {
		r.res.Embeddings = EmbeddingsRenormalized
	}
	offsets := sampleOffsets(r.res.Records, spotChecks)
	var probes []probe
	for _, off := range offsets {
		src, err := r.opts.Source.GetPage(ctx, r.src.ID, int(off), 1, true)
		if err != nil || src.Len() != 1 {
			return fmt.Errorf("read record %d of the restored snapshot: %d records, %v", off, src.Len(), err)
		}
		dst, err := r.opts.Target.GetIDs(ctx, r.targetID, src.IDs, true)
		if err != nil {
			return fmt.Errorf("read record %q back: %w", src.IDs[0], err)
		}
		if dst.Len() != 1 {
			return fmt.Errorf("%w: record %q is missing", ErrMismatch, src.IDs[0])
		}
		if diff := differs(src, dst, r.embeddingULPs()); diff != "" {
			return fmt.Errorf("%w: record %q: %s", ErrMismatch, src.IDs[0], diff)
		}
		r.res.Checked++
		if len(src.Embeddings) == 1 {
			probes = append(probes, probe{src.IDs[0], src.Embeddings[0]})
		}
	}
	return r.queries(ctx, probes)
}

// probe is a sampled record to query with.
type probe struct {
	id        string
	embedding []float32
}

// queries asks the target for the nearest neighbours of sampled records'
// embeddings, the middle one first: one that finds its record first (or
// tied first) passes. With ip, which ranks by inner product rather than
// nearness, the record expected first is the one the snapshot's Chroma
// ranks first. When none finds it, the restore fails if the snapshot's
// Chroma found at least two of them; otherwise the index answers as the
// snapshot's does, and the result says so.
func (r *run) queries(ctx context.Context, probes []probe) error {
	if len(probes) == 0 {
		return nil
	}
	var misses []string
	sourceFinds := 0
	for _, p := range spread(probes, chromaapi.QueryProbes) {
		want, inSource, err := r.expectedFirst(ctx, p)
		if err != nil {
			return err
		}
		got, err := r.opts.Target.Nearest(ctx, r.targetID, p.embedding, neighbours)
		if err != nil {
			return fmt.Errorf("query the restored collection: %w", err)
		}
		if chromaapi.FirstAmong(got, want) {
			r.res.Queried = true
			return nil
		}
		if inSource {
			sourceFinds++
		}
		misses = append(misses, fmt.Sprintf("record %q: got %v", want, got))
	}
	if sourceFinds >= 2 {
		return fmt.Errorf("%w: queries with stored embeddings did not return their records first, which the snapshot's Chroma does: %s",
			ErrMismatch, strings.Join(misses, "; "))
	}
	r.res.QueryNote = fmt.Sprintf("%d queries with stored embeddings missed their records, in the snapshot's Chroma too (HNSW search is approximate)", len(misses))
	return nil
}

// expectedFirst is the record a query with p's embedding should return
// first, and whether the snapshot's Chroma returns it first.
func (r *run) expectedFirst(ctx context.Context, p probe) (string, bool, error) {
	got, err := r.opts.Source.Nearest(ctx, r.src.ID, p.embedding, neighbours)
	if err != nil || len(got) == 0 {
		return "", false, fmt.Errorf("query the restored snapshot: %d results, %v", len(got), err)
	}
	if r.res.Space == chromaapi.SpaceIP {
		return got[0].ID, true, nil
	}
	return p.id, chromaapi.FirstAmong(got, p.id), nil
}

// spread returns up to k of probes (chromaapi.ProbeOffsets).
func spread(probes []probe, k int) []probe {
	var out []probe
	for _, i := range chromaapi.ProbeOffsets(len(probes), k) {
		out = append(out, probes[i])
	}
	return out
}

// sampleOffsets returns up to k offsets spread evenly over n records,
// first and last included.
func sampleOffsets(n int64, k int) []int64 {
	if n <= 0 {
		return nil
	}
	if n <= int64(k) {
		k = int(n)
	}
	out := make([]int64, 0, k)
	for i := range k {
		off := int64(0)
		if k > 1 {
			off = int64(i) * (n - 1) / int64(k-1)
		}
		out = append(out, off)
	}
	return slices.Compact(out)
}

// cosineULPs is how far apart, in float32 steps, a component of an
// embedding in a cosine collection may be after the copy. Chroma keeps
// such embeddings normalized and normalizes what it is given: normalizing
// a normalized vector again multiplies it by a float32 a step or two away
// from 1, which moves each component by at most a couple of steps.
const cosineULPs = 4

// embeddingULPs is how far apart an embedding's components may be after the
// copy: 0 (bit for bit) unless Chroma renormalizes them (cosine).
func (r *run) embeddingULPs() uint32 {
	if r.res.Space == chromaapi.SpaceCosine {
		return cosineULPs
	}
	return 0
}

// differs says how record 0 of b differs from record 0 of a, or "".
func differs(a, b chromaapi.Batch, ulps uint32) string {
	switch {
	case !closeEmbedding(at(a.Embeddings), at(b.Embeddings), ulps):
		return fmt.Sprintf("embedding differs by more than %d float32 steps", ulps)
	case !sameString(at(a.Documents), at(b.Documents)):
		return "document differs"
	case !sameString(at(a.URIs), at(b.URIs)):
		return "uri differs"
	case !sameJSON(at(a.Metadatas), at(b.Metadatas)):
		return fmt.Sprintf("metadata differs: %s, restored %s", at(a.Metadatas), at(b.Metadatas))
	}
	return ""
}

func at[T any](col []T) T {
	var zero T
	if len(col) == 0 {
		return zero
	}
	return col[0]
}

// closeEmbedding compares embeddings component by component, at most ulps
// float32 steps apart; with 0, bit for bit (-0 and 0 differ).
func closeEmbedding(a, b []float32, ulps uint32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return ulpDistance(x, y) <= ulps })
}

// ulpDistance is how many float32 values lie between x and y, plus one; 0
// for the same bits.
func ulpDistance(x, y float32) uint32 {
	ox, oy := ordered(x), ordered(y)
	if ox > oy {
		return uint32(ox - oy)
	}
	return uint32(oy - ox)
}

// ordered maps a float32's bits to an integer that orders like the float
// (-0 just below +0).
func ordered(f float32) int64 {
	b := math.Float32bits(f)
	if b&(1<<31) != 0 {
		return -int64(b&^(1<<31)) - 1
	}
	return int64(b)
}

func sameString(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
